"""Identifiers every service derives the same way."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any, Final

# Every deterministic event id is a uuid5 in this one namespace.
EVENT_ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "urn:media-pipeline:event-id")


def asset_id(bucket: str, key: str, version_id: str | None) -> str:
    """Deterministic, version-aware id of one upload: 32 lowercase hex characters.

    The same (bucket, key, version) always maps to the same asset, so a duplicate delivery of one
    upload is recognised; a second upload of the same key is a new version, hence a new asset.
    """
    material = f"{bucket}\n{key}\n{version_id or 'null'}".encode()
    return hashlib.sha256(material).hexdigest()[:32]


def stable_event_id(
    producer: str, name: str, causation_id: str | None = None, data: Any = None
) -> str:
    """A deterministic event id (a UUID): the same inputs always give the same id.

    What goes in decides which events count as the same one, so each producer chooses:

    * one fact per asset, whatever delivery or code path states it (ingest's AssetIngested and
      AssetRejected, the indexer's AssetIndexed): ``data={"asset_id": ...}`` and no causation id;
    * facts derived from one triggering event (ThumbnailsGenerated, MetadataExtracted): that
      event's id and the facts themselves, so a duplicate delivery republishes the same id.

    ``data`` is taken as canonical JSON (sorted keys), so key order never changes the id.
    """
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{producer}\n{name}\n{causation_id}\n{canonical}"))
