"""Publish a test event to the bus: from a file or an example in ``schemas/``, validated first."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_shared import InvalidEventError, SchemaCatalog
from media_shared.envelope import utc_now
from tools.cli.errors import CliError
from tools.localstack.record import REPO
from tools.localstack.target import Target

SCHEMAS = REPO / "schemas"


@dataclass(frozen=True)
class Published:
    event_id: str
    detail_type: str
    source: str
    bus: str
    origin: str


def example_path(spec: str, schemas: Path = SCHEMAS) -> Path:
    """``Name`` / ``Name/variant`` / ``Name/vN/variant`` -> the example file it names."""
    parts = spec.strip("/").split("/")
    name = parts[0]
    folder = schemas / "events" / name
    if not folder.is_dir():
        known = ", ".join(sorted(p.name for p in (schemas / "events").iterdir() if p.is_dir()))
        raise CliError(f"no event named {name!r} (and no such file); events: {known}")
    majors = sorted(
        (int(p.name[1:]) for p in (folder / "examples").glob("v*") if p.name[1:].isdigit()),
        reverse=True,
    )
    if not majors:
        raise CliError(f"{name} has no examples under {folder / 'examples'}")
    major, variant = majors[0], "valid-basic"
    if len(parts) == 2:
        variant = parts[1]
    elif len(parts) == 3 and parts[1].startswith("v") and parts[1][1:].isdigit():
        major, variant = int(parts[1][1:]), parts[2]
    elif len(parts) > 1:
        raise CliError(f"cannot read {spec!r}: expected NAME, NAME/VARIANT or NAME/vN/VARIANT")
    variant = variant.removesuffix(".json")
    path = folder / "examples" / f"v{major}" / f"{variant}.json"
    if not path.is_file():
        available = ", ".join(p.stem for p in sorted(path.parent.glob("*.json")))
        raise CliError(f"no example {variant!r} for {name} v{major}; examples: {available}")
    return path


def load_event(spec: str, schemas: Path = SCHEMAS) -> tuple[dict[str, Any], str]:
    """The event a file path or example name designates, and where it came from."""
    candidate = Path(spec)
    path = candidate if candidate.is_file() else example_path(spec, schemas)
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CliError(f"{path} is not JSON: {error}") from None
    if not isinstance(event, dict):
        raise CliError(f"{path} does not hold a JSON object (an EventBridge event)")
    return event, str(path)


def refresh_ids(event: dict[str, Any]) -> dict[str, Any]:
    """A copy with a new event id and time, so consumers do not take it for a duplicate."""
    fresh: dict[str, Any] = json.loads(json.dumps(event))
    metadata = fresh.get("detail", {}).get("metadata")
    if isinstance(metadata, dict):
        metadata["event_id"] = str(uuid.uuid4())
        metadata["time"] = utc_now()
    fresh["id"] = str(uuid.uuid4())
    return fresh


def validate(event: dict[str, Any], catalog: SchemaCatalog) -> str:
    """The schema the event passes; CliError with the validator's message when it does not."""
    try:
        schema = catalog.validate(event)
    except InvalidEventError as error:
        raise CliError(f"refusing to publish an invalid event: {error}") from None
    return schema.registry_name


def publish(
    target: Target,
    event: dict[str, Any],
    *,
    origin: str = "(event)",
    catalog: SchemaCatalog | None = None,
) -> Published:
    """Validate ``event`` against its schema, then put it on the media bus."""
    validate(event, catalog or SchemaCatalog(SCHEMAS))
    bus = target.bus_name
    response = target.events.put_events(
        Entries=[
            {
                "Source": str(event["source"]),
                "DetailType": str(event["detail-type"]),
                "Detail": json.dumps(event["detail"], separators=(",", ":")),
                "Resources": [str(r) for r in event.get("resources", [])],
                "EventBusName": bus,
            }
        ]
    )
    entry = response["Entries"][0]
    if response.get("FailedEntryCount") or "EventId" not in entry:
        raise CliError(
            f"the bus refused the event: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
        )
    return Published(
        event_id=entry["EventId"],
        detail_type=str(event["detail-type"]),
        source=str(event["source"]),
        bus=bus,
        origin=origin,
    )
