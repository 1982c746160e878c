"""A local pipeline: a local stack with the runtime running its functions behind a fault proxy.

:func:`start_pipeline` brings a stack up in a folder of its own with the same driver as
``make up`` (or takes the running one there with ``existing=True``), then runs the runtime on
it in this process: the deployed functions from their zips, their AWS calls through a
:class:`~tools.runtime.faults.FaultProxy` (one port per function; with no rule it forwards
everything unchanged). Failed messages come back after ``retry_visibility`` seconds instead of the
queue's visibility timeout, so retries and redrives happen within a test's time.

It is the test session's stack (``tests/conftest.py``: the end-to-end, reliability, browser and
infrastructure tests share it) and the soak's (``make soak``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.localstack.errors import StackError
from tools.localstack.record import REPO, Stack, read_stack, stack_env
from tools.localstack.target import Target, stack_target
from tools.runtime import LocalRuntime, RuntimeOptions
from tools.runtime.awslambda import BatchOutcome
from tools.runtime.faults import FaultProxy

if TYPE_CHECKING:
    from tools.cli.services import ServiceQueues

SERVICES = {"ingest", "thumbnailer", "metadata-extractor", "indexer"}
UP_TIMEOUT = 900
RETRY_VISIBILITY = 2


def driver(command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -m tools.localstack COMMAND`` (what ``make up`` / ``make down`` run)."""
    return subprocess.run(
        [sys.executable, "-m", "tools.localstack", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class LocalPipeline:
    """A local stack with the runtime running its functions, their AWS calls via ``faults``."""

    stack: Stack
    target: Target
    runtime: LocalRuntime
    faults: FaultProxy
    env: dict[str, str]
    outcomes: list[BatchOutcome] = field(default_factory=list)
    owned: bool = True  # brought up here (and so brought down by stop())
    up_output: str = ""  # what `tools.localstack up` printed (empty for an existing stack)

    @property
    def directory(self) -> Path:
        return self.stack.directory

    @property
    def endpoint(self) -> str:
        return self.stack.endpoint

    @property
    def environment(self) -> str:
        return self.stack.environment

    @property
    def region(self) -> str:
        return self.stack.region

    def client(self, service: str) -> Any:
        return self.stack.client(service)

    def state(self, root: str) -> dict[str, Any]:
        return self.stack.state(root)

    def parameter(self, path: str) -> str:
        return self.stack.parameter(path)

    @cached_property
    def queues(self) -> dict[str, ServiceQueues]:
        from tools.cli.services import service_queues

        return service_queues(self.target)

    def logs(self, service: str) -> str:
        """The function's log (its local CloudWatch log group)."""
        path = self.directory / "logs" / f"media-local-{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def outcomes_since(self, index: int, service: str | None = None) -> list[BatchOutcome]:
        """The invocations since ``len(outcomes)`` was ``index`` (of one service)."""
        return [o for o in self.outcomes[index:] if service is None or o.service == service]

    def backlog(self) -> dict[str, int]:
        """Messages waiting, in flight or delayed in each service's queue."""
        from tools.cli.services import backlog

        return backlog(self.target, self.queues)

    def wait_idle(self, timeout: float = 120, settle: float = 1.0) -> None:
        """Until every service queue is empty for ``settle`` s (TimeoutError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while True:
            busy = {name: n for name, n in self.backlog().items() if n}
            now = time.monotonic()
            if busy:
                quiet_since = None
                if now > deadline:
                    raise TimeoutError(f"queues still busy after {timeout:.0f}s: {busy}")
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= settle:
                return
            time.sleep(0.2)

    def stop(self) -> None:
        try:
            self.runtime.stop()
        finally:
            self.faults.close()
            if self.owned:
                driver("down", self.env, 120)


def start_pipeline(
    directory: Path, *, existing: bool = False, retry_visibility: int = RETRY_VISIBILITY
) -> LocalPipeline:
    """Bring a stack up in ``directory`` (or use the one there) and run the runtime on it.

    The functions' workers reach the stack through a fault proxy (no rule: no fault); failed
    messages come back after ``retry_visibility`` s instead of the queue's visibility timeout.
    """
    directory = directory.resolve()
    env = stack_env(directory)
    runtime: LocalRuntime | None = None
    faults: FaultProxy | None = None
    up_output = ""
    try:
        if not existing:
            up = driver("up", env, UP_TIMEOUT)
            if up.returncode != 0:
                raise StackError(
                    f"`tools.localstack up` failed (exit {up.returncode}):\n{up.stdout}{up.stderr}"
                )
            up_output = up.stdout
        stack = read_stack(directory)
        if stack is None or not stack.serving:
            raise StackError(f"no running local stack in {directory}")
        faults = FaultProxy(stack.endpoint)
        outcomes: list[BatchOutcome] = []
        runtime = LocalRuntime(
            RuntimeOptions(
                endpoint=stack.endpoint,
                region=stack.region,
                log_dir=directory / "logs",
                code_root=directory / "code",
                function_endpoint=faults.endpoint,
                retry_visibility=retry_visibility,
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
        return LocalPipeline(
            stack,
            stack_target(stack),
            runtime,
            faults,
            env,
            outcomes,
            owned=not existing,
            up_output=up_output,
        )
    except BaseException:
        if runtime is not None:
            runtime.stop()
        if faults is not None:
            faults.close()
        if not existing:
            driver("down", env, 120)
        raise
