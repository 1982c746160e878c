"""Section 5: ``make up`` from nothing, timed, with where its time goes; warm up; hot reload.

"From nothing" is what ``make down`` leaves: no moto server, no Terraform state, no per-root
Terraform data directories (the provider plugin cache and CLI config under ``.local/`` stay, as
they do for a developer; a first-ever run also fills that cache). The bench runs
``python -m tools.localstack down`` then ``python -m tools.localstack up`` (what ``make up`` runs
after ``make setup``) with ``MEDIA_STACK_DIR=build/bench/stack``, so it never touches a
developer's own stack in ``.local/``. The stack is left running for section e2e, which stops it.

Then the developer's loop: ``make stop`` and ``make up`` with nothing changed, three times (the
warm start: the server restored from its snapshot, nothing applied), and the hot reload latency
of live code (``bench/livecode.py``: from saving an edited handler to the first invocation that
runs it), three rounds.

Where the time goes is read from the Terraform logs: the slowest resource creations, whose
durations are the AWS provider's confirmation waits (infra/README.md).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

from bench.context import Context
from bench.machine import BUILD, REPO
from bench.report import Row

STACK_DIR = BUILD / "stack"
GOAL_S = 60.0
WARM_GOAL_S = 10.0
RELOAD_GOAL_S = 5.0
WARM_ROUNDS = 3
_COMPLETE = re.compile(r"^(?P<address>\S+): Creation complete after (?P<time>[0-9hms]+)")
_UP = re.compile(r"local stack up in (?P<seconds>[0-9.]+) s")
_ROOT = re.compile(
    r"^\s+(?P<root>[a-z][\w-]*)\s+(?P<resources>\d+)\s+(?P<init>[\d.]+)s\s+(?P<apply>[\d.]+)s"
)


def stack_env() -> dict[str, str]:
    from tools.localstack import stack_env as env_of

    return env_of(STACK_DIR)


def down() -> None:
    driver("down")


def driver(command: str) -> tuple[float, str]:
    """``tools.localstack COMMAND`` on the bench's stack directory: (wall seconds, its output)."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tools.localstack", command],
        cwd=REPO,
        env=stack_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - began
    if done.returncode != 0:
        tail = f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        raise RuntimeError(f"tools.localstack {command} failed:\n{tail}")
    return seconds, done.stdout


def up() -> tuple[float, str]:
    return driver("up")


def _seconds(text: str) -> int:
    total = 0
    for amount, unit in re.findall(r"(\d+)([hms])", text):
        total += int(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def slowest_creations(log_dir: Path, count: int = 4) -> list[tuple[str, str, int]]:
    """(root, resource address, seconds) of the longest resource creations in the logs."""
    found: list[tuple[str, str, int]] = []
    for log in sorted(log_dir.glob("*.log")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            match = _COMPLETE.match(line.strip())
            if match:
                found.append((log.stem, match["address"], _seconds(match["time"])))
    found.sort(key=lambda item: -item[2])
    return found[:count]


def run(ctx: Context) -> list[Row]:
    ctx.say(f"  tools.localstack down, then up (MEDIA_STACK_DIR={STACK_DIR.relative_to(REPO)})")
    down()
    seconds, output = up()
    timeline = next(
        (line.strip() for line in output.splitlines() if line.strip().startswith("timeline:")),
        "",
    )
    reported = _UP.search(output)
    ctx.say(f"  make up from nothing: {seconds:.1f} s ({timeline or 'no timeline printed'})")
    slow = slowest_creations(STACK_DIR / "terraform" / "logs")
    waits = "; ".join(f"{root} {address} {secs} s" for root, address, secs in slow)
    roots = ", ".join(
        f"{m['root']} {m['resources']} resources, init {m['init']} s, apply {m['apply']} s"
        for m in (_ROOT.match(line) for line in output.splitlines())
        if m and m["root"] != "total"
    )
    ctx.notes.append(
        f"up: {seconds:.0f} s wall ({reported['seconds'] if reported else '?'} s by its own "
        f"clock); {timeline}; per root: {roots}; slowest creations (provider confirmation "
        f"waits): {waits}"
    )
    ctx.details["up"] = {"seconds": seconds, "output": output[-4000:]}
    rows = [Row("up/make up from nothing", "s", seconds, GOAL_S, "goal")]

    warm: list[float] = []
    for _ in range(WARM_ROUNDS):
        driver("stop")
        took, said = up()
        if "(warm)" not in said:
            raise RuntimeError(f"make up after make stop was not warm:\n{said[-3000:]}")
        warm.append(took)
    ctx.say(f"  make up warm (after make stop, nothing changed): {_listed(warm)} s")
    rows.append(
        Row("up/make up warm (stopped, unchanged), median", "s", median(warm), WARM_GOAL_S, "goal")
    )

    from bench import livecode
    from tools.localstack import read_stack

    stack = read_stack(STACK_DIR)
    assert stack is not None
    reload = livecode.measure(stack.endpoint, rounds=WARM_ROUNDS)
    ctx.say(f"  hot reload (save to the first invocation of the new code): {_listed(reload)} s")
    rows.append(
        Row(
            "up/hot reload save to next invocation, median",
            "s",
            median(reload),
            RELOAD_GOAL_S,
            "goal",
        )
    )
    ctx.notes.append(
        f"up: warm make up {_listed(warm)} s (make stop then make up, nothing changed); "
        f"hot reload {_listed(reload)} s (live code, save to the first invocation running it)"
    )
    ctx.details["warm"] = {"seconds": warm, "reload_seconds": reload}
    if not os.environ.get("BENCH_KEEP_STACK"):
        driver("stop")  # no server left behind; the e2e section starts it again, warm
    return rows


def _listed(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)
