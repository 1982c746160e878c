"""The original an AssetIngested announces, taken the same way by every service that reads it.

The thumbnailer and the metadata-extractor both start from an AssetIngested and read the
original it names; both refuse any other event, and any original outside the originals bucket
they were configured with (a service must never be pointed at a bucket it does not own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from media_shared.consumer import InboundEvent
from media_shared.exceptions import InvalidEventError, UnexpectedBucketError

ASSET_INGESTED: Final = "AssetIngested"


@dataclass(frozen=True)
class Original:
    """One accepted upload's original: where it is, and the asset it is."""

    asset_id: str
    bucket: str
    key: str
    version_id: str | None


def ingested_original(inbound: InboundEvent, *, service: str, originals_bucket: str) -> Original:
    """The original ``inbound`` (an AssetIngested) announces, in ``originals_bucket``.

    Raises InvalidEventError for any other event, UnexpectedBucketError for an original anywhere
    but ``originals_bucket`` (both permanent: the message is parked, never retried).
    """
    if inbound.detail_type != ASSET_INGESTED:
        raise InvalidEventError(
            f"the {service} handles {ASSET_INGESTED} events, not {inbound.detail_type}",
            schema=inbound.detail_type,
        )
    data = inbound.data
    original = data["original"]
    if original["bucket"] != originals_bucket:
        raise UnexpectedBucketError(
            f"original s3://{original['bucket']}/{original['key']} is not in the originals "
            f"bucket {originals_bucket}"
        )
    return Original(
        asset_id=str(data["asset_id"]),
        bucket=str(original["bucket"]),
        key=str(original["key"]),
        version_id=original.get("version_id"),
    )
