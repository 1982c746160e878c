"""Merging partial facts about an asset into its index record: pure functions, no AWS.

Each fact lives in its own attribute (``ingested``, ``metadata``, ``thumbnails``, ``rejection``,
and ``failure`` keyed by the failing service), stored as ``{"event_id", "time", "data"}``. When
two different facts compete for one attribute, the later one wins, by (time, event id): a total
order, so the winner does not depend on arrival order. A duplicate changes nothing: the same
event id is the same event even when a re-run produced it again with a later time, and of two
copies of one event the earliest stands (so that too does not depend on arrival order).

Every other attribute is *derived* from the facts alone (:func:`derive`), so the record is a
function of the set of facts received, whatever their order and however often each arrived:

* ``status``: rejected if rejected; else indexed once original + metadata + thumbnails are all
  present; else failed if any service reported a failure; else pending;
* ``updated_at``: the latest fact's time (producer time, normalised to UTC with milliseconds);
* query keys: ``camera`` ("make#model", see ``media_shared.index.camera_key``), ``taken_at``,
  ``taken_year``, ``owner`` and ``owner_listing`` ("status#updated_at"): the owner is what
  ingest stated in AssetIngested or AssetRejected (the thumbnailer's and the extractor's events
  do not carry it; the indexer needs them not to). A record without either fact yet, or of an
  unowned upload, has no owner and is in no owner's listing; display fields: ``filename``,
  ``format``, ``width``, ``height``, ``camera_make``, ``camera_model``, ``original``, ``reason``;
* once indexed: ``indexed_event_id`` (derived from the asset id), ``indexed_at`` and
  ``indexed_causation_id`` (time and id of the latest of the three facts that completed it).

Only ``indexed_published`` (and the transient ``indexed_claimed_at``) record what the indexer did
rather than what it was told; see ``indexer.logic``. ``revision`` counts writes (it is the
optimistic-locking token), so it alone may differ between two histories of the same facts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from media_shared import InboundEvent, stable_event_id
from media_shared.index import (
    ASSET_ID,
    CAMERA,
    OWNER,
    OWNER_LISTING,
    STATUS,
    TAKEN_AT,
    TAKEN_YEAR,
    UPDATED_AT,
    Status,
    camera_key,
    normalise,
    owner_listing,
    taken_year,
)

INGESTED = "ingested"
METADATA = "metadata"
THUMBNAILS = "thumbnails"
REJECTION = "rejection"
FAILURE = "failure"

FACT_ATTRIBUTES: dict[str, str] = {
    "AssetIngested": INGESTED,
    "MetadataExtracted": METADATA,
    "ThumbnailsGenerated": THUMBNAILS,
    "AssetRejected": REJECTION,
    "ProcessingFailed": FAILURE,
}
COMPLETE = (INGESTED, METADATA, THUMBNAILS)

INDEXED_EVENT_ID = "indexed_event_id"
INDEXED_AT = "indexed_at"
INDEXED_CAUSATION_ID = "indexed_causation_id"
INDEXED_PUBLISHED = "indexed_published"
INDEXED_CLAIMED_AT = "indexed_claimed_at"
REVISION = "revision"

DERIVED = (
    STATUS,
    UPDATED_AT,
    CAMERA,
    TAKEN_AT,
    TAKEN_YEAR,
    "filename",
    "blurhash",
    "format",
    "width",
    "height",
    "camera_make",
    "camera_model",
    "original",
    "reason",
    OWNER,
    OWNER_LISTING,
    INDEXED_AT,
    INDEXED_CAUSATION_ID,
)
# What the indexer itself records; kept as is by derive().
BOOKKEEPING = (INDEXED_EVENT_ID, INDEXED_PUBLISHED, INDEXED_CLAIMED_AT, REVISION)

# The producer named in AssetIndexed's id: the service's name, fixed, so that configuration can
# never change the id of an asset's one AssetIndexed.
PRODUCER = "indexer"
_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")


def indexed_event_id(asset: str) -> str:
    """The id of an asset's one AssetIndexed event."""
    return stable_event_id(PRODUCER, "AssetIndexed", data={ASSET_ID: asset})


def normalise_time(value: str) -> str:
    """An RFC 3339 time as UTC with milliseconds, so that times compare as strings."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Fact:
    """One received event, reduced to what the record keeps."""

    asset_id: str
    attribute: str
    event_id: str
    time: str
    data: dict[str, Any]
    service: str | None = None

    def stored(self) -> dict[str, Any]:
        stored: dict[str, Any] = normalise(
            {"event_id": self.event_id, "time": self.time, "data": self.data}
        )
        return stored


def fact_from(inbound: InboundEvent) -> Fact | None:
    """The fact an event states, or None for an event that names no asset to index."""
    attribute = FACT_ATTRIBUTES.get(inbound.detail_type)
    if attribute is None:
        return None
    data = inbound.data
    asset = data.get("asset_id")
    if not isinstance(asset, str) or not _ASSET_ID.match(asset):
        return None
    metadata = inbound.metadata
    return Fact(
        asset_id=asset,
        attribute=attribute,
        event_id=str(metadata["event_id"]),
        time=normalise_time(str(metadata["time"])),
        data=dict(data),
        service=str(data.get("service")) if attribute == FAILURE else None,
    )


def _order(stored: Mapping[str, Any]) -> tuple[str, str]:
    return (str(stored.get("time", "")), str(stored.get("event_id", "")))


def _replaces(stored: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    """Whether ``stored`` takes the place of ``existing`` in one attribute."""
    if stored.get("event_id") == existing.get("event_id"):
        return str(stored.get("time", "")) < str(existing.get("time", ""))
    return _order(stored) > _order(existing)


def merge(current: Mapping[str, Any] | None, fact: Fact) -> dict[str, Any]:
    """The record after ``fact``; equal to ``current`` when the fact adds nothing."""
    item: dict[str, Any] = copy.deepcopy(dict(current)) if current else {ASSET_ID: fact.asset_id}
    stored = fact.stored()
    if fact.attribute == FAILURE:
        failures: dict[str, Any] = dict(item.get(FAILURE) or {})
        key = fact.service or "unknown"
        if key not in failures or _replaces(stored, failures[key]):
            failures[key] = stored
        item[FAILURE] = failures
    else:
        existing = item.get(fact.attribute)
        if existing is None or _replaces(stored, existing):
            item[fact.attribute] = stored
    return derive(item)


def _facts(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    facts = [item[name] for name in (INGESTED, METADATA, THUMBNAILS, REJECTION) if name in item]
    facts.extend((item.get(FAILURE) or {}).values())
    return facts


def _status(item: Mapping[str, Any]) -> Status:
    if REJECTION in item:
        return Status.REJECTED
    if all(name in item for name in COMPLETE):
        return Status.INDEXED
    if item.get(FAILURE):
        return Status.FAILED
    return Status.PENDING


def derive(facts_and_bookkeeping: Mapping[str, Any]) -> dict[str, Any]:
    """Recompute every derived attribute from the facts (and keep the bookkeeping)."""
    item = {k: v for k, v in facts_and_bookkeeping.items() if k not in DERIVED}
    asset = str(item[ASSET_ID])
    status = _status(item)
    item[STATUS] = str(status)
    item[UPDATED_AT] = max(str(fact["time"]) for fact in _facts(item))

    ingested = (item.get(INGESTED) or {}).get("data") or {}
    metadata = (item.get(METADATA) or {}).get("data") or {}
    thumbnails = (item.get(THUMBNAILS) or {}).get("data") or {}
    rejection = (item.get(REJECTION) or {}).get("data") or {}
    exif = metadata.get("exif") or {}
    display = {
        "filename": ingested.get("filename") or rejection.get("filename"),
        "format": metadata.get("format") or ingested.get("format"),
        "width": metadata.get("width") or ingested.get("width"),
        "height": metadata.get("height") or ingested.get("height"),
        "original": ingested.get("original"),
        "camera_make": exif.get("make"),
        "camera_model": exif.get("model"),
        TAKEN_AT: exif.get("taken_at") or None,
        # ThumbnailsGenerated 1.1: the placeholder a gallery shows while thumbnails load.
        "blurhash": thumbnails.get("blurhash") or None,
    }
    item.update({name: value for name, value in display.items() if value is not None})
    camera = camera_key(exif.get("make"), exif.get("model"))
    if camera is not None:
        item[CAMERA] = camera
    year = taken_year(item.get(TAKEN_AT))
    if year is not None:
        item[TAKEN_YEAR] = year
    owner = ingested.get(OWNER) or rejection.get(OWNER)
    if isinstance(owner, str) and owner:
        item[OWNER] = owner
        item[OWNER_LISTING] = owner_listing(item[STATUS], item[UPDATED_AT])
    if status is Status.REJECTED:
        item["reason"] = rejection.get("reason")
    elif status is Status.FAILED:
        failures = item[FAILURE]
        item["reason"] = ",".join(
            str(failures[service]["data"].get("reason")) for service in sorted(failures)
        )

    if status is Status.INDEXED:
        completing = max((item[name] for name in COMPLETE), key=_order)
        item[INDEXED_AT] = completing["time"]
        item[INDEXED_CAUSATION_ID] = completing["event_id"]
        if INDEXED_EVENT_ID not in item:
            item[INDEXED_EVENT_ID] = indexed_event_id(asset)
            item[INDEXED_PUBLISHED] = False
    return item


def asset_indexed_data(item: Mapping[str, Any]) -> dict[str, Any]:
    """The data of the AssetIndexed event for an indexed record."""
    original = item["original"]
    renditions = item[THUMBNAILS]["data"]["renditions"]
    return {
        "asset_id": item[ASSET_ID],
        "status": str(Status.INDEXED),
        "original": {
            "bucket": original["bucket"],
            "key": original["key"],
            "version_id": original.get("version_id"),
        },
        "filename": item.get("filename"),
        "format": item["format"],
        "width": item["width"],
        "height": item["height"],
        "camera_make": item.get("camera_make"),
        "camera_model": item.get("camera_model"),
        "taken_at": item.get(TAKEN_AT),
        "thumbnails": [
            {
                name: rendition[name]
                for name in ("size", "bucket", "key", "width", "height", "format", "bytes")
                if name in rendition
            }
            for rendition in renditions
        ],
        "indexed_at": item[INDEXED_AT],
        **({OWNER: item[OWNER]} if item.get(OWNER) else {}),
    }
