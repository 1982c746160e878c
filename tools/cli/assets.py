"""Read the asset index: one asset's record, recent assets, and how to show them."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from media_shared.index import AssetIndex, AssetRecord, Status
from tools.cli.errors import CliError
from tools.localstack.target import Target

TERMINAL = frozenset({Status.INDEXED.value, Status.REJECTED.value, Status.FAILED.value})


def index(target: Target) -> AssetIndex:
    return AssetIndex(target.dynamodb, target.index_table)


def get_asset(target: Target, asset_id: str) -> AssetRecord:
    record = index(target).get(asset_id)
    if record is None:
        raise CliError(
            f"asset {asset_id} is not in the index {target.index_table} (not uploaded, or not "
            "seen by the indexer yet)"
        )
    return record


def list_assets(target: Target, status: str | None = None, limit: int = 20) -> list[AssetRecord]:
    """Most recently updated first; every status unless one is given."""
    statuses = [s.value for s in Status]
    if status is not None and status not in statuses:
        raise CliError(f"unknown status {status!r}; one of: {', '.join(statuses)}")
    found = index(target)
    streams: list[Iterator[AssetRecord]] = [
        found.by_status(s, limit=limit) for s in ([status] if status else statuses)
    ]
    merged = heapq.merge(*streams, key=lambda r: r.updated_at, reverse=True)
    return [record for _, record in zip(range(limit), merged, strict=False)]


def camera(record: AssetRecord) -> str:
    parts = [p for p in (record.camera_make, record.camera_model) if p]
    return " ".join(parts) if parts else "-"


def dimensions(record: AssetRecord) -> str:
    if record.width and record.height:
        return f"{record.width}x{record.height}"
    return "-"


def thumbnails(record: AssetRecord) -> str:
    sizes = sorted(int(r["size"]) for r in record.thumbnails if "size" in r)
    return ",".join(str(s) for s in sizes) if sizes else "-"


def summary(record: AssetRecord) -> dict[str, Any]:
    """The fields a person looks at first."""
    return {
        "asset": record.asset_id,
        "status": record.status,
        "file": record.filename or "-",
        "format": record.format or "-",
        "dimensions": dimensions(record),
        "camera": camera(record),
        "taken_at": record.taken_at or "-",
        "thumbnails": thumbnails(record),
        "reason": record.reason or "-",
        "updated_at": record.updated_at,
    }


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A plain aligned text table."""
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
