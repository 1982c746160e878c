"""Fixtures shared by the test folders: the one local stack of the session.

``pipeline`` (session scope) is the stack of ``tests.support.stack``: moto, the real Terraform,
the runtime and its fault proxy, brought up once, on first use, for the end-to-end, reliability,
browser and infrastructure tests together, and brought down at the end of the session. Tests that
change it (fault rules, disabled rules, a deploy) undo what they changed; nothing else is reset
between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.deployment import deployed_environment
from tests.support.stack import (
    Pipeline,
    StackError,
    start_session_pipeline,
    terraform_available,
    wait_until,
)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    if deployed_environment() is not None:  # make test-deployed: no local stack of our own
        pytest.skip(
            "needs the session's local stack (its runtime, logs or queues): not run against "
            "a deployed environment"
        )
    if not terraform_available():
        pytest.skip("the terraform CLI is not on PATH")
    try:
        running = start_session_pipeline(tmp_path_factory.mktemp("stack"))
    except StackError as error:
        pytest.fail(str(error))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def wait() -> Callable[[Callable[[], bool], float, str], None]:
    return wait_until
