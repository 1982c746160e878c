"""How the services that read originals take the original an AssetIngested announces."""

from __future__ import annotations

import pytest

from media_shared import InboundEvent, InvalidEventError, UnexpectedBucketError
from media_shared.originals import Original, ingested_original
from tests.support.events import example

ORIGINALS = "media-dev-originals"


def inbound(name: str = "AssetIngested") -> InboundEvent:
    return InboundEvent(event=example(name), schema=None)


def test_an_asset_ingested_names_its_original_and_asset() -> None:
    event = inbound()
    data = event.data

    original = ingested_original(
        event, service="thumbnailer", originals_bucket=data["original"]["bucket"]
    )

    assert original == Original(
        asset_id=data["asset_id"],
        bucket=data["original"]["bucket"],
        key=data["original"]["key"],
        version_id=data["original"].get("version_id"),
    )


def test_any_other_event_is_invalid_for_the_service() -> None:
    with pytest.raises(InvalidEventError) as caught:
        ingested_original(
            inbound("MetadataExtracted"), service="thumbnailer", originals_bucket=ORIGINALS
        )

    assert caught.value.reason == "invalid_event"
    assert "the thumbnailer handles AssetIngested events, not MetadataExtracted" in str(
        caught.value
    )


def test_an_original_outside_the_originals_bucket_is_refused() -> None:
    event = inbound()
    event.data["original"]["bucket"] = "media-dev-uploads"

    with pytest.raises(UnexpectedBucketError) as caught:
        ingested_original(event, service="metadata-extractor", originals_bucket=ORIGINALS)

    assert caught.value.reason == "unexpected_bucket"
