"""Factories for the AWS-owned events the pipeline receives: S3 "Object Created" via EventBridge.

Shaped like the events S3 sends to EventBridge (the default bus), so a test can hand one to ingest
exactly as SQS would (in a ``tests.support.events.sqs_batch``). ``encode_key=True`` writes the key
the way S3 event notifications encode it (``+`` for a space, ``%XX`` for other bytes), to prove
the consumer decodes deliberately.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote_plus

ACCOUNT = "123456789012"
REGION = "us-east-1"


def encode_key(key: str) -> str:
    """A key as S3 event notifications carry it: form-encoded, slashes kept."""
    return quote_plus(key, safe="/")


def object_created(
    bucket: str,
    key: str,
    *,
    size: int | None,
    version_id: str | None = None,
    etag: str = "d41d8cd98f00b204e9800998ecf8427e",
    encode: bool = False,
    event_id: str | None = None,
    time: str = "2026-11-23T10:15:29Z",
    reason: str = "PutObject",
    account: str = ACCOUNT,
    region: str = REGION,
) -> dict[str, Any]:
    """An EventBridge "Object Created" event for ``s3://bucket/key``."""
    obj: dict[str, Any] = {
        "key": encode_key(key) if encode else key,
        "etag": etag,
        "sequencer": "0062E99A88DC407460",
    }
    if size is not None:
        obj["size"] = size
    if version_id is not None:
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": time,
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": account,
            "source-ip-address": "203.0.113.15",
            "reason": reason,
        },
    }
