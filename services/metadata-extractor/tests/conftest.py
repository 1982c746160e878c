"""Fixtures of the metadata-extractor's tests: fake credentials, in-process moto, the handler.

``stack`` is the AWS side the handler expects (the originals bucket, the bus, a DLQ) plus
a catch-all rule from the bus to a capture queue, which is how a test sees what was published
(``tests.support.aws``). Every event a test reads back is also written to
``test-artifacts/published/metadata-extractor/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from tests.support.aws import (
    ORIGINALS,
    UPLOADS,
    FakeLambdaContext,
    MediaAccount,
    handler_loader,
    lambda_env,
    media_account,
)

SERVICE = "metadata-extractor"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaAccount]:
    with media_account(SERVICE, monkeypatch, buckets=(UPLOADS, ORIGINALS)) as account:
        yield account


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch, stack: MediaAccount) -> Callable[..., ModuleType]:
    """Import (or re-import) the handler module as a cold start would, with extra env vars."""
    env = lambda_env(stack, ORIGINALS_BUCKET=ORIGINALS)
    return handler_loader(monkeypatch, "metadata_extractor.handler", env, unset=("INCLUDE_GPS",))


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext.of(SERVICE, memory_limit_in_mb=1769)
