"""Fixtures of the thumbnailer's tests: fake credentials, an in-process moto, the handler under it.

``stack`` is the AWS side the handler expects (originals and derived buckets, the bus, a DLQ) plus
a catch-all rule from the bus to a capture queue, which is how a test sees what was published
(``tests.support.aws``). Every event a test reads back is also written to
``test-artifacts/published/thumbnailer/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from tests.support.aws import (
    DERIVED,
    ORIGINALS,
    UPLOADS,
    FakeLambdaContext,
    MediaAccount,
    handler_loader,
    lambda_env,
    media_account,
)

SERVICE = "thumbnailer"


class Stack(MediaAccount):
    """The thumbnailer's account: what every service's has, and the renditions it wrote."""

    def derived_keys(self) -> list[str]:
        return self.keys(self.derived)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    buckets = (UPLOADS, ORIGINALS, DERIVED)
    with media_account(SERVICE, monkeypatch, buckets=buckets, kind=Stack) as account:
        yield account


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> Callable[..., ModuleType]:
    """Import (or re-import) thumbnailer.handler as a cold start would, with extra env vars."""
    env = lambda_env(stack, ORIGINALS_BUCKET=ORIGINALS, DERIVED_BUCKET=DERIVED)
    unset = ("THUMBNAIL_SIZES", "THUMBNAIL_FORMAT", "THUMBNAIL_QUALITY", "MAX_IMAGE_PIXELS")
    return handler_loader(monkeypatch, "thumbnailer.handler", env, unset=unset)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext.of(SERVICE, memory_limit_in_mb=1769)
