"""One local stack for a whole test session: moto, the real Terraform, the runtime, a fault proxy.

:func:`start_pipeline` brings it up in a directory of its own (``MEDIA_STACK_DIR``), never the
developer's ``.local/`` stack, with ``tools.soak.start_local_pipeline``: the moto server of
``tools.runtime.moto_server``, every root applied by the same driver as ``make up`` (which builds
the Lambda zips), then the runtime running the deployed functions from those zips. The
functions' workers reach moto through a :class:`~tools.runtime.faults.FaultProxy` (one port per
function); with no rule it forwards everything unchanged, so only the tests that add rules see
faults. Failed messages come back after a couple of seconds instead of the queue's visibility
timeout (minutes), so retries and redrives to the DLQ happen within a test's time.

``tests/conftest.py`` makes it the session fixture ``pipeline`` that the end-to-end and the
reliability tests share; :meth:`Pipeline.stop` brings it down.

To iterate on those tests without applying everything each run, bring a stack up once
(``MEDIA_STACK_DIR=/tmp/s python -m tools.stack up``, with no runtime on it) and run pytest with
``MEDIA_TEST_STACK=/tmp/s``: the session then runs its runtime on that stack and leaves it up.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.runtime.poller import BatchOutcome
from tools.soak import LocalPipeline, StackError, start_local_pipeline

__all__ = ["Pipeline", "StackError", "start_pipeline", "terraform_available", "wait_until"]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Pipeline(LocalPipeline):
    """The session's pipeline, with what tests read back from it."""

    def logs(self, service: str) -> str:
        """The function's log (its local CloudWatch log group)."""
        path = self.directory / "logs" / f"media-local-{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def outcomes_since(self, index: int, service: str | None = None) -> list[BatchOutcome]:
        """The invocations since ``len(outcomes)`` was ``index`` (of one service)."""
        return [o for o in self.outcomes[index:] if service is None or o.service == service]


def terraform_available() -> bool:
    return shutil.which("terraform") is not None


def start_pipeline(directory: Path) -> Pipeline:
    """A fresh stack in ``directory``, or the one ``MEDIA_TEST_STACK`` names, with its runtime."""
    existing = os.environ.get("MEDIA_TEST_STACK")
    if existing:
        directory = Path(existing).resolve()
    started = start_local_pipeline(directory, existing=bool(existing))
    return Pipeline(**{name: getattr(started, name) for name in started.__dataclass_fields__})
