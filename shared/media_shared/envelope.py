"""Building the events services publish: ``detail`` = ``{"metadata": ..., "data": ...}``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from media_shared.ids import stable_event_id
from media_shared.schemas import EventSchema

SOURCE_PREFIX = "media."


def source_for(service: str) -> str:
    """EventBridge ``source`` of everything ``service`` publishes."""
    return f"{SOURCE_PREFIX}{service}"


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Event:
    """An event ready to publish: what PutEvents needs, and the whole event as consumers see it."""

    source: str
    detail_type: str
    detail: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.detail["metadata"]["event_id"])

    @property
    def asset_id(self) -> str:
        return str(self.detail["metadata"]["correlation_id"])

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.detail["data"]
        return data

    def as_event(self) -> dict[str, Any]:
        """The event as a rule or a consumer sees it (less the fields EventBridge adds)."""
        return {"source": self.source, "detail-type": self.detail_type, "detail": self.detail}

    def detail_json(self) -> str:
        return json.dumps(self.detail, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def build_event(
    schema: EventSchema,
    *,
    producer: str,
    data: Mapping[str, Any],
    correlation_id: str,
    causation_id: str | None,
    event_id: str | None = None,
    time: str | None = None,
) -> Event:
    """Wrap ``data`` in the envelope of ``schema``'s current version, published by ``producer``."""
    metadata = {
        "event_id": event_id or str(uuid.uuid4()),
        "schema": schema.name,
        "schema_version": schema.version,
        "producer": producer,
        "time": time or utc_now(),
        "correlation_id": correlation_id,
        "causation_id": causation_id,
    }
    return Event(
        source=source_for(producer),
        detail_type=schema.name,
        detail={"metadata": metadata, "data": dict(data)},
    )


def derived_event(
    schema: EventSchema,
    *,
    producer: str,
    data: Mapping[str, Any],
    correlation_id: str,
    causation_id: str | None,
) -> Event:
    """``build_event`` for facts that follow from the event that caused them.

    The id is derived from the producer, the event name, the cause and the facts
    (``stable_event_id``), so a redelivery of the cause republishes the same event, same id.
    """
    return build_event(
        schema,
        producer=producer,
        data=data,
        correlation_id=correlation_id,
        causation_id=causation_id,
        event_id=stable_event_id(producer, schema.name, causation_id, data),
    )
