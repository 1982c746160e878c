"""Where the benchmark runs: the machine's facts, and child processes measured from outside."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "bench"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def libvips_version() -> str | None:
    """libvips's version as pyvips sees it, asked in a throwaway process (never loaded here)."""
    code = "import pyvips; print('%d.%d.%d' % tuple(pyvips.version(i) for i in range(3)))"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def facts() -> dict[str, Any]:
    from PIL import __version__ as pillow_version
    from PIL import features

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "pillow": pillow_version,
        "pillow_libwebp": features.version("webp"),
        "pillow_libjpeg": features.version("jpg"),
        "libvips": libvips_version(),
        "platform": platform.platform(),
        "load_average": _load_average(),
    }


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _load_average() -> str | None:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return None


@dataclass(frozen=True)
class ChildRun:
    """A finished child process: its exit code, output, peak RSS and times from ``wait4``."""

    code: int
    stdout: str
    stderr: str
    max_rss_mb: float
    wall_s: float
    user_s: float
    system_s: float

    def json(self) -> Any:
        """The last line of stdout, parsed (children print one JSON document last)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        if self.code != 0 or not lines:
            raise ChildError(
                f"child exited {self.code}:\n{self.stderr[-3000:]}\n{self.stdout[-1000:]}"
            )
        return json.loads(lines[-1])


class ChildError(RuntimeError):
    """A measured child process failed."""


def own_peak_rss_mb() -> float | None:
    """This process's peak resident set (Linux ``VmHWM``), in MB; None where /proc has none.

    Not the parent's ``wait4`` ``ru_maxrss``: Linux carries the high-water mark of the address
    space a child had before ``exec`` (the copy of its parent's) into the child's ``ru_maxrss``,
    so every child of a large parent reports at least the parent's size (the bench process holds
    the corpus: every method read the same 541.6 MB). ``VmHWM`` belongs to the address space
    ``exec`` created, so it is the child's own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_child(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO,
    timeout: float = 1800.0,
) -> ChildRun:
    """Run ``command`` and measure it with ``wait4``: peak RSS (ru_maxrss) of that child alone."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        began = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(
            code=process.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            max_rss_mb=usage.ru_maxrss / 1024,
            wall_s=wall,
            user_s=usage.ru_utime,
            system_s=usage.ru_stime,
        )
