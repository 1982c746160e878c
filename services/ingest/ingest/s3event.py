"""S3's "Object Created" event as EventBridge delivers it: AWS's contract, not one of ours.

Our schemas do not cover it, so ingest checks its shape here and hands the consumer an
``InboundEvent`` without a schema. An event of the wrong shape is an InvalidEventError: parked in
the DLQ, never retried.

The object key is kept exactly as received (``raw_key``). S3 may deliver it URL-encoded (``+`` for
a space, ``%XX`` for other bytes) and some emulators deliver it raw, so the key is decoded
deliberately later, against the bucket (see ``ingest.logic.Ingestor.locate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from media_shared import InboundEvent, InvalidEventError

SOURCE = "aws.s3"
DETAIL_TYPE = "Object Created"


@dataclass(frozen=True)
class ObjectCreated:
    """The facts ingest needs from one "Object Created" event."""

    event_id: str
    time: str | None
    bucket: str
    raw_key: str
    size: int | None
    version_id: str | None
    etag: str | None

    @property
    def decoded_key(self) -> str:
        """The key URL-decoded the way S3 event notifications encode it."""
        return unquote_plus(self.raw_key)

    @property
    def candidate_keys(self) -> tuple[str, ...]:
        """Keys the object may have, most likely first: decoded, then raw if that differs."""
        decoded = self.decoded_key
        return (decoded,) if decoded == self.raw_key else (decoded, self.raw_key)

    def idempotency_payload(self) -> dict[str, str | None]:
        """What makes two deliveries "the same upload": bucket, key as sent, version."""
        return {"bucket": self.bucket, "key": self.raw_key, "version_id": self.version_id}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ObjectCreated:
        """Read the event, or raise InvalidEventError saying what is wrong with it."""
        if event.get("source") != SOURCE:
            raise InvalidEventError(
                f"S3 event: source must be {SOURCE!r}, got {event.get('source')!r}", path="source"
            )
        if event.get("detail-type") != DETAIL_TYPE:
            raise InvalidEventError(
                f"S3 event: detail-type must be {DETAIL_TYPE!r}, got {event.get('detail-type')!r}",
                path="detail-type",
            )
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise InvalidEventError("S3 event: id is missing", path="id")
        detail = _mapping(event.get("detail"), "detail")
        bucket = _mapping(detail.get("bucket"), "detail/bucket")
        obj = _mapping(detail.get("object"), "detail/object")
        name = bucket.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidEventError(
                "S3 event: detail/bucket/name is missing", path="detail/bucket/name"
            )
        key = obj.get("key")
        if not isinstance(key, str) or not key:
            raise InvalidEventError(
                "S3 event: detail/object/key is missing", path="detail/object/key"
            )
        size = obj.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise InvalidEventError(
                f"S3 event: detail/object/size must be a non-negative integer, got {size!r}",
                path="detail/object/size",
            )
        time = event.get("time")
        return cls(
            event_id=event_id,
            time=time if isinstance(time, str) else None,
            bucket=name,
            raw_key=key,
            size=size,
            version_id=_optional_str(obj.get("version-id"), "detail/object/version-id"),
            etag=_optional_str(obj.get("etag"), "detail/object/etag"),
        )


def parse_object_created(event: dict[str, Any]) -> InboundEvent:
    """EventConsumer's ``parse``: check the shape of S3's event; there is no schema to name."""
    ObjectCreated.from_event(event)
    return InboundEvent(event=event, schema=None)


def _mapping(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidEventError(f"S3 event: {path} must be an object", path=path)
    return value


def _optional_str(value: object, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidEventError(f"S3 event: {path} must be a non-empty string", path=path)
    return value
