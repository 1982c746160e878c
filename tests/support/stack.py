"""One local stack for a whole test session: moto, the real Terraform, the runtime, a fault proxy.

:func:`start_pipeline` brings it up in a directory of its own (``MEDIA_STACK_DIR``), never the
developer's ``.local/`` stack: the moto server of ``tools.runtime.moto_server``, every root
applied by the same driver as ``make up`` (which builds the Lambda zips), then the runtime running
the deployed functions from those zips. The functions' workers reach moto through a
:class:`~tools.runtime.faults.FaultProxy` (one port per function); with no rule it forwards
everything unchanged, so only the tests that add rules see faults. Failed messages come back
after ``RETRY_VISIBILITY`` seconds instead of the queue's visibility timeout (minutes), so
retries and redrives to the DLQ happen within a test's time.

``tests/conftest.py`` makes it the session fixture ``pipeline`` that the end-to-end and the
reliability tests share; :meth:`Pipeline.stop` brings it down.

To iterate on those tests without applying everything each run, bring a stack up once
(``MEDIA_STACK_DIR=/tmp/s python -m tools.stack up``, with no runtime on it) and run pytest with
``MEDIA_TEST_STACK=/tmp/s``: the session then runs its runtime on that stack and leaves it up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from tools.cli.services import ServiceQueues, service_queues
from tools.cli.target import Target, resolve_target
from tools.runtime import LocalRuntime, RuntimeOptions, moto_server
from tools.runtime.faults import FaultProxy
from tools.runtime.poller import BatchOutcome

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"ingest", "thumbnailer", "metadata-extractor", "indexer"}
UP_TIMEOUT = 900
RETRY_VISIBILITY = 2


class StackError(RuntimeError):
    """The stack could not be brought up; the message has the driver's output."""


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until true; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Pipeline:
    directory: Path
    endpoint: str
    target: Target
    runtime: LocalRuntime
    faults: FaultProxy
    env: dict[str, str]
    outcomes: list[BatchOutcome] = field(default_factory=list)
    owned: bool = True  # brought up for this session (and so brought down after it)

    def logs(self, service: str) -> str:
        path = self.directory / "logs" / f"media-local-{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @cached_property
    def queues(self) -> dict[str, ServiceQueues]:
        return service_queues(self.target)

    def backlog(self) -> dict[str, int]:
        """Messages waiting or in flight in each service's queue."""
        counts = {}
        for name, queues in self.queues.items():
            attributes = self.target.sqs.get_queue_attributes(
                QueueUrl=queues.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
            counts[name] = sum(int(value) for value in attributes.values())
        return counts

    def wait_idle(self, timeout: float = 120, settle: float = 1.0) -> None:
        """Until every service queue is empty, twice ``settle`` s apart (nothing in flight)."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            busy = {name: n for name, n in self.backlog().items() if n}
            now = time.monotonic()
            if busy:
                quiet_since = None
                if now > deadline:
                    raise AssertionError(f"queues still busy after {timeout:.0f}s: {busy}")
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle:
                return
            time.sleep(0.2)

    def outcomes_since(self, index: int, service: str | None = None) -> list[BatchOutcome]:
        return [o for o in self.outcomes[index:] if service is None or o.service == service]

    def stop(self) -> None:
        try:
            self.runtime.stop()
        finally:
            self.faults.close()
            if self.owned:
                driver("down", self.env, 120)


def driver(command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.stack", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def terraform_available() -> bool:
    return shutil.which("terraform") is not None


def start_pipeline(directory: Path) -> Pipeline:
    """Bring a stack up in ``directory`` and start the runtime on it (StackError if it fails)."""
    existing = os.environ.get("MEDIA_TEST_STACK")
    if existing:
        directory = Path(existing).resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    env["MEDIA_STACK_DIR"] = str(directory)
    runtime: LocalRuntime | None = None
    faults: FaultProxy | None = None
    try:
        if existing:
            record = json.loads((directory / "moto.json").read_text(encoding="utf-8"))
        else:
            record = moto_server.start(directory)
            up = driver("up", env, UP_TIMEOUT)
            if up.returncode != 0:
                raise StackError(
                    f"`tools.stack up` failed (exit {up.returncode}):\n{up.stdout}{up.stderr}"
                )
        endpoint = str(record["endpoint"])
        faults = FaultProxy(endpoint)
        outcomes: list[BatchOutcome] = []
        runtime = LocalRuntime(
            RuntimeOptions(
                endpoint=endpoint,
                log_dir=directory / "logs",
                code_root=directory / "code",
                function_endpoint=faults.endpoint,
                retry_visibility=RETRY_VISIBILITY,
            ),
            on_batch=outcomes.append,
        )
        problems = runtime.refresh()
        if problems:
            raise StackError(
                "the runtime cannot run the deployed functions:\n" + "\n".join(problems)
            )
        running = {p.service for p in runtime.pollers}
        if running != SERVICES:
            raise StackError(f"the runtime polls {sorted(running)}, expected {sorted(SERVICES)}")
        target = resolve_target(endpoint=endpoint, environment="local")
        return Pipeline(
            directory, endpoint, target, runtime, faults, env, outcomes, owned=not existing
        )
    except BaseException:
        if runtime is not None:
            runtime.stop()
        if faults is not None:
            faults.close()
        if not existing:
            driver("down", env, 120)
        raise
