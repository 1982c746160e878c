"""``make soak``: a few hundred uploads through the local stack, with duplicates and faults.

Bounded in count and in time. On a throwaway local stack (moto, the real Terraform, the runtime
with its workers behind a fault proxy; or an existing stack with ``--stack DIR``):

* every delivery doubled: each rule feeding a service queue is cloned for the run, so every S3
  event and every bus event reaches its consumers twice (``DuplicateDeliveries``);
* faults on a share (``--fault-rate``) of the functions' AWS calls: S3 and DynamoDB throttling
  and 5xx, EventBridge 5xx, ``PutEvents`` answering with failed entries;
* a mix of files: photos (indexed), broken or non-image files (rejected), and a few "poison"
  uploads whose original the thumbnailer is never allowed to read (they end in its DLQ after
  the queue's maxReceiveCount).

It measures upload-to-terminal latency (upload returned -> seen indexed and announced, rejected,
failed, or in a DLQ; polled every half second), the throughput (uploads / time from the first
upload to the last terminal state), then reconciles the window (``mediactl reconcile``) with the
list of uploads it made. The last line, for scripts::

    soak: uploads=N indexed=A rejected=R dlq=D lost=L p50=X.Xs p95=Y.Ys rate=Z.Z/s

``lost`` counts uploads the reconciliation could not place in a terminal state. Exit status 0
when nothing is lost, every upload ended where its kind says, and the reconciliation is exact.

The stack is a :class:`tools.localstack.LocalPipeline` (a local stack, its runtime and the fault
proxy), the same as the test session's.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from media_shared.ids import asset_id
from tools.cli.reconcile import Reconciliation, State, dead_letters, index_items, reconcile
from tools.localstack import LocalPipeline, start_pipeline
from tools.runtime.faults import DuplicateDeliveries, Rule

REPO = Path(__file__).resolve().parents[1]
LINE = (
    "soak: uploads={n} indexed={a} rejected={r} dlq={d} lost={lost} "
    "p50={p50:.1f}s p95={p95:.1f}s rate={rate:.1f}/s"
)


# --------------------------------------------------------------------------------------------
# The soak
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoakConfig:
    uploads: int = 300
    bad_share: float = 0.1  # rejected files
    poison_share: float = 0.02  # uploads the thumbnailer may never read: DLQ
    fault_rate: float = 0.05  # share of AWS calls failing (per kind of fault)
    copies: int = 1  # extra deliveries of a duplicated event
    duplicate_share: float = 0.25  # share of the events (at every hop) delivered again
    uploaders: int = 4
    rate: float = 0.0  # uploads per second; 0: as fast as the uploaders go (a burst)
    timeout: float = 300.0
    seed: int = 7

    def counts(self) -> tuple[int, int, int]:
        """(good, bad, poison): at least one bad and one poison upload when their share > 0."""
        bad = max(1, round(self.uploads * self.bad_share)) if self.bad_share > 0 else 0
        poison = max(1, round(self.uploads * self.poison_share)) if self.poison_share > 0 else 0
        return self.uploads - bad - poison, bad, poison


@dataclass(frozen=True)
class File:
    name: str
    data: bytes
    content_type: str
    kind: str  # "good" (indexed), "bad" (rejected), "poison" (DLQ)


EXPECTED_STATE = {"good": State.INDEXED, "bad": State.REJECTED, "poison": State.FAILED}


def files(config: SoakConfig) -> list[File]:
    """The uploads, shuffled: a small pool of generated pictures and broken files, reused."""
    sys.path.insert(0, str(REPO))
    from tests.support import images

    pictures = [
        ("jpg", "image/jpeg", images.jpeg(480, 320, seed=1, exif=images.camera_exif())),
        ("jpg", "image/jpeg", images.jpeg(320, 480, seed=2)),
        ("png", "image/png", images.png(400, 300, seed=3, mode="RGBA")),
        ("webp", "image/webp", images.webp(400, 300, seed=4)),
        ("gif", "image/gif", images.animated("gif", 160, 120, frames=2, seed=5)),
        ("tif", "image/tiff", images.tiff(300, 200, seed=6)),
    ]
    broken = [
        ("txt", "text/plain", images.text_file()),
        ("jpg", "image/jpeg", b""),
        ("jpg", "image/jpeg", images.truncated_jpeg(320, 240, seed=7)),
        ("png", "image/png", images.decompression_bomb_png()),
    ]
    good, bad, poison = config.counts()
    chosen: list[File] = []
    for number in range(good):
        ext, kind, data = pictures[number % len(pictures)]
        chosen.append(File(f"photo-{number:04d}.{ext}", data, kind, "good"))
    for number in range(bad):
        ext, kind, data = broken[number % len(broken)]
        chosen.append(File(f"broken-{number:04d}.{ext}", data, kind, "bad"))
    for number in range(poison):
        ext, kind, data = pictures[number % len(pictures)]
        chosen.append(File(f"poison-{number:04d}.{ext}", data, kind, "poison"))
    random.Random(config.seed).shuffle(chosen)
    return chosen


def fault_rules(rate: float, seed: int) -> list[Rule]:
    """Faults on ``rate`` of the calls, per kind: what AWS does under load, now and then."""
    if rate <= 0:
        return []
    half = rate / 2
    return [
        Rule("s3", None, "throttle", times=None, probability=rate, seed=seed),
        Rule("s3", None, "server", times=None, probability=half, seed=seed + 1),
        Rule("dynamodb", None, "throttle", times=None, probability=rate, seed=seed + 2),
        Rule("dynamodb", None, "server", times=None, probability=half, seed=seed + 3),
        Rule("events", "PutEvents", partial=True, times=None, probability=rate, seed=seed + 4),
        Rule("events", "PutEvents", "server", times=None, probability=half, seed=seed + 5),
    ]


@dataclass
class Tracked:
    file: File
    key: str
    asset_id: str
    uploaded_at: float
    finished_at: float | None = None
    state: str | None = None


@dataclass
class SoakResult:
    config: SoakConfig
    tracked: list[Tracked]
    report: Reconciliation
    began: float
    uploaded_by: float
    faults: Counter[str]
    failed_entries: int
    duplicated_rules: int

    @property
    def latencies(self) -> list[float]:
        return sorted(
            t.finished_at - t.uploaded_at for t in self.tracked if t.finished_at is not None
        )

    def percentile(self, share: float) -> float:
        values = self.latencies
        if not values:
            return float("nan")
        return values[min(len(values) - 1, max(0, math.ceil(share * len(values)) - 1))]

    @property
    def rate(self) -> float:
        ends = [t.finished_at for t in self.tracked if t.finished_at is not None]
        if not ends:
            return 0.0
        return len(ends) / max(1e-9, max(ends) - self.began)

    @property
    def lost(self) -> int:
        mine = {t.asset_id for t in self.tracked}
        return len([a for a in self.report.unaccounted if a.asset_id in mine])

    def count(self, state: State) -> int:
        mine = {t.asset_id for t in self.tracked}
        return len([a for a in self.report.by_state(state) if a.asset_id in mine])

    @property
    def misplaced(self) -> list[str]:
        """Uploads that ended in another terminal state than their kind says."""
        states = {a.asset_id: a.state for a in self.report.accounts}
        return [
            f"{t.key}: {states.get(t.asset_id)} (expected {EXPECTED_STATE[t.file.kind].value})"
            for t in self.tracked
            if states.get(t.asset_id) in (State.INDEXED, State.REJECTED, State.FAILED)
            and states.get(t.asset_id) != EXPECTED_STATE[t.file.kind]
        ]

    @property
    def ok(self) -> bool:
        return self.lost == 0 and not self.misplaced and self.report.exact

    def line(self) -> str:
        return LINE.format(
            n=len(self.tracked),
            a=self.count(State.INDEXED),
            r=self.count(State.REJECTED),
            d=self.count(State.FAILED),
            lost=self.lost,
            p50=self.percentile(0.5),
            p95=self.percentile(0.95),
            rate=self.rate,
        )


def _terminal_scan(
    pipeline: LocalPipeline, start: datetime, tracked: dict[str, Tracked], dlq_too: bool
) -> None:
    """Mark what became terminal: from the index (one query per status), and the DLQs."""
    now = time.time()
    for item in index_items(pipeline.target, start):
        found = tracked.get(str(item.get("asset_id")))
        if found is None or found.finished_at is not None:
            continue
        status = item.get("status")
        if status == "indexed" and item.get("indexed_published") is True:
            found.finished_at, found.state = now, "indexed"
        elif status in ("rejected", "failed"):
            found.finished_at, found.state = now, str(status)
    if dlq_too:
        for queues in pipeline.queues.values():
            for letter in dead_letters(pipeline.target, queues):
                for candidate in letter.asset_ids:
                    found = tracked.get(candidate)
                    if found is not None and found.finished_at is None:
                        found.finished_at, found.state = now, f"dlq:{queues.service}"


def run_soak(
    pipeline: LocalPipeline, config: SoakConfig, say: Callable[[str], None] = print
) -> SoakResult:
    """Upload, wait for every upload to end, reconcile; the pipeline's rules are left as found."""
    target = pipeline.target
    uploads_bucket = target.bucket("uploads")
    chosen = files(config)
    good, bad, poison = config.counts()
    prefix = f"soak/{datetime.now(UTC):%Y%m%dT%H%M%S}-{random.Random().getrandbits(24):06x}/"
    say(
        f"soak: {len(chosen)} uploads ({good} pictures, {bad} broken files, {poison} poison) "
        f"under {prefix}; {config.duplicate_share:.0%} of the deliveries at every hop "
        f"x{1 + config.copies}; faults on "
        f"{config.fault_rate:.0%} of S3, DynamoDB and EventBridge calls (per kind); "
        + (f"{config.rate:g} uploads/s" if config.rate > 0 else "uploaded in a burst")
    )
    pipeline.wait_idle(timeout=180)
    calls_before = Counter(pipeline.faults.calls)
    seconds_before = dict(pipeline.faults.seconds)
    rules = pipeline.faults.add(*fault_rules(config.fault_rate, config.seed))
    poison_rules: list[Rule] = []
    lock = threading.Lock()
    tracked: dict[str, Tracked] = {}
    start = datetime.now(UTC)
    began = time.time()
    try:
        duplicates = DuplicateDeliveries(
            target.events,
            ["default", target.bus_name],
            copies=max(1, config.copies),
            queue_arns=[q.queue_arn for q in pipeline.queues.values()],
            share=config.duplicate_share,
        )
        with duplicates if config.copies > 0 else contextlib.nullcontext(duplicates):

            def upload(number: int, file: File) -> None:
                if config.rate > 0:  # paced: upload ``number`` goes at its slot, not before
                    time.sleep(max(0.0, began + number / config.rate - time.time()))
                key = prefix + file.name
                response = target.s3.put_object(
                    Bucket=uploads_bucket, Key=key, Body=file.data, ContentType=file.content_type
                )
                asset = asset_id(uploads_bucket, key, response.get("VersionId"))
                if file.kind == "poison":
                    poison_rules.extend(
                        pipeline.faults.add(
                            Rule(
                                "s3",
                                "GetObject",
                                "denied",
                                times=None,
                                function="thumbnailer",
                                contains=asset,
                            )
                        )
                    )
                with lock:
                    tracked[asset] = Tracked(file, key, asset, time.time())

            # Uploads go on in the background while the index is watched, so that a paced
            # upload's latency is measured from its own upload, not from the last one.
            pool = ThreadPoolExecutor(max_workers=config.uploaders)
            pending = [pool.submit(upload, n, f) for n, f in enumerate(chosen)]
            pool.shutdown(wait=False)
            uploaded_by: float | None = None
            pacing = len(chosen) / config.rate if config.rate > 0 else 0.0
            deadline = time.monotonic() + config.timeout + pacing
            last_shown, rounds = 0.0, 0
            while True:
                if uploaded_by is None and all(f.done() for f in pending):
                    for future in pending:
                        future.result()  # an upload that failed ends the soak
                    uploaded_by = time.time()
                    say(f"  uploaded in {uploaded_by - began:.1f}s")
                with lock:
                    watched = dict(tracked)
                _terminal_scan(pipeline, start, watched, dlq_too=rounds % 4 == 0)
                rounds += 1
                done = sum(1 for t in watched.values() if t.finished_at is not None)
                elapsed = time.time() - began
                finished = uploaded_by is not None and done == len(chosen)
                if elapsed - last_shown >= 10 or finished:
                    say(f"  [{elapsed:5.1f}s] {done}/{len(chosen)} terminal")
                    last_shown = elapsed
                if finished or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            duplicated_rules = len(duplicates.clones)
        pipeline.wait_idle(timeout=120)
    finally:
        pipeline.faults.remove(*rules, *poison_rules)
    report = reconcile(target, start, expected=list(tracked))
    injected: Counter[str] = Counter()
    for rule in [*rules, *poison_rules]:
        injected[rule.service] += rule.hits
    result = SoakResult(
        config=config,
        tracked=list(tracked.values()),
        report=report,
        began=began,
        uploaded_by=uploaded_by or time.time(),
        faults=injected,
        failed_entries=sum(r.failed_entries for r in rules),
        duplicated_rules=duplicated_rules,
    )
    say(
        f"  faults injected: {sum(injected.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(injected.items()))}; "
        f"{result.failed_entries} PutEvents entries failed); {duplicated_rules} rules duplicated"
    )
    calls = Counter(pipeline.faults.calls)
    calls.subtract(calls_before)
    spent = {
        key: value - seconds_before.get(key, 0.0) for key, value in pipeline.faults.seconds.items()
    }
    slowest = sorted(spent.items(), key=lambda kv: kv[1], reverse=True)[:3]
    total_calls = sum(calls.values())
    say(
        f"  AWS calls by the functions: {total_calls}, mean "
        f"{1000 * sum(spent.values()) / max(1, total_calls):.0f} ms at the stack; most time in "
        + ", ".join(
            f"{(function or '-').removeprefix('media-local-')} {service}.{operation} "
            f"{seconds:.0f}s/{calls[(function, service, operation)]}"
            for (function, service, operation), seconds in slowest
        )
    )
    counts = report.counts
    say(
        "  reconciliation: "
        + ("exact" if report.exact else "NOT exact")
        + f" ({len(report.accounts)} uploads in the window: "
        + ", ".join(f"{counts[s.value]} {s.value}" for s in State if counts[s.value])
        + ")"
    )
    for problem in result.misplaced[:20]:
        say(f"  misplaced: {problem}")
    for account in report.unaccounted[:20]:
        say(f"  unaccounted: {account.asset_id} {account.key!r} {account.state}: {account.reason}")
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.soak",
        description="Soak the local stack: uploads with duplicate deliveries and injected faults.",
    )
    defaults = SoakConfig()
    parser.add_argument("--uploads", type=int, default=defaults.uploads)
    parser.add_argument("--fault-rate", type=float, default=defaults.fault_rate)
    parser.add_argument("--bad-share", type=float, default=defaults.bad_share)
    parser.add_argument("--poison-share", type=float, default=defaults.poison_share)
    parser.add_argument("--copies", type=int, default=defaults.copies, help="extra deliveries")
    parser.add_argument(
        "--duplicate-share",
        type=float,
        default=defaults.duplicate_share,
        help="share of the events delivered 1 + COPIES times (1/16 steps)",
    )
    parser.add_argument("--uploaders", type=int, default=defaults.uploaders)
    parser.add_argument(
        "--rate", type=float, default=defaults.rate, help="uploads per second (0: a burst)"
    )
    parser.add_argument("--timeout", type=float, default=defaults.timeout)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--stack",
        type=Path,
        help="an existing local stack directory (MEDIA_STACK_DIR of `make up`, with no "
        "runtime running on it); default: a throwaway stack, brought down at the end",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.uploads <= 5000:
        parser.error("--uploads must be between 1 and 5000")
    if args.rate < 0:
        parser.error("--rate must not be negative")
    if not 0 <= args.fault_rate < 0.5:
        parser.error("--fault-rate must be in [0, 0.5)")
    if args.copies < 0:
        parser.error("--copies must not be negative")
    if not 1 / 16 <= args.duplicate_share <= 1:
        parser.error("--duplicate-share must be between 1/16 and 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = SoakConfig(
        uploads=args.uploads,
        bad_share=args.bad_share,
        poison_share=args.poison_share,
        fault_rate=args.fault_rate,
        copies=args.copies,
        duplicate_share=args.duplicate_share,
        uploaders=args.uploaders,
        rate=args.rate,
        timeout=args.timeout,
        seed=args.seed,
    )
    began = time.monotonic()
    throwaway: Path | None = None
    if args.stack:
        print(f"soak: using the stack in {args.stack}", flush=True)
        pipeline = start_pipeline(args.stack.resolve(), existing=True)
    else:
        throwaway = Path(tempfile.mkdtemp(prefix="media-soak-"))
        print(f"soak: bringing a throwaway local stack up in {throwaway}", flush=True)
        pipeline = start_pipeline(throwaway)
        print(f"soak: stack up in {time.monotonic() - began:.0f}s", flush=True)
    try:
        result = run_soak(pipeline, config, say=lambda line: print(line, flush=True))
    finally:
        pipeline.stop()
    if throwaway is not None:
        if result.ok:
            shutil.rmtree(throwaway, ignore_errors=True)
        else:
            print(f"soak: the functions' logs are kept in {throwaway / 'logs'}", flush=True)
    print(result.line(), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
