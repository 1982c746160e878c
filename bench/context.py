"""What every section gets: repetitions, the machine's facts, where to say things, notes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _print(message: str) -> None:
    print(message, flush=True)


@dataclass
class Context:
    reps: int = 5
    machine: dict[str, Any] = field(default_factory=dict)
    say: Callable[[str], None] = _print
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    vips_missing: str = "not installed (apt-get install libvips42; pip install pyvips)"
    e2e_count: int = 100
    e2e_timeout: float = 900.0
    cold_runs: int = 3
