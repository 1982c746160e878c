"""What the reliability tests do to the stack and read back from it.

Uploads are plain ``PutObject`` calls with any key and content type (as a client would make
them); results are read from the index, the buckets and the bus, the way an operator would.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from media_shared.ids import asset_id
from media_shared.index import AssetIndex, AssetRecord
from tools.localstack import Target

TERMINAL = {"indexed", "rejected", "failed"}
# Which service queues receive each event (the rules of services/*/infra); S3's own event goes to
# ingest. Used to deliver an event again, as EventBridge or SQS may.
CONSUMERS = {
    "Object Created": ("ingest",),
    "AssetIngested": ("thumbnailer", "metadata-extractor", "indexer"),
    "ThumbnailsGenerated": ("indexer",),
    "MetadataExtracted": ("indexer",),
    "AssetRejected": ("indexer",),
    "ProcessingFailed": ("indexer",),
}


@dataclass(frozen=True)
class Put:
    """One upload a test made."""

    name: str
    key: str
    version_id: str | None
    asset_id: str
    size: int
    at: float


def unique_prefix(label: str) -> str:
    return f"reliability/{label}/{uuid.uuid4().hex[:8]}/"


def put(
    target: Target, key: str, data: bytes, content_type: str = "application/octet-stream"
) -> Put:
    bucket = target.bucket("uploads")
    response = target.s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    version = response.get("VersionId")
    return Put(
        name=key.rsplit("/", 1)[-1],
        key=key,
        version_id=version,
        asset_id=asset_id(bucket, key, version),
        size=len(data),
        at=time.time(),
    )


def now() -> datetime:
    return datetime.now(UTC)


def record(target: Target, asset: str) -> AssetRecord | None:
    return AssetIndex(target.dynamodb, target.index_table).get(asset)


def finished(found: AssetRecord | None) -> bool:
    """Terminal, and for an indexed asset its AssetIndexed published."""
    if found is None or found.status not in TERMINAL:
        return False
    return found.status != "indexed" or found.item.get("indexed_published") is True


def wait_terminal(
    target: Target, assets: Iterable[str], timeout: float = 120
) -> dict[str, AssetRecord]:
    """Every asset's record once all are terminal; AssertionError listing the rest on timeout."""
    pending = list(dict.fromkeys(assets))
    done: dict[str, AssetRecord] = {}
    deadline = time.monotonic() + timeout
    while pending:
        for asset in list(pending):
            found = record(target, asset)
            if finished(found):
                assert found is not None
                done[asset] = found
                pending.remove(asset)
        if pending and time.monotonic() > deadline:
            states = {a: (r.status if (r := record(target, a)) else None) for a in pending}
            raise AssertionError(f"not terminal after {timeout:.0f}s: {states}")
        if pending:
            time.sleep(0.25)
    return done


def versions(target: Target, bucket: str, prefix: str) -> list[dict[str, Any]]:
    """Every version (not delete markers) under ``prefix``."""
    found: list[dict[str, Any]] = []
    paginator = target.s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        found.extend(dict(v) for v in page.get("Versions", []))
    return found


def for_asset(events: Iterable[dict[str, Any]], asset: str) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e.get("detail", {}).get("metadata", {}).get("correlation_id") == asset
        or e.get("detail", {}).get("data", {}).get("asset_id") == asset
    ]


def deliver_again(target: Target, queue_urls: dict[str, str], event: dict[str, Any]) -> int:
    """Send ``event`` (as EventBridge delivered it) to every queue that consumes it; how many."""
    sent = 0
    for service in CONSUMERS.get(str(event.get("detail-type")), ()):
        target.sqs.send_message(QueueUrl=queue_urls[service], MessageBody=json.dumps(event))
        sent += 1
    return sent
