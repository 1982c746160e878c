"""The thumbnailer in one process: SQS batch -> lambda_handler -> S3 and the bus, on moto."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from PIL import Image

from tests.support import images
from tests.support.aws import attributes, of_type
from tests.support.events import example, sqs_batch

Handler = Callable[..., ModuleType]


def test_an_ingested_asset_gets_webp_thumbnails_and_one_thumbnails_generated_event(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given a 2000x1500 photograph in the originals bucket, announced by AssetIngested
    handler = load_handler()
    event = stack.put_original(images.jpeg(2000, 1500, exif=images.camera_exif()))
    asset = event["detail"]["data"]["asset_id"]

    # when the handler receives it
    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then no record failed and one rendition per size is in the derived bucket
    assert response == {"batchItemFailures": []}
    keys = [f"thumbnails/{asset}/{size}.webp" for size in (256, 512, 1024)]
    assert stack.derived_keys() == sorted(keys)
    for key in keys:
        stored = stack.s3.get_object(Bucket=stack.derived, Key=key)
        assert stored["ContentType"] == "image/webp"
        assert "max-age=" in stored["CacheControl"]
        assert Image.open(io.BytesIO(stored["Body"].read())).format == "WEBP"

    # and ThumbnailsGenerated describes exactly those objects, caused by the AssetIngested
    (published,) = stack.published()
    assert published["source"] == "media.thumbnailer"
    assert published["detail-type"] == "ThumbnailsGenerated"
    metadata, data = published["detail"]["metadata"], published["detail"]["data"]
    assert metadata["correlation_id"] == asset
    assert metadata["causation_id"] == event["detail"]["metadata"]["event_id"]
    assert (data["asset_id"], data["source_width"], data["source_height"]) == (asset, 2000, 1500)
    described = [
        (r["size"], r["key"], r["width"], r["height"], r["format"], r["content_type"])
        for r in data["renditions"]
    ]
    assert described == [
        (256, keys[0], 256, 192, "webp", "image/webp"),
        (512, keys[1], 512, 384, "webp", "image/webp"),
        (1024, keys[2], 1024, 768, "webp", "image/webp"),
    ]
    for rendition in data["renditions"]:
        head = stack.s3.head_object(Bucket=rendition["bucket"], Key=rendition["key"])
        assert head["ContentLength"] == rendition["bytes"]


def test_thumbnail_format_jpeg_writes_jpeg_renditions(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given the thumbnailer configured for JPEG at two custom sizes
    handler = load_handler(
        THUMBNAIL_FORMAT="jpeg", THUMBNAIL_SIZES="320,160", THUMBNAIL_QUALITY="70"
    )
    event = stack.put_original(images.png(800, 600))
    asset = event["detail"]["data"]["asset_id"]

    # when it handles an asset
    handler.lambda_handler(sqs_batch(event), lambda_context)

    # then the renditions are JPEGs at the configured sizes, smallest first
    assert stack.derived_keys() == [f"thumbnails/{asset}/160.jpg", f"thumbnails/{asset}/320.jpg"]
    stored = stack.s3.get_object(Bucket=stack.derived, Key=f"thumbnails/{asset}/320.jpg")
    assert stored["ContentType"] == "image/jpeg"
    assert Image.open(io.BytesIO(stored["Body"].read())).size == (320, 240)
    (published,) = stack.published()
    assert [(r["size"], r["format"]) for r in published["detail"]["data"]["renditions"]] == [
        (160, "jpeg"),
        (320, "jpeg"),
    ]


def test_avif_configured_beside_webp_is_written_and_announced(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given a deployment asking for AVIF beside WebP
    handler = load_handler(THUMBNAIL_EXTRA_FORMATS="avif", THUMBNAIL_SIZES="160,320")
    event = stack.put_original(images.heic(800, 600))
    asset = event["detail"]["data"]["asset_id"]

    # when it handles an asset (a HEIC, as a phone uploads)
    handler.lambda_handler(sqs_batch(event), lambda_context)

    # then every size is written in both formats, typed, and the event lists them all
    assert stack.derived_keys() == sorted(
        f"thumbnails/{asset}/{size}.{ext}" for size in (160, 320) for ext in ("webp", "avif")
    )
    stored = stack.s3.get_object(Bucket=stack.derived, Key=f"thumbnails/{asset}/320.avif")
    assert stored["ContentType"] == "image/avif"
    assert Image.open(io.BytesIO(stored["Body"].read())).size == (320, 240)
    (published,) = stack.published()
    data = published["detail"]["data"]
    assert [(r["size"], r["format"]) for r in data["renditions"]] == [
        (160, "webp"),
        (160, "avif"),
        (320, "webp"),
        (320, "avif"),
    ]
    assert data["blurhash"]


def test_a_small_original_is_not_upscaled(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler()
    event = stack.put_original(images.png(300, 200))
    asset = event["detail"]["data"]["asset_id"]

    handler.lambda_handler(sqs_batch(event), lambda_context)

    assert stack.derived_keys() == [f"thumbnails/{asset}/256.webp", f"thumbnails/{asset}/512.webp"]
    (published,) = stack.published()
    renditions = published["detail"]["data"]["renditions"]
    assert [(r["size"], r["width"], r["height"]) for r in renditions] == [
        (256, 256, 171),
        (512, 300, 200),
    ]


def test_a_duplicate_delivery_rewrites_the_same_objects_and_republishes_the_same_facts(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given an asset that was already processed once
    handler = load_handler()
    event = stack.put_original(images.jpeg(1200, 900, exif=images.camera_exif(orientation=8)))
    handler.lambda_handler(sqs_batch(event), lambda_context)
    first_keys = stack.derived_keys()
    first_etags = [stack.s3.head_object(Bucket=stack.derived, Key=k)["ETag"] for k in first_keys]
    (first,) = stack.published()

    # when the same event is delivered again
    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then the same keys hold the same bytes, and the same facts are published under the same id
    assert response == {"batchItemFailures": []}
    assert stack.derived_keys() == first_keys
    assert [
        stack.s3.head_object(Bucket=stack.derived, Key=k)["ETag"] for k in first_keys
    ] == first_etags
    (second,) = stack.published()
    assert second["detail"]["data"] == first["detail"]["data"]
    assert second["detail"]["metadata"]["event_id"] == first["detail"]["metadata"]["event_id"]


def test_an_invalid_event_is_parked_in_the_dlq_and_reported(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given an AssetIngested that breaks its schema (no asset id)
    handler = load_handler()
    invalid = example("AssetIngested", "invalid-missing-asset-id")

    # when the handler receives it
    response = handler.lambda_handler(sqs_batch(invalid), lambda_context)

    # then it is not retried: it is in the DLQ with its reason, and ProcessingFailed says why
    assert response == {"batchItemFailures": []}
    parked, failed = stack.assert_parked(invalid, reason="invalid_event")
    assert (attributes(parked)["service"], failed["source"]) == ("thumbnailer", "media.thumbnailer")
    assert failed["detail"]["data"]["failed_event"]["detail-type"] == "AssetIngested"
    assert stack.derived_keys() == []


@pytest.mark.parametrize(
    ("original", "reason"),
    [
        (images.truncated_jpeg(800, 600), "corrupt"),
        # the reasons ingest gives the same bytes (media_shared.imaging decides for both)
        (images.text_file(), "unsupported_type"),
        (images.decompression_bomb_png(), "decompression_bomb"),
        (images.truncated(images.heic(256, 192)), "corrupt"),
        (images.declaring(images.heic(64, 64), 40_000, 40_000), "decompression_bomb"),
        (images.truncated(images.avif(256, 192)), "corrupt"),
    ],
    ids=["truncated", "text", "bomb", "truncated-heic", "heic-bomb", "truncated-avif"],
)
def test_an_original_that_cannot_be_thumbnailed_is_parked_with_its_reason(
    stack: Any, load_handler: Handler, lambda_context: Any, original: bytes, reason: str
) -> None:
    handler = load_handler()
    event = stack.put_original(original)

    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    assert response == {"batchItemFailures": []}
    _, failed = stack.assert_parked(event, reason=reason)
    assert failed["detail"]["data"]["asset_id"] == event["detail"]["data"]["asset_id"]
    assert stack.derived_keys() == []


def test_the_pixel_limit_comes_from_max_image_pixels(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler(MAX_IMAGE_PIXELS="100000")
    event = stack.put_original(images.png(400, 300))

    handler.lambda_handler(sqs_batch(event), lambda_context)

    parked, _ = stack.assert_parked(event, reason="decompression_bomb")
    assert "100000" in attributes(parked)["error_message"]


def test_a_missing_original_is_parked_as_original_missing(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler()
    event = stack.ingested("0" * 32, "originals/" + "0" * 32)

    handler.lambda_handler(sqs_batch(event), lambda_context)

    stack.assert_parked(event, reason="original_missing")


def test_an_original_outside_the_originals_bucket_is_refused(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given an event that points the thumbnailer at the uploads bucket
    handler = load_handler()
    event = stack.put_original(images.png(64, 64))
    event["detail"]["data"]["original"]["bucket"] = stack.uploads

    handler.lambda_handler(sqs_batch(event), lambda_context)

    stack.assert_parked(event, reason="unexpected_bucket")
    assert stack.derived_keys() == []


def test_one_bad_record_does_not_fail_its_neighbours(
    stack: Any, load_handler: Handler, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a batch of: a good asset, a corrupt one, a body that is not JSON, an asset whose
    # renditions cannot be written right now (a transient error), and another good asset
    handler = load_handler()
    good = [stack.put_original(images.jpeg(640, 480, seed=n), name=f"good-{n}.jpg") for n in (1, 2)]
    corrupt = stack.put_original(images.truncated_jpeg(), name="broken.jpg")
    flaky = stack.put_original(images.png(300, 300), name="flaky.png")
    flaky_asset = flaky["detail"]["data"]["asset_id"]
    real_put = handler.S3Objects.put_renditions

    def put_renditions(self: Any, bucket: str, renditions: Any) -> None:
        if any(flaky_asset in key for key, _ in renditions):
            raise ConnectionError("S3 is having a moment")
        real_put(self, bucket, renditions)

    monkeypatch.setattr(handler.S3Objects, "put_renditions", put_renditions)

    # when the batch is handled
    batch = sqs_batch(good[0], corrupt, "{not json", flaky, good[1])
    response = handler.lambda_handler(batch, lambda_context)

    # then only the transient failure is reported for retry (message-4); the corrupt file and the
    # non-JSON body are parked; both good assets got their thumbnails
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-4"}]}
    reasons = sorted(attributes(message)["reason"] for message in stack.parked())
    assert reasons == ["corrupt", "invalid_event"]
    published = stack.published()
    generated = of_type(published, "ThumbnailsGenerated")
    assert sorted(e["detail"]["data"]["asset_id"] for e in generated) == sorted(
        e["detail"]["data"]["asset_id"] for e in good
    )
    assert len(of_type(published, "ProcessingFailed")) == 2
    for event in good:
        asset = event["detail"]["data"]["asset_id"]
        assert f"thumbnails/{asset}/256.webp" in stack.derived_keys()


def test_a_settings_error_fails_the_cold_start_loudly(load_handler: Handler) -> None:
    from media_shared.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="THUMBNAIL_FORMAT"):
        load_handler(THUMBNAIL_FORMAT="avif")


def test_thumbnails_are_stored_as_private_to_the_browser_never_for_shared_caches(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given an ingested photograph (its thumbnails are served to their owner only, presigned)
    handler = load_handler()
    event = stack.put_original(images.jpeg(600, 400))
    asset = event["detail"]["data"]["asset_id"]

    # when the thumbnailer writes its renditions
    assert handler.lambda_handler(sqs_batch(event), lambda_context) == {"batchItemFailures": []}

    # then each object tells caches: the owner's browser may keep it, no shared cache may
    for key in stack.derived_keys():
        assert key.startswith(f"thumbnails/{asset}/")
        stored = stack.s3.head_object(Bucket=stack.derived, Key=key)
        directives = [part.strip() for part in stored["CacheControl"].split(",")]
        assert "private" in directives
        assert "public" not in directives
        ages = [int(part.split("=", 1)[1]) for part in directives if part.startswith("max-age=")]
        assert len(ages) == 1
        assert 0 < ages[0] <= 24 * 60 * 60


def _tiff(mode: str, value: float) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (2000, 2000), value).save(buffer, "TIFF", compression="tiff_adobe_deflate")
    return buffer.getvalue()


def test_an_original_whose_decode_would_not_fit_the_functions_memory_is_refused_for_good(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    # given the thumbnailer deployed with 224 MB (24 MiB to decode in), and a small float TIFF
    # whose 4 M pixels take 4 bytes each decoded, and as many again to scale them to 8 bits
    handler = load_handler(AWS_LAMBDA_FUNCTION_MEMORY_SIZE="224")
    event = stack.put_original(_tiff("F", 0.5), name="scan.tif")

    # when it is to be thumbnailed
    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then it is refused before decoding, permanently (parked, not retried), saying why
    assert response == {"batchItemFailures": []}
    parked, _ = stack.assert_parked(event, reason="decompression_bomb")
    message = attributes(parked)["error_message"]
    assert "2000x2000 F tiff" in message
    assert "224 MB" in message
    assert stack.derived_keys() == []


def test_the_same_size_in_8_bit_grey_fits_the_same_function(
    stack: Any, load_handler: Handler, lambda_context: Any
) -> None:
    handler = load_handler(AWS_LAMBDA_FUNCTION_MEMORY_SIZE="224")
    event = stack.put_original(_tiff("L", 128), name="scan.tif")

    assert handler.lambda_handler(sqs_batch(event), lambda_context) == {"batchItemFailures": []}

    assert len(stack.derived_keys()) == 3
