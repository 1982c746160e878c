"""One local stack for a whole test session: moto, the real Terraform, the runtime, a fault proxy.

:func:`start_session_pipeline` brings it up with :func:`tools.localstack.start_pipeline` in a
folder of its own (``MEDIA_STACK_DIR``), never the developer's ``.local/`` stack: every root
applied by the same driver as ``make up`` (which builds the Lambda zips), then the runtime
running the deployed functions from those zips, their AWS calls through a fault proxy.

``tests/conftest.py`` makes it the session fixture ``pipeline`` that the end-to-end, the
reliability, the browser and the infrastructure tests share; :meth:`Pipeline.stop` brings it down.

To iterate on those tests without applying everything each run, bring a stack up once
(``MEDIA_STACK_DIR=/tmp/s python -m tools.localstack up``, with no runtime on it) and run pytest
with ``MEDIA_TEST_STACK=/tmp/s``: the session then runs its runtime on that stack and leaves it up.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from tools.localstack import LocalPipeline, StackError, start_pipeline
from tools.localstack.terraform import all_roots

__all__ = ["Pipeline", "StackError", "start_session_pipeline", "terraform_available", "wait_until"]

#: The session's pipeline (a local stack with its runtime): what tests read back from it.
Pipeline = LocalPipeline


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


def terraform_available() -> bool:
    return shutil.which("terraform") is not None


def start_session_pipeline(directory: Path) -> Pipeline:
    """A fresh stack in ``directory``, or the one ``MEDIA_TEST_STACK`` names, with its runtime."""
    existing = os.environ.get("MEDIA_TEST_STACK")
    if not existing:
        return start_pipeline(directory)
    pipeline = start_pipeline(Path(existing), existing=True)
    # What `up` would have printed of it: every root (the infrastructure tests read this).
    pipeline.up_output = " ".join(root.id for root in all_roots() if root.exists())
    return pipeline
