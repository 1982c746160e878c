"""The browser tests' fixtures: the session's local stack served by the local gateway, and a
headless Chromium driven by Playwright.

The stack is the session's ``pipeline`` (``tests/conftest.py``), shared with the end-to-end tests;
on it, an :class:`~tools.runtime.apigateway.HttpGateway` serves the page, the deployed upload and
read APIs and the local issuer on a free loopback port. The browser is Debian's ``chromium``
(``/usr/bin/chromium``; Playwright never downloads one here), headless, one fresh context per test.
Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.stack import Pipeline
from tools.runtime.apigateway import HttpGateway, LocalIssuer

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MEDIA_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def gateway(pipeline: Pipeline) -> Iterator[HttpGateway]:
    issuer = LocalIssuer(key_file=pipeline.directory / "http" / "issuer-key.pem")
    with HttpGateway(pipeline.runtime, port=0, issuer=issuer) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(`apt-get install chromium`; .ci/run installs it)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, gateway: HttpGateway) -> Iterator[Page]:
    """The page, loaded and signed in (its file input enabled), in a fresh browser context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        opened = context.new_page()
        opened.goto(gateway.url + "/")
        opened.wait_for_selector("body[data-ready=true]", timeout=30_000)
        yield opened
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
