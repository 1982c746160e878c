"""The local Lambda service: every deployed SQS event source mapping, run concurrently, as packaged.

Reads what Terraform deployed to the endpoint (mappings and function configurations), finds each
function's artifact by its CodeSha256, extracts it, and runs one :class:`MappingPoller` per
mapping over a pool of warm workers per function. ``refresh`` re-reads the deployment: a new
mapping starts, a removed one stops, a function whose code or configuration changed gets new
workers on the new artifact.

The pools are the runtime's alone: :meth:`LocalRuntime.invoke` runs a function for any other
event source (the API Gateway emulation, ``tools.runtime.apigateway``) on the same pool the
function's pollers use, so a function has one set of warm workers, one log and one endpoint
whichever way it is invoked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import threading
from collections.abc import Callable
from collections.abc import Mapping as MappingType
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from tools.runtime.awslambda.artifacts import (
    DEFAULT_ARTIFACT_DIRS,
    DEFAULT_CODE_ROOT,
    ArtifactError,
    download,
    extract,
    find_artifact,
)
from tools.runtime.awslambda.discovery import Function, Mapping, discover
from tools.runtime.awslambda.interpreter import DEFAULT_VENV_ROOT, lambda_venv
from tools.runtime.awslambda.invoker import (
    LOCAL_CREDENTIALS,
    FunctionLog,
    FunctionPool,
    Invocation,
    lambda_environment,
)
from tools.runtime.awslambda.live import LiveCode, Overlay
from tools.runtime.awslambda.live import describe as describe_changes
from tools.runtime.awslambda.poller import BatchOutcome, MappingPoller

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

LOG = logging.getLogger("tools.runtime")
DEFAULT_CONCURRENCY = 2
GONE_AFTER = 3  # refreshes in a row that cannot reach the endpoint: the stack was brought down
_MACHINES = {"x86_64": {"x86_64", "amd64"}, "arm64": {"arm64", "aarch64"}}


class RuntimeSetupError(RuntimeError):
    """A deployed function cannot be run locally (no interpreter, no matching artifact, ...)."""


@dataclass(frozen=True)
class RuntimeOptions:
    endpoint: str
    region: str = "us-east-1"
    artifact_dirs: tuple[Path, ...] = DEFAULT_ARTIFACT_DIRS
    code_root: Path = DEFAULT_CODE_ROOT
    venv_root: Path = DEFAULT_VENV_ROOT
    log_dir: Path | None = None
    default_concurrency: int = DEFAULT_CONCURRENCY
    functions: tuple[str, ...] = ()
    echo_function_logs: bool = False
    # The AWS endpoint a function's workers call, by function name (default: ``endpoint``),
    # e.g. a fault-injecting proxy (tools.runtime.faults.FaultProxy).
    function_endpoint: Callable[[str], str] | None = None
    # Test acceleration, off by default: failed messages become visible again after this many
    # seconds instead of the queue's visibility timeout (Lambda leaves them to the timeout).
    retry_visibility: int | None = None
    # Live code (live.py): these source folders laid over the deployed artifact,
    # watched, and picked up by the next invocation when they change. Empty: as packaged only.
    live: tuple[Overlay, ...] = ()
    live_interval: float = 0.5


def clients(endpoint: str, region: str) -> tuple[LambdaClient, SQSClient]:
    session = boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
        region_name=region,
    )
    config = Config(max_pool_connections=50, retries={"mode": "standard", "max_attempts": 5})
    return (
        session.client("lambda", endpoint_url=endpoint, config=config),
        session.client("sqs", endpoint_url=endpoint, config=config),
    )


def _fingerprint(function: Function) -> str:
    material = json.dumps(asdict(function), sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


class LocalRuntime:
    """Runs every mapping of one endpoint until stopped."""

    def __init__(
        self, options: RuntimeOptions, on_batch: Callable[[BatchOutcome], None] | None = None
    ) -> None:
        self.options = options
        self.on_batch = on_batch
        self.lambda_client, self.sqs = clients(options.endpoint, options.region)
        self._pools: dict[str, FunctionPool] = {}
        self._current: dict[str, str] = {}  # function ARN -> key of its newest pool
        self._pools_lock = threading.RLock()
        self._logs: dict[str, FunctionLog] = {}
        self._pollers: dict[tuple[str, str], MappingPoller] = {}
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._failed: dict[str, str] = {}
        self.live = LiveCode(options.live, options.live_interval) if options.live else None
        self._generation: dict[str, int] = {}  # function name -> live code version
        self._live_used: dict[str, set[str]] = {}  # function name -> overlay targets it uses
        self._live_lock = threading.Lock()

    @property
    def pollers(self) -> list[MappingPoller]:
        with self._lock:
            return list(self._pollers.values())

    def _log_for(self, function: Function) -> FunctionLog:
        if function.name not in self._logs:
            path = None
            if self.options.log_dir is not None:
                path = self.options.log_dir / f"{function.name}.log"
            echo = None
            if self.options.echo_function_logs:
                name = function.service

                def echo(line: str) -> None:
                    LOG.info("[%s] %s", name, line)

            self._logs[function.name] = FunctionLog(path, echo)
        return self._logs[function.name]

    def task_root(self, function: Function) -> Path:
        """The extracted artifact of the deployed code (RuntimeSetupError if none matches)."""
        artifact = find_artifact(function.code_sha256, self.options.artifact_dirs)
        if artifact is None and function.code_location:
            fetched = self.options.code_root / "downloads" / f"{function.name}.zip"
            artifact = download(function.code_location, fetched)
        if artifact is None:
            looked = ", ".join(str(d) for d in self.options.artifact_dirs)
            raise RuntimeSetupError(
                f"{function.name}: no artifact with the deployed CodeSha256 {function.code_sha256} "
                f"in {looked}. The build and the deployment differ: run `make package` and "
                f"`make up` again (the runtime only runs the code that was deployed)."
            )
        try:
            extracted = extract(artifact, function.code_sha256, self.options.code_root)
        except (ArtifactError, OSError) as error:
            raise RuntimeSetupError(f"{function.name}: {error}") from error
        if self.live is None:
            return extracted
        return self._live_root(function, extracted)

    def code_version(self, function: Function) -> int:
        """How many times live code replaced the function's source (0: as deployed)."""
        return self._generation.get(function.name, 0)

    def _live_root(self, function: Function, extracted: Path) -> Path:
        assert self.live is not None
        version = self.code_version(function)
        root = self.options.code_root / "live" / function.name / f"{extracted.name}-{version}"
        with self._live_lock:
            if not root.is_dir():
                used = self.live.prepare(extracted, root)
                self._live_used[function.name] = {o.target for o in used}
                LOG.info(
                    "%s: live code: %s laid over the deployed artifact (CodeSha256 %s)",
                    function.name,
                    ", ".join(f"{o.source} as {o.target}/" for o in used) or "nothing",
                    function.code_sha256,
                )
        return root

    def start_live(self) -> None:
        """Watch the live sources: a change gives the functions using them new workers."""
        if self.live is not None:
            self.live.watch(self._on_live_change)

    def _on_live_change(self, changed: dict[Overlay, list[str]]) -> None:
        targets = {overlay.target for overlay in changed}
        with self._live_lock:
            affected = sorted(name for name, used in self._live_used.items() if used & targets)
            for name in affected:
                self._generation[name] = self._generation.get(name, 0) + 1
        if not affected:
            LOG.info(
                "live code: %s changed; no running function uses it", describe_changes(changed)
            )
            return
        # The pollers keep polling; their next batch goes to a pool of workers on the new code
        # (a batch in flight finishes on the old one, whose workers then end). A function that
        # no poller runs (an HTTP route's) gets its new pool with its next invoke().
        swapped: set[str] = set()
        with self._refreshing:
            for poller in self.pollers:
                name = poller.mapping.function.name
                if name in affected:
                    try:
                        poller.pool = self.pool_for(poller.mapping.function)
                    except RuntimeSetupError as error:
                        LOG.error("live code: %s", error)
                        continue
                    swapped.add(name)
            with self._pools_lock:
                for arn, key in list(self._current.items()):
                    if key != self._pool_key(self._pools[key].function):
                        del self._current[arn]  # on the old code: closed below, once idle
            self._close_unused_pools()
        later = [name for name in affected if name not in swapped]
        LOG.info(
            "live code: %s changed: new workers for %s on the edited code (no terraform apply)",
            describe_changes(changed),
            "; ".join(
                part
                for part in (
                    ", ".join(sorted(swapped)),
                    ", ".join(later) + " with its next invocation" if later else "",
                )
                if part
            ),
        )
        for name in affected:  # older copies (the last one may still finish a batch)
            keep = self._generation[name] - 1
            for old in (self.options.code_root / "live" / name).glob("*-*"):
                version = old.name.rsplit("-", 1)[1]
                if old.is_dir() and version.isdigit() and int(version) < keep:
                    shutil.rmtree(old, ignore_errors=True)

    def _pool_key(self, function: Function) -> str:
        return f"{function.arn}#{_fingerprint(function)}#{self.code_version(function)}"

    def pool_for(self, function: Function) -> FunctionPool:
        """The warm workers of ``function`` as configured now (new ones if its code changed)."""
        key = self._pool_key(function)
        with self._pools_lock:
            if key in self._pools:
                return self._pools[key]
            pool = self._new_pool(function)
            self._pools[key] = pool
            replaced = self._current.get(function.arn)
            self._current[function.arn] = key
        if replaced is not None:
            self._close_unused_pools()  # the function's previous pool, once nothing polls it
        return pool

    def _new_pool(self, function: Function) -> FunctionPool:
        machine = platform.machine().lower()
        for arch in function.architectures:
            if machine not in _MACHINES.get(arch, {arch}):
                LOG.warning(
                    "%s is built for %s and this machine is %s: compiled dependencies may not load",
                    function.name,
                    arch,
                    machine,
                )
        python = lambda_venv(function.runtime, self.options.venv_root)
        task_root = self.task_root(function)
        endpoint = self.options.endpoint
        if self.options.function_endpoint is not None:
            endpoint = self.options.function_endpoint(function.name)
        environment = lambda_environment(
            function,
            task_root=task_root,
            endpoint=endpoint,
            region=self.options.region,
        )
        return FunctionPool(
            function,
            python=python,
            task_root=task_root,
            environment=environment,
            log=self._log_for(function),
        )

    def invoke(self, function: Function, event: MappingType[str, Any]) -> Invocation:
        """Invoke ``function`` once with ``event`` (synchronously, as the ``Invoke`` API does)
        on the same warm workers its event source mappings use: how the API Gateway emulation
        runs a route's function. RuntimeSetupError if its deployed code cannot be run."""
        return self.pool_for(function).invoke(event)

    def concurrency(self, mapping: Mapping) -> int:
        cap = mapping.maximum_concurrency or self.options.default_concurrency
        reserved = mapping.function.reserved_concurrency
        return min(cap, reserved) if reserved is not None else cap

    def discover(self) -> list[Mapping]:
        mappings, notes = discover(self.lambda_client, self.sqs, self.options.functions)
        for note in notes:
            LOG.info("%s", note)
        return mappings

    def refresh(self) -> list[str]:
        """Bring the running pollers in line with what is deployed; problems found, by function."""
        with self._refreshing:
            return self._refresh()

    def _refresh(self) -> list[str]:
        mappings = self.discover()
        wanted: dict[tuple[str, str], Mapping] = {
            (m.uuid, _fingerprint(m.function) + repr(m)): m for m in mappings
        }
        problems: list[str] = []
        with self._lock:
            stale = [key for key in self._pollers if key not in wanted]
        for key in stale:
            with self._lock:
                poller = self._pollers.pop(key)
            LOG.info(
                "%s: mapping %s changed or removed, stopping its poller", poller.service, key[0]
            )
            poller.stop()
        self._close_unused_pools()
        for key, mapping in wanted.items():
            with self._lock:
                if key in self._pollers:
                    continue
            if self.concurrency(mapping) <= 0:
                LOG.info("%s: reserved concurrency 0, mapping not polled", mapping.function.name)
                continue
            try:
                pool = self.pool_for(mapping.function)
            except RuntimeSetupError as error:
                message = str(error)
                if self._failed.get(mapping.function.name) != message:
                    LOG.error("%s", message)
                self._failed[mapping.function.name] = message
                problems.append(message)
                continue
            self._failed.pop(mapping.function.name, None)
            poller = MappingPoller(
                mapping,
                sqs=self.sqs,
                pool=pool,
                region=self.options.region,
                concurrency=self.concurrency(mapping),
                on_batch=self.on_batch,
                retry_visibility=self.options.retry_visibility,
            )
            with self._lock:
                self._pollers[key] = poller
            poller.start()
            LOG.info(
                "%s: polling %s (batch %d, window %ds, concurrency %d, timeout %ds, "
                "visibility %ds, %s) with %s",
                mapping.function.service,
                mapping.queue.name,
                mapping.batch_size,
                mapping.batching_window,
                poller.concurrency,
                mapping.function.timeout,
                mapping.queue.visibility_timeout,
                f"DLQ after {mapping.queue.max_receive_count} receives"
                if mapping.queue.max_receive_count
                else "no DLQ",
                mapping.function.handler,
            )
        return problems

    def _close_unused_pools(self) -> None:
        """Close every pool no poller uses and that is not its function's newest (which
        :meth:`invoke` serves); a busy worker of a closed pool ends after its invocation."""
        with self._lock:
            used = {id(p.pool) for p in self._pollers.values()}
        with self._pools_lock:
            newest = set(self._current.values())
            unused = [k for k, pool in self._pools.items() if id(pool) not in used]
            closing = [self._pools.pop(k) for k in unused if k not in newest]
        for pool in closing:
            pool.close()

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "service": p.service,
                "function": p.mapping.function.name,
                "queue": p.mapping.queue.name,
                "batch_size": p.mapping.batch_size,
                "concurrency": p.concurrency,
                "code_sha256": p.mapping.function.code_sha256,
            }
            for p in self.pollers
        ]

    def stop(self) -> None:
        """Stop polling, let every batch in flight finish, then end every worker."""
        if self.live is not None:
            self.live.stop()
        with self._lock:
            pollers, self._pollers = list(self._pollers.values()), {}
        threads = [threading.Thread(target=p.stop) for p in pollers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
            self._current.clear()
        for pool in pools:
            pool.close()
        for log in self._logs.values():
            log.close()
        self._logs.clear()


def run(
    options: RuntimeOptions,
    stop: threading.Event,
    *,
    refresh_seconds: float = 10.0,
    on_started: Callable[[LocalRuntime], None] | None = None,
) -> int:
    """Run until ``stop`` is set; 0, or 1 when nothing could be started."""
    runtime = LocalRuntime(options)
    try:
        try:
            problems = runtime.refresh()
        except (BotoCoreError, ClientError) as error:
            LOG.error("cannot read the deployment on %s: %s", options.endpoint, error)
            return 1
        if not runtime.pollers and problems:
            return 1
        if not runtime.pollers:
            LOG.warning(
                "no SQS event source mappings on %s yet (run `make up`); waiting for some",
                options.endpoint,
            )
        runtime.start_live()
        if on_started is not None:
            on_started(runtime)
        unreachable = 0
        while not stop.wait(refresh_seconds):
            try:
                runtime.refresh()
                unreachable = 0
            except EndpointConnectionError as error:
                unreachable += 1
                if unreachable >= GONE_AFTER:
                    LOG.warning(
                        "%s is gone (%s): the stack is down, stopping", options.endpoint, error
                    )
                    return 0
            except Exception as error:  # the endpoint may be restarting: keep what runs
                LOG.warning("could not re-read the deployment: %s", error)
            if on_started is not None:
                on_started(runtime)
        return 0
    finally:
        LOG.info("stopping: waiting for batches in flight")
        runtime.stop()
        LOG.info("stopped")
