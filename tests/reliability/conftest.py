"""The reliability tests share the session's local stack (``pipeline``, tests/conftest.py).

Each test starts from idle queues and leaves no fault rule behind: ``faults`` clears the proxy's
rules after the test, whatever happened.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Pipeline
from tools.runtime.faults import FaultProxy


@pytest.fixture
def stack(pipeline: Pipeline) -> Iterator[Pipeline]:
    """The pipeline, idle at the start of the test, with no fault rule after it."""
    pipeline.faults.clear()
    pipeline.wait_idle(timeout=180)
    try:
        yield pipeline
    finally:
        pipeline.faults.clear()


@pytest.fixture
def faults(stack: Pipeline) -> FaultProxy:
    return stack.faults
