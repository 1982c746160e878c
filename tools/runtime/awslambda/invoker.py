"""Warm worker processes per function, invoked the way Lambda invokes a function.

A :class:`Worker` is one execution environment: a subprocess of the Lambda interpreter running
``worker.py`` on the extracted artifact, with the function's environment. It is started cold
(imports the handler once, like Lambda's INIT phase), then serves invocations one at a time. An
invocation that outlives the function's timeout kills its worker (Lambda resets the environment
after a timeout); the next invocation gets a fresh, cold one. :class:`FunctionPool` keeps the idle
workers of one function warm between invocations.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tools.runtime.awslambda.discovery import Function

WORKER_SCRIPT = Path(__file__).resolve().parent / "worker.py"
INIT_LIMIT_SECONDS = 10
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class Invocation:
    """What came back from one invocation."""

    request_id: str
    ok: bool
    payload: Any = None
    error: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    init_ms: float | None = None
    timed_out: bool = False
    max_memory_mb: int | None = None

    @property
    def error_summary(self) -> str:
        if self.ok:
            return ""
        return f"{self.error.get('errorType', 'Error')}: {self.error.get('errorMessage', '')}"


class WorkerDied(RuntimeError):
    """The worker process ended, or said nothing before its deadline."""


class FunctionLog:
    """The function's log (its CloudWatch log group, locally): one file, lines from every worker."""

    def __init__(self, path: Path | None, echo: Callable[[str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._echo = echo
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = path.open("a", encoding="utf-8", buffering=1)

    def write(self, line: str) -> None:
        line = line.rstrip("\n")
        with self._lock:
            if self._handle is not None:
                self._handle.write(line + "\n")
            if self._echo is not None:
                self._echo(line)

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


def lambda_environment(
    function: Function, *, task_root: Path, endpoint: str, region: str
) -> dict[str, str]:
    """The variables a Lambda python runtime sets, over the function's own, plus the endpoint."""
    now = datetime.now(UTC)
    env = dict(function.environment)
    env.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
            "_HANDLER": function.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": endpoint,
            **LOCAL_CREDENTIALS,
        }
    )
    return env


def trace_header() -> str:
    """An X-Ray trace header as Lambda sets per invocation (not sampled: no daemon locally)."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"


class Worker:
    """One warm execution environment of one function."""

    def __init__(
        self,
        function: Function,
        *,
        python: Path,
        task_root: Path,
        environment: Mapping[str, str],
        log: FunctionLog,
    ) -> None:
        self.function = function
        self.log = log
        self.init_ms: float | None = None
        read_fd, write_fd = os.pipe()
        try:
            self.process = subprocess.Popen(
                [str(python), "-I", "-u", str(WORKER_SCRIPT), str(write_fd)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                env=dict(environment),
                cwd=str(task_root),
                start_new_session=True,  # a Ctrl-C reaches the runtime, which drains, not workers
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        finally:
            os.close(write_fd)
        self._replies = read_fd
        self._buffer = b""
        self._logger = threading.Thread(target=self._pump_log, daemon=True)
        self._logger.start()

    def _pump_log(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.log.write(line)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _reply(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._replies], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise WorkerDied(f"worker exited with code {self.process.wait()}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        reply: dict[str, Any] = json.loads(line)
        return reply

    def start(self) -> dict[str, Any]:
        """Wait for the cold start; the ready reply, or an ``init_error`` one."""
        limit = max(INIT_LIMIT_SECONDS, self.function.timeout)
        try:
            reply = self._reply(time.monotonic() + limit)
        except TimeoutError:
            self.kill()
            return {
                "type": "init_error",
                "errorType": "Runtime.InitTimeout",
                "errorMessage": f"INIT did not finish within {limit} seconds",
            }
        except WorkerDied as error:
            return {
                "type": "init_error",
                "errorType": "Runtime.ExitError",
                "errorMessage": str(error),
            }
        if reply.get("type") == "ready":
            self.init_ms = float(reply.get("init_ms", 0.0))
        return reply

    def invoke(self, event: Mapping[str, Any], request_id: str) -> Invocation:
        timeout = self.function.timeout
        deadline_ms = int(time.time() * 1000) + timeout * 1000
        request = {
            "request_id": request_id,
            "deadline_ms": deadline_ms,
            "trace_id": trace_header(),
            "invoked_function_arn": self.function.arn,
            "event": event,
        }
        began = time.monotonic()
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            reply = self._reply(began + timeout)
        except TimeoutError:
            self.kill()
            return Invocation(
                request_id=request_id,
                ok=False,
                error={
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                },
                duration_ms=round((time.monotonic() - began) * 1000, 1),
                timed_out=True,
            )
        except (WorkerDied, BrokenPipeError, OSError) as error:
            self.kill()
            return Invocation(
                request_id=request_id,
                ok=False,
                error={"errorType": "Runtime.ExitError", "errorMessage": str(error)},
                duration_ms=round((time.monotonic() - began) * 1000, 1),
            )
        ok = bool(reply.get("ok"))
        return Invocation(
            request_id=request_id,
            ok=ok,
            payload=json.loads(reply["payload"]) if ok else None,
            error={}
            if ok
            else {k: reply.get(k) for k in ("errorType", "errorMessage", "stackTrace")},
            duration_ms=float(reply.get("duration_ms", 0.0)),
            max_memory_mb=reply.get("max_memory_mb"),
        )

    def stop(self, grace: float = 5.0) -> None:
        """End the worker: close its stdin (it finishes and exits), kill it if it lingers."""
        if self.alive and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        self.kill()

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self._replies)
        self._replies = -1


class FunctionPool:
    """The warm workers of one function; a new (cold) one whenever none is idle."""

    def __init__(
        self,
        function: Function,
        *,
        python: Path,
        task_root: Path,
        environment: Mapping[str, str],
        log: FunctionLog,
    ) -> None:
        self.function = function
        self.python = python
        self.task_root = task_root
        self.environment = dict(environment)
        self.log = log
        self._idle: list[Worker] = []
        self._busy: set[Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def _take(self) -> Worker | None:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive:
                    self._busy.add(worker)
                    return worker
            return None

    def invoke(self, event: Mapping[str, Any]) -> Invocation:
        request_id = str(uuid.uuid4())
        worker = self._take()
        init_ms: float | None = None
        if worker is None:
            worker = Worker(
                self.function,
                python=self.python,
                task_root=self.task_root,
                environment=self.environment,
                log=self.log,
            )
            with self._lock:
                self._busy.add(worker)
            ready = worker.start()
            if ready.get("type") != "ready":
                self._drop(worker)
                self.log.write(
                    f"INIT_REPORT Status: error ErrorType: {ready.get('errorType')} "
                    f"{ready.get('errorMessage')}"
                )
                for line in ready.get("stackTrace") or []:
                    self.log.write(line)
                return Invocation(
                    request_id=request_id,
                    ok=False,
                    error={k: ready.get(k) for k in ("errorType", "errorMessage", "stackTrace")},
                )
            init_ms = worker.init_ms
        self.log.write(f"START RequestId: {request_id} Version: $LATEST")
        result = worker.invoke(event, request_id)
        result.init_ms = init_ms
        if not result.ok:
            self.log.write(f"{request_id} {result.error_summary}")
        self.log.write(f"END RequestId: {request_id}")
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
            f"Memory Size: {self.function.memory_size} MB"
        )
        if result.max_memory_mb is not None:
            report += f"\tMax Memory Used: {result.max_memory_mb} MB"
        if init_ms is not None:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        if result.timed_out:
            report += "\tStatus: timeout"
        self.log.write(report)
        if worker.alive and not self._closed:
            with self._lock:
                self._busy.discard(worker)
                self._idle.append(worker)
        else:
            self._drop(worker)
        return result

    def _drop(self, worker: Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
        worker.stop(grace=0)

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._idle) + len(self._busy)

    def close(self) -> None:
        """Stop every idle worker; a busy one is stopped when its invocation returns."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()
