"""``make demo``: a clean checkout to processed, indexed images, on the local stack.

1. the local stack: a moto server on loopback (``tools.localstack.moto_server``) with the real
   Terraform applied to it (``python -m tools.localstack up``, which also builds the Lambda zips);
2. the local runtime in the background (``python -m tools.runtime``), running the deployed
   functions from those zips;
3. sample images generated here (``tests/support/images.py``: photographic-ish pictures with
   camera EXIF, one rotated by its orientation tag, a PNG, an animated GIF, and files that must
   be rejected), uploaded to the uploads bucket the way a client would (``mediactl upload``);
4. progress while every upload travels ingest -> thumbnailer + metadata-extractor -> indexer,
   until each reaches a terminal state in the asset index (indexed, rejected, failed);
5. a table of the results, where the thumbnails are, a copy of them under ``.local/demo/``, and
   the address of the upload and gallery page the runtime serves (``web/``).

Exit 0 when every sample ended in its expected state; 1 otherwise (a timeout included).
The stack and the runtime keep running afterwards for ``mediactl``; ``make down`` stops both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_shared.index import AssetRecord
from tools.cli import assets
from tools.cli.errors import CliError
from tools.cli.uploads import Upload, upload
from tools.localstack import (
    Stack,
    StackError,
    Target,
    ensure_running,
    is_patched,
    read_stack,
    resolve_target,
    stack_dir,
    stack_env,
)
from tools.localstack.driver import live_overlays

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TIMEOUT = 240.0
SERVICES = ("ingest", "thumbnailer", "metadata-extractor", "indexer")


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    expected: str
    what: str


def samples() -> list[Sample]:
    """The demo's files, generated (deterministic bytes), with the state each must end in."""
    sys.path.insert(0, str(REPO))
    from tests.support import images

    fuji = images.camera_exif()
    canon = images.camera_exif(
        make="Canon",
        model="Canon EOS R5",
        lens="RF24-105mm F4 L IS USM",
        taken_at="2026:06:02 07:15:44",
        offset="-04:00",
        gps=None,
        orientation=6,
    )
    sony = images.camera_exif(
        make="SONY",
        model="ILCE-7M3",
        lens="FE 35mm F1.8",
        taken_at="2025:12:24 16:03:10",
        offset="+01:00",
        gps=(59.3293, 18.0686),
    )
    return [
        Sample("harbour.jpg", images.jpeg(1600, 1200, seed=11, exif=fuji), "indexed", "JPEG, EXIF"),
        Sample(
            "portrait-rotated.jpg",
            images.jpeg(1200, 900, seed=23, exif=canon),
            "indexed",
            "JPEG stored 1200x900, EXIF orientation 6 (shown 900x1200)",
        ),
        Sample(
            "market.jpg",
            images.jpeg(2400, 1600, seed=37, exif=sony, icc_profile=images.srgb_profile()),
            "indexed",
            "JPEG, EXIF with GPS, ICC profile",
        ),
        Sample("diagram.png", images.png(1024, 768, seed=5, mode="RGBA"), "indexed", "PNG, alpha"),
        Sample(
            "loop.gif",
            images.animated("gif", 320, 240, frames=6, seed=41),
            "indexed",
            "animated GIF, 6 frames",
        ),
        Sample("notes.txt", images.text_file(), "rejected", "text, not an image"),
        Sample(
            "cut-short.jpg",
            images.truncated_jpeg(800, 600, seed=3),
            "rejected",
            "JPEG cut in half",
        ),
        Sample(
            "bomb.png",
            images.decompression_bomb_png(),
            "rejected",
            "PNG header claiming 40000x40000 pixels",
        ),
    ]


def say(message: str) -> None:
    print(message, flush=True)


# --- the stack and the runtime -----------------------------------------------------------------


def _deployed(stack: Stack) -> bool:
    """Whether the platform and the indexer published their parameters there."""
    target = resolve_target(endpoint=stack.endpoint, environment="local")
    try:
        target.bucket("uploads")
        target.index_table  # noqa: B018 (read for its StackError)
    except StackError:
        return False
    return True


def ensure_stack(directory: Path, deploy: bool | None) -> Stack:
    """The local stack: brought up by ``make up``'s driver unless it runs deployed already.

    ``deploy`` None: ``up`` unless a running stack is already deployed (then it is used as it
    is); ``up`` itself starts warm when nothing changed since its last run. True: ``up --apply``
    even on a running stack. False: only the server is started, nothing applied.
    """
    try:
        stack = read_stack(directory)
    except ValueError:
        stack = None
    running = stack is not None and stack.serving
    if stack is not None and running and stack.pid is not None and not is_patched(stack.pid):
        say(
            "warning: the running moto server is a plain moto_server, whose own SQS->Lambda "
            "emulation receives messages behind the runtime's back (spurious DLQ moves). "
            "For a faithful run: `make down && make demo`."
        )
    if deploy is None:
        deploy = None if not running or stack is None or not _deployed(stack) else False
    if deploy is False:
        if running and stack is not None:
            say(f"local stack: reusing {stack.endpoint}")
            return stack
        stack, how = ensure_running(directory)
        say(f"local stack: moto {how} on {stack.endpoint} (pid {stack.pid}), nothing applied")
        return stack
    command = ["up", "--apply"] if deploy else ["up"]
    say(f"local stack: python -m tools.localstack {' '.join(command)}")
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tools.localstack", *command],
        cwd=REPO,
        env=stack_env(directory),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise CliError(f"`tools.localstack up` failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    warm = " (warm: nothing changed)" if "(warm)" in done.stdout else ""
    say(f"local stack: up in {time.monotonic() - began:.1f} s{warm}")
    stack = read_stack(directory)
    if stack is None:
        raise CliError(f"no {directory / 'moto.json'} after bringing the stack up")
    return stack


def _runtime_state(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_runtime(directory: Path, endpoint: str, region: str, timeout: float = 120.0) -> int:
    """The pid of a runtime polling every service of ``endpoint``, started in the background."""
    state_file = directory / "runtime.json"
    log_dir = directory / "logs"
    state = _runtime_state(state_file)
    if state and state.get("endpoint") == endpoint and _alive(int(state.get("pid", 0))):
        pid = int(state["pid"])
        say(f"runtime: reusing pid {pid}")
    else:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / "runtime.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tools.runtime",
                    "--endpoint",
                    endpoint,
                    "--region",
                    region,
                    "--refresh",
                    "5",
                    "--log-dir",
                    str(log_dir),
                    "--state-file",
                    str(state_file),
                    # live code: an edited handler runs with the next invocation
                    *(f"--live={overlay}" for overlay in live_overlays()),
                ],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # keeps running for mediactl after the demo
            )
        pid = process.pid
        say(f"runtime: started pid {pid} (log {log_path}, function logs in {log_dir})")
    deadline = time.monotonic() + timeout
    while True:
        state = _runtime_state(state_file)
        running = {m["service"] for m in (state or {}).get("mappings", [])}
        if state and state.get("pid") == pid and set(SERVICES) <= running:
            say(f"runtime: polling {', '.join(sorted(running))}")
            return pid
        if not _alive(pid) or time.monotonic() > deadline:
            tail = (log_dir / "runtime.log").read_text(errors="replace")[-3000:]
            raise CliError(f"the runtime did not start polling every service:\n{tail}")
        time.sleep(0.25)


# --- waiting -----------------------------------------------------------------------------------


@dataclass
class Progress:
    upload: Upload
    record: AssetRecord | None = None
    finished_at: float | None = None

    @property
    def status(self) -> str:
        return self.record.status if self.record else "not indexed yet"

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return self.finished_at - self.upload.uploaded_at


def wait_for_terminal(
    target: Target,
    uploads: list[Upload],
    timeout: float,
    show: Callable[[str], None] = say,
    poll: float = 0.2,
) -> list[Progress]:
    """Poll the index until every upload is terminal or ``timeout`` passes; show progress."""
    index = assets.index(target)
    progress = [Progress(u) for u in uploads]
    began = time.monotonic()
    last_line, last_shown = "", 0.0
    while True:
        now = time.time()
        for item in progress:
            if item.finished_at is not None:
                continue
            item.record = index.get(item.upload.asset_id)
            if item.record is not None and item.record.status in assets.TERMINAL:
                item.finished_at = now
        done = [p for p in progress if p.finished_at is not None]
        elapsed = time.monotonic() - began
        counts: dict[str, int] = {}
        for item in progress:
            counts[item.status] = counts.get(item.status, 0) + 1
        line = f"  [{elapsed:5.1f}s] {len(done)}/{len(progress)} finished: " + ", ".join(
            f"{n} {s}" for s, n in sorted(counts.items())
        )
        if line.split("] ", 1)[1] != last_line.split("] ", 1)[-1] or elapsed - last_shown >= 5:
            show(line)
            last_line, last_shown = line, elapsed
        if len(done) == len(progress) or elapsed >= timeout:
            return progress
        time.sleep(poll)


# --- the report --------------------------------------------------------------------------------


def result_rows(progress: list[Progress], expected: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for item in progress:
        record = item.record
        want = expected.get(item.upload.file.name)
        note = ""
        if record is not None and record.reason:
            note = record.reason
        if want and item.status != want:
            note = f"EXPECTED {want.upper()}" + (f" ({note})" if note else "")
        rows.append(
            {
                "asset": item.upload.asset_id,
                "file": item.upload.file.name,
                "status": item.status,
                "dimensions": assets.dimensions(record) if record else "-",
                "camera": assets.camera(record) if record else "-",
                "thumbnails": assets.thumbnails(record) if record else "-",
                "seconds": f"{item.seconds:.1f}" if item.seconds is not None else "-",
                "note": note,
            }
        )
    return rows


def download_thumbnails(target: Target, progress: list[Progress], folder: Path) -> int:
    count = 0
    for item in progress:
        if item.record is None:
            continue
        for rendition in item.record.thumbnails:
            bucket, key = rendition.get("bucket"), rendition.get("key")
            if not bucket or not key:
                continue
            destination = folder / f"{Path(item.upload.file.name).stem}-{Path(key).name}"
            destination.parent.mkdir(parents=True, exist_ok=True)
            body = target.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            destination.write_bytes(body)
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds to wait")
    deploying = parser.add_mutually_exclusive_group()
    deploying.add_argument(
        "--deploy",
        dest="deploy",
        action="store_true",
        default=None,
        help="apply the Terraform even to a running stack (default: only to a new one)",
    )
    deploying.add_argument(
        "--no-deploy", dest="deploy", action="store_false", help="never apply (skip `up`)"
    )
    parser.add_argument(
        "--stop-runtime", action="store_true", help="stop the background runtime at the end"
    )
    args = parser.parse_args(argv)
    began = time.monotonic()
    directory = stack_dir()
    try:
        stack = ensure_stack(directory, deploy=args.deploy)
        endpoint = stack.endpoint
        target = resolve_target(endpoint=endpoint, environment="local")
        runtime_pid = ensure_runtime(directory, endpoint, target.region)
        run = time.strftime("%Y%m%d-%H%M%S")
        folder = directory / "demo" / run
        folder.mkdir(parents=True, exist_ok=True)
        files = samples()
        for sample in files:
            (folder / sample.name).write_bytes(sample.data)
        say(f"\nuploading {len(files)} samples (generated in {folder}):")
        for sample in files:
            say(f"  {sample.name:<22} {len(sample.data):>9,} bytes  {sample.what}")
        uploads = upload(target, [folder / s.name for s in files], prefix=f"demo/{run}/")
        say(f"to s3://{uploads[0].bucket}/demo/{run}/; waiting for every one to finish:")
        progress = wait_for_terminal(target, uploads, args.timeout)
    except (CliError, StackError) as error:
        say(f"demo: error: {error}")
        return 1
    expected = {s.name: s.expected for s in files}
    rows = result_rows(progress, expected)
    say("")
    say(
        assets.table(
            rows,
            ["asset", "file", "status", "dimensions", "camera", "thumbnails", "seconds", "note"],
        )
    )
    derived = target.bucket("derived")
    originals = target.bucket("originals")
    copies = download_thumbnails(target, progress, folder / "thumbnails")
    say("")
    say(f"thumbnails:  s3://{derived}/thumbnails/<asset>/<size>.<format>")
    say(f"             copies of all {copies} in {folder / 'thumbnails'}")
    say(f"originals:   s3://{originals}/originals/<asset>")
    say(f"rejected:    s3://{originals}/quarantine/<asset>/<file>")
    say(f"explore:     .venv/bin/mediactl list | status <asset> | tail | dlq list  ({endpoint})")
    say(f"logs:        {directory / 'logs'} (runtime.log and one file per function)")
    page = (_runtime_state(directory / "runtime.json") or {}).get("http")
    if page:
        say(f"web page:    {page}/  (upload from a browser; the gallery of indexed images)")
    unfinished = [p for p in progress if p.finished_at is None]
    wrong = [r for r in rows if r["note"].startswith("EXPECTED")]
    latencies = sorted(p.seconds for p in progress if p.seconds is not None)
    if latencies:
        say(
            f"upload to terminal: min {latencies[0]:.1f} s, median "
            f"{latencies[len(latencies) // 2]:.1f} s, max {latencies[-1]:.1f} s"
        )
    say(f"demo wall time: {time.monotonic() - began:.1f} s")
    if args.stop_runtime:
        with contextlib.suppress(ProcessLookupError):
            os.kill(runtime_pid, 15)
    else:
        say(
            f"the runtime (pid {runtime_pid}) and the stack keep running: `make down` stops "
            "the stack, and the runtime follows"
        )
    if unfinished:
        names = ", ".join(p.upload.file.name for p in unfinished)
        say(f"demo: FAILED: not finished within {args.timeout:.0f} s: {names}")
        return 1
    if wrong:
        say(f"demo: FAILED: {len(wrong)} sample(s) not in their expected state")
        return 1
    say("demo: every sample reached its expected state")
    return 0


if __name__ == "__main__":
    sys.exit(main())
