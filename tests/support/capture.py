"""Every event published through EventPublisher during a test session (filled by conftest.py).

In one process, :data:`PUBLISHED` holds them. ``make unit`` runs its tests on several workers
(pytest-xdist) and the published-events contract after them, in a process of its own: with
``MEDIA_PUBLISHED_DIR`` set, every process also appends what it saw to a JSON-lines file of its
own in that folder, and :func:`published` reads them all back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PUBLISHED: list[dict[str, Any]] = []
DIR_VARIABLE = "MEDIA_PUBLISHED_DIR"


def folder() -> Path | None:
    """The folder shared by the processes of one run (``MEDIA_PUBLISHED_DIR``), if any."""
    configured = os.environ.get(DIR_VARIABLE)
    return Path(configured) if configured else None


def record(events: list[dict[str, Any]]) -> None:
    """Keep ``events``: in this process, and in this process's file of the run's folder."""
    PUBLISHED.extend(events)
    shared = folder()
    if shared is None or not events:
        return
    shared.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with (shared / f"{worker}-{os.getpid()}.jsonl").open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(event) + "\n" for event in events)


def published() -> list[dict[str, Any]]:
    """What this process published, then what every process of the run wrote to the folder."""
    shared = folder()
    if shared is None:
        return list(PUBLISHED)
    found: list[dict[str, Any]] = []
    for path in sorted(shared.glob("*.jsonl")):
        if path.name.endswith(f"-{os.getpid()}.jsonl"):
            continue  # this process's own events are PUBLISHED already
        with path.open(encoding="utf-8") as lines:
            found.extend(json.loads(line) for line in lines if line.strip())
    return list(PUBLISHED) + found
