"""Section 4: end to end on the local stack: N photo uploads until every one is AssetIndexed.

The stack is the bench's own (``MEDIA_STACK_DIR=build/bench/stack``: moto on loopback, the real
Terraform applied, section up's or brought up here), the local runtime running the deployed
zips (``tools.demo.ensure_runtime``: ``python -m tools.runtime``, concurrency as deployed). Steps:

1. a temporary catch-all of AssetIndexed on the bus (``mediactl tail``'s ``BusTail``), read on
   a thread that notes when each asset's AssetIndexed arrives;
2. a warm-up of a few uploads, waited for (so the figures are the warm pipeline's; the cold
   starts it paid are in the notes);
3. N distinct 2 MP camera JPEGs (1632x1224, every fifth one rotated by EXIF), uploaded one after
   the other with PutObject the way ``mediactl upload`` does;
4. wait for N AssetIndexed events.

Figures: uploads/s = N / (last AssetIndexed - first upload); latency = AssetIndexed received - that
upload's PutObject returned (p50, p95). Where the time goes: the runtime logs one line per
invocation with the handler's duration (``tools/runtime/awslambda/poller.py``), summed per service
over the window; CPU seconds over the window from /proc for the runtime process itself (its pollers:
receive, build the event, settle), its workers (the handlers, each a warm python3.12 process) and
the moto server (the stand-in for AWS). The runtime's own overhead is its CPU against the handlers'.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import corpus, stackup
from bench.context import Context
from bench.report import Row

WARMUP = 4
# One line per invocation (tools/runtime/awslambda/poller.py), after the logger's time stamp.
_LINE = re.compile(
    r"(?P<service>[a-z][\w-]*)\s+batch=(?P<batch>\d+) failed=(?P<failed>\d+) "
    r"duration=(?P<duration>\d+)ms(?: cold=(?P<cold>\d+)ms)?"
)
_TICKS = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# CPU time from /proc
# --------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


@dataclass
class CpuSample:
    runtime: float
    workers: dict[int, float]
    moto: float

    @classmethod
    def take(cls, runtime_pid: int, moto_pid: int) -> CpuSample:
        return cls(
            runtime=cpu_seconds(runtime_pid),
            workers={pid: cpu_seconds(pid) for pid in children(runtime_pid)},
            moto=cpu_seconds(moto_pid),
        )

    def since(self, earlier: CpuSample) -> dict[str, float]:
        workers = sum(
            seconds - earlier.workers.get(pid, 0.0) for pid, seconds in self.workers.items()
        )
        return {
            "runtime": self.runtime - earlier.runtime,
            "workers": workers,
            "moto": self.moto - earlier.moto,
        }


# --------------------------------------------------------------------------------------------
# AssetIndexed arrivals
# --------------------------------------------------------------------------------------------


@dataclass
class Arrivals:
    """When each asset's AssetIndexed was received (epoch seconds), filled by a thread."""

    seen: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def count(self, assets: set[str]) -> int:
        with self.lock:
            return len(assets & self.seen.keys())


@contextlib.contextmanager
def arrivals(target: Any) -> Iterator[Arrivals]:
    from tools.cli.tail import BusTail

    found = Arrivals()

    def follow(tail: BusTail) -> None:
        try:
            while not found.stop.is_set():
                for event in tail.events(timeout=1):
                    detail = event.get("detail") or {}
                    asset = (detail.get("data") or {}).get("asset_id") or (
                        detail.get("metadata") or {}
                    ).get("correlation_id")
                    if asset:
                        with found.lock:
                            found.seen.setdefault(str(asset), time.time())
        except BaseException as error:  # reported by the waiter
            found.error = error

    with BusTail(target, ["AssetIndexed"]) as tail:
        thread = threading.Thread(target=follow, args=(tail,), daemon=True)
        thread.start()
        try:
            yield found
        finally:
            found.stop.set()
            thread.join(timeout=15)


STALL_SECONDS = float(os.environ.get("BENCH_E2E_STALL", "60"))


class Unfinished(RuntimeError):
    """Uploads that will not be AssetIndexed: the pipeline is idle and they are still missing."""


def unfinished_report(target: Any, found: Arrivals, assets: set[str], since: float) -> str:
    """What each missing upload lacks, in ``mediactl reconcile``'s words, and the tail's view."""
    from datetime import UTC, datetime

    from tools.cli.reconcile import State, reconcile, render

    with found.lock:
        missing = sorted(assets - found.seen.keys())
    report = reconcile(target, datetime.fromtimestamp(since - 1, UTC), expected=missing)
    lines = [f"{len(missing)} of {len(assets)} upload(s) never AssetIndexed:"]
    for asset in missing:
        account = report.account(asset)
        if account is None:
            lines.append(f"  {asset}: not found by reconcile")
        elif account.state == State.INDEXED:
            lines.append(
                f"  {asset}: indexed and its AssetIndexed published, but the tail never "
                "received it (an event lost between PutEvents and the subscriber)"
            )
        else:
            lines.append(f"  {asset}: {account.state.value}: {account.reason}")
    lines.append("mediactl reconcile's view of the window:")
    lines += [f"  {line}" for line in render(report)]
    return "\n".join(lines)


def wait_for(
    found: Arrivals, assets: set[str], timeout: float, ctx: Context, target: Any = None
) -> None:
    """Until every asset's AssetIndexed arrived. Fails at once, naming what is missing, when
    nothing arrived for STALL_SECONDS while every service queue is empty (nothing will come),
    and at ``timeout`` in any case."""
    from tools.cli.services import backlog

    began = time.monotonic()
    since = time.time()
    last, last_change = -1, began
    while True:
        if found.error is not None:
            raise RuntimeError(f"the AssetIndexed tail failed: {found.error}")
        done = found.count(assets)
        if done >= len(assets):
            return
        now = time.monotonic()
        elapsed = now - began
        if done != last:
            if done == 0 or done % max(1, len(assets) // 5) == 0:
                ctx.say(f"    [{elapsed:5.0f} s] {done}/{len(assets)} AssetIndexed")
            last, last_change = done, now
        stalled = now - last_change > STALL_SECONDS
        if (
            target is not None
            and (stalled or elapsed > timeout)
            and not any(backlog(target).values())
        ):
            raise Unfinished(
                f"the pipeline is idle after {elapsed:.0f} s with uploads unfinished; "
                + unfinished_report(target, found, assets, since)
            )
        if elapsed > timeout:
            raise RuntimeError(
                f"only {done}/{len(assets)} uploads were AssetIndexed after {timeout:.0f} s"
                + (f"; {unfinished_report(target, found, assets, since)}" if target else "")
            )
        time.sleep(0.2)


# --------------------------------------------------------------------------------------------
# The runtime's log
# --------------------------------------------------------------------------------------------


@dataclass
class ServiceWork:
    invocations: int = 0
    messages: int = 0
    failed: int = 0
    busy_ms: float = 0.0
    cold: int = 0
    cold_ms: float = 0.0


def runtime_work(log: Path, offset: int) -> dict[str, ServiceWork]:
    work: dict[str, ServiceWork] = {}
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    for line in text.splitlines():
        match = _LINE.search(line)
        if not match:
            continue
        entry = work.setdefault(match["service"], ServiceWork())
        entry.invocations += 1
        entry.messages += int(match["batch"])
        entry.failed += int(match["failed"])
        entry.busy_ms += float(match["duration"])
        if match["cold"]:
            entry.cold += 1
            entry.cold_ms += float(match["cold"])
    return work


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def run(ctx: Context) -> list[Row]:
    from tools import demo
    from tools.cli.uploads import upload
    from tools.localstack import resolve_target

    directory = stackup.STACK_DIR
    os.environ["MEDIA_STACK_DIR"] = str(directory)
    photos = corpus.e2e_photos(ctx.e2e_count + WARMUP)
    paths = corpus.ensure(photos, directory=corpus.DEFAULT_DIR / "e2e", say=ctx.say)
    files = [paths[p.name] for p in photos]
    stack = demo.ensure_stack(directory, deploy=None)
    endpoint = stack.endpoint
    if stack.pid is None:
        raise RuntimeError(f"no moto server recorded in {directory}")
    target = resolve_target(endpoint=endpoint, environment="local")
    runtime_pid = demo.ensure_runtime(directory, endpoint, target.region)
    log = directory / "logs" / "runtime.log"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        with arrivals(target) as found:
            ctx.say(f"  warm-up: {WARMUP} uploads")
            warm_offset = log.stat().st_size
            warm = upload(target, files[:WARMUP], prefix=f"bench/{stamp}/warmup/")
            wait_for(found, {u.asset_id for u in warm}, ctx.e2e_timeout, ctx, target)
            warm_work = runtime_work(log, warm_offset)

            ctx.say(f"  {ctx.e2e_count} uploads of 2 MP photos")
            offset = log.stat().st_size
            before = CpuSample.take(runtime_pid, stack.pid)
            began = time.time()
            uploads = upload(target, files[WARMUP:], prefix=f"bench/{stamp}/run/")
            uploaded = time.time()
            assets = {u.asset_id for u in uploads}
            wait_for(found, assets, ctx.e2e_timeout, ctx, target)
            finished = max(found.seen[a] for a in assets)
            after = CpuSample.take(runtime_pid, stack.pid)
            time.sleep(1.0)  # the last lines of the runtime's log
            work = runtime_work(log, offset)
            latencies = [found.seen[u.asset_id] - u.uploaded_at for u in uploads]
    finally:
        if not os.environ.get("BENCH_KEEP_STACK"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(runtime_pid, signal.SIGTERM)
            stackup.down()

    wall = finished - began
    cpu = after.since(before)
    n = len(uploads)
    throughput = n / wall
    handler_cpu = cpu["workers"]
    cores = os.cpu_count() or 1
    ceiling = cores * n / handler_cpu if handler_cpu > 0 else None
    busy = sum(w.busy_ms for w in work.values()) / 1000
    p50, p95 = statistics.median(latencies), _percentile(latencies, 0.95)
    ctx.say(
        f"  {n} uploads in {uploaded - began:.1f} s, all AssetIndexed after {wall:.1f} s: "
        f"{throughput:.2f} uploads/s, latency p50 {p50:.1f} s, p95 {p95:.1f} s"
    )
    per_service = "; ".join(
        f"{name} {w.invocations} invocations of {w.messages / max(1, w.invocations):.1f} "
        f"messages, {w.busy_ms / 1000:.1f} s in handlers"
        + (f", {w.cold} cold ({w.cold_ms / 1000:.1f} s)" if w.cold else "")
        + (f", {w.failed} failed" if w.failed else "")
        for name, w in sorted(work.items())
    )
    ctx.notes.append(
        f"e2e: {n} uploads, wall {wall:.1f} s (uploading took {uploaded - began:.1f} s); "
        f"handlers busy {busy:.1f} s in all ({per_service}); CPU over the window: handlers "
        f"(workers) {cpu['workers']:.1f} s, runtime (pollers) {cpu['runtime']:.1f} s, moto "
        f"{cpu['moto']:.1f} s, of {cores * wall:.0f} core-seconds"
    )
    cold_warm = sum(w.cold for w in warm_work.values())
    ctx.notes.append(
        f"e2e: the warm-up ({WARMUP} uploads) paid {cold_warm} cold start(s): "
        + ", ".join(
            f"{name} {w.cold_ms / max(1, w.cold):.0f} ms"
            for name, w in sorted(warm_work.items())
            if w.cold
        )
    )
    ctx.details["e2e"] = {"latencies": latencies, "cpu": cpu, "wall": wall}
    return [
        Row(
            "e2e/throughput",
            "uploads/s",
            throughput,
            ceiling,
            f"ceiling: {cores} cores doing only the handlers' CPU work",
        ),
        Row("e2e/latency p50", "s", p50, None, "-"),
        Row("e2e/latency p95", "s", p95, None, "-"),
        Row("e2e/runtime CPU vs handlers' CPU", "s", cpu["runtime"], handler_cpu, "handlers' CPU"),
        Row("e2e/moto CPU vs handlers' CPU", "s", cpu["moto"], handler_cpu, "handlers' CPU"),
        Row("e2e/handler busy time vs wall", "s", busy, wall, "wall time"),
    ]
