"""The metadata-extractor in one process: SQS batch -> lambda_handler -> the bus, on moto."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from media_shared.exceptions import ConfigurationError
from tests.support import images
from tests.support.aws import attributes, of_type
from tests.support.events import example, sqs_batch
from tests.support.images import ASCII, RATIONAL, Tag

Handler = Callable[..., ModuleType]
SYDNEY = (-33.8568, 151.2153)


def test_an_ingested_photo_gets_one_metadata_extracted_event(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given a rotated camera JPEG with GPS in the originals bucket, announced by AssetIngested
    handler = load_handler()
    event = stack.put_original(
        images.jpeg(1200, 800, exif=images.camera_exif(orientation=6, gps=SYDNEY))
    )
    asset = event["detail"]["data"]["asset_id"]

    # when the handler receives it
    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then it publishes MetadataExtracted, caused by the AssetIngested, GPS withheld by default
    assert response == {"batchItemFailures": []}
    (published,) = stack.published()
    assert (published["source"], published["detail-type"]) == (
        "media.metadata-extractor",
        "MetadataExtracted",
    )
    metadata, data = published["detail"]["metadata"], published["detail"]["data"]
    assert metadata["correlation_id"] == asset
    assert metadata["causation_id"] == event["detail"]["metadata"]["event_id"]
    assert metadata["producer"] == "metadata-extractor"
    assert (data["asset_id"], data["format"], data["width"], data["height"]) == (
        asset,
        "jpeg",
        800,
        1200,
    )
    assert data["orientation"] == 6
    assert data["exif"]["model"] == "X-T4"
    assert data["exif"]["taken_at"] == "2026-08-14T18:42:07+02:00"
    assert (data["gps"], data["gps_withheld"]) == (None, True)
    assert stack.parked() == []


def test_include_gps_shares_the_coordinates(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler(INCLUDE_GPS="true")
    event = stack.put_original(images.jpeg(exif=images.camera_exif(gps=SYDNEY)))

    handler.lambda_handler(sqs_batch(event), lambda_context)

    (published,) = stack.published()
    data = published["detail"]["data"]
    assert data["gps"] == {
        "latitude": pytest.approx(SYDNEY[0], abs=1e-5),
        "longitude": pytest.approx(SYDNEY[1], abs=1e-5),
    }
    assert data["gps_withheld"] is False


def test_malformed_exif_is_published_with_the_skipped_tags_not_parked(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given a photo whose aperture is text and whose exposure has a zero denominator
    handler = load_handler(INCLUDE_GPS="true")
    exif = images.camera_exif(
        overrides={
            "FNumber": Tag(ASCII, "f/2.8"),
            "ExposureTime": Tag(RATIONAL, ((1, 0),)),
            "GPSLatitude": Tag(RATIONAL, ((123, 1), (0, 1), (0, 1))),
        }
    )
    event = stack.put_original(images.jpeg(exif=exif))

    # when it is handled
    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then the metadata is published with those tags null and named
    assert response == {"batchItemFailures": []}
    (published,) = stack.published()
    data = published["detail"]["data"]
    assert sorted(data["skipped_tags"]) == ["ExposureTime", "FNumber", "GPSLatitude"]
    assert (data["exif"]["f_number"], data["exif"]["exposure_time"], data["gps"]) == (
        None,
        None,
        None,
    )
    assert data["exif"]["iso"] == 160
    assert stack.parked() == []


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (images.png(640, 480, mode="I;16"), ("png", "I;16", 16, False, 1)),
        (images.animated("gif", frames=5), ("gif", "P", 8, True, 5)),
        (images.animated("webp", frames=2), ("webp", "RGB", 8, True, 2)),
        (images.tiff(orientation=8), ("tiff", "RGB", 8, False, 1)),
        (images.jpeg(mode="CMYK"), ("jpeg", "CMYK", 8, False, 1)),
    ],
    ids=["png16", "gif", "animated-webp", "tiff", "cmyk"],
)
def test_each_format_publishes_a_valid_event(
    stack: Any,
    load_handler: Handler,
    lambda_context: Any,
    original: bytes,
    expected: tuple[Any, ...],
) -> None:
    handler = load_handler()
    event = stack.put_original(original)

    handler.lambda_handler(sqs_batch(event), lambda_context)

    (published,) = stack.published()
    data = published["detail"]["data"]
    found = (data["format"], data["mode"], data["bit_depth"], data["animated"], data["frame_count"])
    assert found == expected


def test_a_duplicate_delivery_republishes_the_same_facts_under_the_same_id(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler()
    event = stack.put_original(images.jpeg(exif=images.camera_exif()))
    handler.lambda_handler(sqs_batch(event), lambda_context)
    (first,) = stack.published()

    handler.lambda_handler(sqs_batch(event), lambda_context)

    (second,) = stack.published()
    assert second["detail"]["data"] == first["detail"]["data"]
    assert second["detail"]["metadata"]["event_id"] == first["detail"]["metadata"]["event_id"]


def test_an_invalid_event_is_parked_in_the_dlq_and_reported(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler()
    invalid = example("AssetIngested", "invalid-negative-size")

    response = handler.lambda_handler(sqs_batch(invalid), lambda_context)

    assert response == {"batchItemFailures": []}
    parked, failed = stack.assert_parked(invalid, reason="invalid_event")
    assert (attributes(parked)["service"], failed["source"]) == (
        "metadata-extractor",
        "media.metadata-extractor",
    )


@pytest.mark.parametrize(
    ("original", "reason"),
    [
        # the reasons ingest gives the same bytes (media_shared.imaging decides for both)
        (images.text_file(), "unsupported_type"),
        (b"", "empty"),
        (images.truncated_jpeg(keep=0.01), "corrupt"),
        (images.decompression_bomb_png(), "decompression_bomb"),
        (images.encode(images.photo(32, 32), "BMP"), "unsupported_type"),
        (images.png_text_bomb(), "decompression_bomb"),
        (images.heic(256, 192)[:40], "corrupt"),
        (images.declaring(images.avif(64, 64), 40_000, 40_000), "decompression_bomb"),
        (b"DDS |\x00\x00\x00\x07\x10\x08\x00" + bytes(120), "unsupported_type"),
    ],
    ids=[
        "text",
        "empty",
        "truncated-header",
        "bomb",
        "bmp",
        "text-chunk-bomb",
        "truncated-heic",
        "avif-bomb",
        "dds",
    ],
)
def test_an_original_that_cannot_be_opened_is_parked_with_its_reason(
    stack: Any, load_handler: Handler, lambda_context: Any, original: bytes, reason: str
) -> None:
    handler = load_handler()
    event = stack.put_original(original)

    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    assert response == {"batchItemFailures": []}
    _, failed = stack.assert_parked(event, reason=reason)
    assert failed["detail"]["data"]["asset_id"] == event["detail"]["data"]["asset_id"]


def test_a_missing_original_is_parked_as_original_missing(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler()
    event = stack.ingested("1" * 32, "originals/gone")

    handler.lambda_handler(sqs_batch(event), lambda_context)

    stack.assert_parked(event, reason="original_missing")


def test_an_original_outside_the_originals_bucket_is_refused(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler()
    event = stack.put_original(images.png(64, 64))
    event["detail"]["data"]["original"]["bucket"] = stack.uploads

    handler.lambda_handler(sqs_batch(event), lambda_context)

    stack.assert_parked(event, reason="unexpected_bucket")


def test_one_bad_record_does_not_fail_its_neighbours(
    stack: Any, load_handler: Handler, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a batch of: a good photo, a text file, a non-JSON body, a photo that cannot be read
    # right now (a transient error), and another good photo
    handler = load_handler()
    good = [stack.put_original(images.jpeg(seed=n), name=f"good-{n}.jpg") for n in (1, 2)]
    text = stack.put_original(images.text_file(), name="notes.jpg")
    flaky = stack.put_original(images.png(64, 64), name="flaky.png")
    flaky_key = flaky["detail"]["data"]["original"]["key"]
    real_original = handler.S3Objects.original

    def original(self: Any, bucket: str, key: str, version_id: str | None) -> Any:
        if key == flaky_key:
            raise ConnectionError("S3 is having a moment")
        return real_original(self, bucket, key, version_id)

    monkeypatch.setattr(handler.S3Objects, "original", original)

    # when the batch is handled
    response = handler.lambda_handler(
        sqs_batch(good[0], text, "not json at all", flaky, good[1]), lambda_context
    )

    # then only the transient failure is retried; the bad ones are parked; the good ones published
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-4"}]}
    assert sorted(attributes(m)["reason"] for m in stack.parked()) == [
        "invalid_event",
        "unsupported_type",
    ]
    published = stack.published()
    assert sorted(
        e["detail"]["data"]["asset_id"] for e in of_type(published, "MetadataExtracted")
    ) == sorted(e["detail"]["data"]["asset_id"] for e in good)
    assert len(of_type(published, "ProcessingFailed")) == 2


def test_a_malformed_include_gps_fails_the_cold_start_loudly(load_handler: Handler) -> None:
    with pytest.raises(ConfigurationError, match="INCLUDE_GPS"):
        load_handler(INCLUDE_GPS="sometimes")
