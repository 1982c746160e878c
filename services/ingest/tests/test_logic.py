"""Ingest's logic, called directly: one upload in, the facts about it out, the buckets arranged."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from ingest.logic import Ingestor, fact_event_id
from media_shared import Event, InboundEvent, PermanentError, SchemaCatalog, asset_id
from tests.support import images
from tests.support.s3events import object_created

MiB = 1024 * 1024


def upload(aws: Any, key: str, body: bytes, *, encode: bool = False, **put: Any) -> dict[str, Any]:
    """Put ``body`` at ``key`` in uploads and return the S3 event announcing it."""
    response = aws.put_upload(key, body, **put)
    return object_created(
        aws.uploads, key, size=len(body), version_id=response["VersionId"], encode=encode
    )


def run(ingestor: Ingestor, event: dict[str, Any]) -> Event:
    events = ingestor(InboundEvent(event=event, schema=None))
    assert len(events) == 1
    return events[0]


def valid(catalog: SchemaCatalog, event: Event) -> Event:
    catalog.validate(event.as_event())
    return event


# -- accepted ----------------------------------------------------------------------------------


def test_a_jpeg_is_moved_to_originals_and_announced_with_its_facts(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog, jpeg_bytes: bytes
) -> None:
    # given a JPEG uploaded by a client
    event = upload(aws, "incoming/holiday/IMG_0042.jpg", jpeg_bytes)
    version = event["detail"]["object"]["version-id"]
    expected_id = asset_id(aws.uploads, "incoming/holiday/IMG_0042.jpg", version)

    # when ingest handles its event
    ingested = valid(catalog, run(make_ingestor(), event))

    # then the original sits at originals/<asset_id>, typed by its bytes, with its hash
    assert ingested.detail_type == "AssetIngested"
    data = ingested.data
    assert data["asset_id"] == expected_id
    assert data["original"]["key"] == f"originals/{expected_id}"
    head = aws.s3.head_object(Bucket=aws.originals, Key=f"originals/{expected_id}")
    assert head["ContentType"] == "image/jpeg"
    assert head["Metadata"]["sha256"] == hashlib.sha256(jpeg_bytes).hexdigest()
    copied = aws.s3.get_object(Bucket=aws.originals, Key=f"originals/{expected_id}")
    assert copied["Body"].read() == jpeg_bytes
    # and the event says what it is
    assert data["format"] == "jpeg"
    assert data["content_type"] == "image/jpeg"
    assert (data["width"], data["height"]) == (320, 240)
    assert data["size_bytes"] == len(jpeg_bytes)
    assert data["sha256"] == hashlib.sha256(jpeg_bytes).hexdigest()
    assert data["filename"] == "IMG_0042.jpg"
    assert data["upload"] == {
        "bucket": aws.uploads,
        "key": "incoming/holiday/IMG_0042.jpg",
        "version_id": version,
    }
    assert ingested.detail["metadata"]["causation_id"] == event["id"]
    assert ingested.detail["metadata"]["correlation_id"] == expected_id
    assert ingested.event_id == fact_event_id("ingest", "AssetIngested", expected_id)
    # and the upload's version is gone from the uploads bucket (no delete marker either)
    assert aws.upload_versions() == []


@pytest.mark.parametrize(
    ("fmt", "options", "content_type"),
    [
        ("PNG", {}, "image/png"),
        ("WEBP", {"quality": 80}, "image/webp"),
        ("GIF", {}, "image/gif"),
        ("TIFF", {"compression": "tiff_lzw"}, "image/tiff"),
    ],
)
def test_every_allowed_format_is_accepted(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    make_image: Callable[..., bytes],
    fmt: str,
    options: dict[str, Any],
    content_type: str,
) -> None:
    body = make_image(fmt, width=200, height=150, **options)
    ingested = valid(catalog, run(make_ingestor(), upload(aws, f"in/picture.{fmt}", body)))
    assert ingested.detail_type == "AssetIngested"
    assert ingested.data["content_type"] == content_type
    assert (ingested.data["width"], ingested.data["height"]) == (200, 150)


@pytest.mark.parametrize("fmt", ["gif", "webp", "png"])
def test_an_animation_is_accepted_with_its_first_frame_checked(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog, fmt: str
) -> None:
    body = images.animated(fmt, 160, 120, frames=3)
    ingested = valid(catalog, run(make_ingestor(), upload(aws, f"in/moving.{fmt}", body)))
    assert ingested.data["format"] == fmt
    assert (ingested.data["width"], ingested.data["height"]) == (160, 120)


def test_a_png_named_jpg_is_accepted_as_png(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    make_image: Callable[..., bytes],
) -> None:
    # given PNG bytes behind a .jpg name and a declared image/jpeg
    body = make_image("PNG")
    event = upload(aws, "incoming/really-a-png.jpg", body, content_type="image/jpeg")

    ingested = valid(catalog, run(make_ingestor(), event))

    # then the bytes decide: it is a PNG, stored as one
    assert ingested.detail_type == "AssetIngested"
    assert ingested.data["format"] == "png"
    assert ingested.data["content_type"] == "image/png"
    head = aws.s3.head_object(Bucket=aws.originals, Key=ingested.data["original"]["key"])
    assert head["ContentType"] == "image/png"


def test_a_large_upload_is_copied_in_parts_with_its_type_and_metadata(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    make_image: Callable[..., bytes],
) -> None:
    # given an upload bigger than the multipart threshold of the managed copy
    body = make_image("PNG", width=2400, height=1600, compress_level=0)
    assert len(body) > 2 * 5 * MiB
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)

    ingested = valid(
        catalog, run(make_ingestor(transfer_config=config), upload(aws, "big/scan.png", body))
    )

    # then the copy is whole, made of parts, typed and labelled like a small one
    key = ingested.data["original"]["key"]
    head = aws.s3.head_object(Bucket=aws.originals, Key=key)
    assert head["ContentLength"] == len(body)
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    assert head["ContentType"] == "image/png"
    assert head["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert aws.upload_versions() == []


# -- odd keys ----------------------------------------------------------------------------------

ODD_KEYS = [
    "incoming/holiday photos/IMG 0042.jpg",
    "incoming/a+b=c&d.jpg",
    "incoming/100% real.jpg",
    "incoming/%41%42 literally.jpg",
    "incoming/café/日本語 写真 ✓.jpg",
    "a/b/c/d/e/f/g/h/i/j/k/deep.jpg",
    "incoming/spaces  and +plus+ and %2B.jpg",
]


@pytest.mark.parametrize("key", ODD_KEYS)
@pytest.mark.parametrize("encode", [True, False], ids=["url-encoded", "raw"])
def test_odd_keys_round_trip_whether_the_event_encodes_them_or_not(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    jpeg_bytes: bytes,
    key: str,
    encode: bool,
) -> None:
    # given an upload with an awkward key, announced encoded (as AWS does) or raw (as moto does)
    event = upload(aws, key, jpeg_bytes, encode=encode)
    version = event["detail"]["object"]["version-id"]

    ingested = valid(catalog, run(make_ingestor(), event))

    # then the event names the real key, the asset id is derived from it, the upload is gone
    assert ingested.data["upload"]["key"] == key
    assert ingested.data["asset_id"] == asset_id(aws.uploads, key, version)
    assert ingested.data["filename"] == key.rsplit("/", 1)[-1]
    assert aws.upload_versions() == []


def test_a_key_that_only_exists_raw_is_used_raw(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog, jpeg_bytes: bytes
) -> None:
    # given a key whose decoding names another key, and both objects exist
    other = aws.put_upload("incoming/a b.jpg", jpeg_bytes)
    event = upload(aws, "incoming/a+b.jpg", jpeg_bytes)

    ingested = valid(catalog, run(make_ingestor(), event))

    # then the version in the event picks the right one and only it is moved
    assert ingested.data["upload"]["key"] == "incoming/a+b.jpg"
    remaining = aws.upload_versions()
    assert [(v["Key"], v["VersionId"]) for v in remaining] == [
        ("incoming/a b.jpg", other["VersionId"])
    ]


# -- rejected ----------------------------------------------------------------------------------


def rejected(
    aws: Any, ingestor: Ingestor, catalog: SchemaCatalog, key: str, body: bytes, reason: str
) -> dict[str, Any]:
    event = upload(aws, key, body)
    result = valid(catalog, run(ingestor, event))
    assert result.detail_type == "AssetRejected"
    data = result.data
    assert data["reason"] == reason
    # the file is kept in quarantine, byte for byte, with the reason on it; the upload is gone
    quarantined = aws.s3.get_object(Bucket=aws.originals, Key=data["quarantine"]["key"])
    assert quarantined["Body"].read() == body
    assert quarantined["Metadata"]["reason"] == reason
    assert quarantined["ContentType"] == "application/octet-stream"
    assert data["quarantine"]["key"] == f"quarantine/{data['asset_id']}/{key.rsplit('/', 1)[-1]}"
    assert aws.upload_versions() == []
    assert aws.keys(aws.originals, "originals/") == []
    assert result.event_id == fact_event_id("ingest", "AssetRejected", data["asset_id"])
    return data


def test_an_empty_upload_is_rejected_as_empty(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog
) -> None:
    data = rejected(aws, make_ingestor(), catalog, "incoming/nothing.jpg", b"", "empty")
    assert data["size_bytes"] == 0
    assert data["detail"] == "the upload has 0 bytes"


def test_an_upload_over_the_size_limit_is_rejected_before_it_is_read(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    jpeg_bytes: bytes,
) -> None:
    ingestor = make_ingestor(max_upload_bytes=len(jpeg_bytes) - 1)
    reads: list[str] = []
    aws.s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **kw: reads.append(params["Bucket"])
    )

    data = rejected(aws, ingestor, catalog, "incoming/huge.jpg", jpeg_bytes, "too_large")

    assert data["sha256"] is None  # never read, so never hashed
    assert aws.uploads not in reads
    assert str(len(jpeg_bytes)) in data["detail"]


def test_a_text_file_named_jpg_is_rejected_as_unsupported(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog
) -> None:
    body = images.text_file()
    data = rejected(aws, make_ingestor(), catalog, "incoming/notes.jpg", body, "unsupported_type")
    assert data["sniffed_content_type"] == "text/plain"
    assert data["declared_content_type"] == "image/jpeg"
    assert data["sha256"] == hashlib.sha256(body).hexdigest()
    assert "text/plain" in data["detail"]


def test_a_truncated_jpeg_is_rejected_as_corrupt(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog, jpeg_bytes: bytes
) -> None:
    body = images.truncated_jpeg(keep=0.6)
    data = rejected(aws, make_ingestor(), catalog, "incoming/cut.jpg", body, "corrupt")
    assert data["sniffed_content_type"] == "image/jpeg"
    assert "truncated" in data["detail"]


def test_a_jpeg_with_a_garbled_header_is_rejected_as_corrupt(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog
) -> None:
    body = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    rejected(aws, make_ingestor(), catalog, "incoming/garbled.jpg", body, "corrupt")


def test_a_header_declaring_huge_dimensions_is_rejected_as_a_decompression_bomb(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog
) -> None:
    body = images.decompression_bomb_png(50_000, 50_000)
    data = rejected(aws, make_ingestor(), catalog, "incoming/bomb.png", body, "decompression_bomb")
    assert "50000x50000" in data["detail"]


def test_the_pixel_limit_is_the_configured_one(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    make_image: Callable[..., bytes],
) -> None:
    body = make_image("PNG", width=101, height=100)
    rejected(
        aws,
        make_ingestor(max_image_pixels=100 * 100),
        catalog,
        "incoming/just-over.png",
        body,
        "decompression_bomb",
    )


def test_a_very_long_filename_is_cut_to_fit_a_quarantine_key(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog
) -> None:
    key = "incoming/" + "é" * 500 + ".txt"  # 1013 bytes
    data = rejected_any(aws, make_ingestor(), catalog, key, b"plain text")
    assert len(data["quarantine"]["key"].encode()) <= 1024
    assert data["filename"] == key.rsplit("/", 1)[-1]


def rejected_any(
    aws: Any, ingestor: Ingestor, catalog: SchemaCatalog, key: str, body: bytes
) -> dict[str, Any]:
    result = valid(catalog, run(ingestor, upload(aws, key, body)))
    assert result.detail_type == "AssetRejected"
    return result.data


# -- refused outright --------------------------------------------------------------------------


def test_an_event_from_another_bucket_is_refused(
    aws: Any, make_ingestor: Callable[..., Ingestor], jpeg_bytes: bytes
) -> None:
    aws.s3.create_bucket(Bucket="someone-elses-bucket")
    aws.s3.put_object(Bucket="someone-elses-bucket", Key="x.jpg", Body=jpeg_bytes)
    event = object_created("someone-elses-bucket", "x.jpg", size=len(jpeg_bytes))

    with pytest.raises(PermanentError) as raised:
        make_ingestor()(InboundEvent(event=event, schema=None))

    assert raised.value.reason == "wrong_bucket"
    assert aws.keys("someone-elses-bucket") == ["x.jpg"]
    assert aws.keys(aws.originals) == []


def test_an_upload_that_never_existed_is_a_permanent_missing_error(
    aws: Any, make_ingestor: Callable[..., Ingestor]
) -> None:
    event = object_created(aws.uploads, "incoming/ghost.jpg", size=10, version_id="v-gone")

    with pytest.raises(PermanentError) as raised:
        make_ingestor()(InboundEvent(event=event, schema=None))

    assert raised.value.reason == "missing"
    assert "incoming/ghost.jpg" in str(raised.value)


# -- duplicates and crashes --------------------------------------------------------------------


@pytest.mark.parametrize("idempotent", [False, True], ids=["no-idempotency", "idempotency"])
def test_a_redelivered_event_after_a_move_republishes_the_same_facts(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    jpeg_bytes: bytes,
    request: pytest.FixtureRequest,
    idempotent: bool,
) -> None:
    table = request.getfixturevalue("idempotency_table") if idempotent else None
    ingestor = make_ingestor(idempotency_table=table)
    event = upload(aws, "incoming/twice.jpg", jpeg_bytes, encode=True)

    first = valid(catalog, run(ingestor, event))
    again = [valid(catalog, run(ingestor, event)) for _ in range(2)]

    # one asset in originals, and every delivery states the same fact under the same id
    assert aws.keys(aws.originals) == [f"originals/{first.data['asset_id']}"]
    for duplicate in again:
        assert duplicate.event_id == first.event_id
        assert duplicate.data == first.data


@pytest.mark.parametrize("idempotent", [False, True], ids=["no-idempotency", "idempotency"])
def test_a_redelivered_event_after_a_rejection_republishes_the_same_rejection(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    catalog: SchemaCatalog,
    request: pytest.FixtureRequest,
    idempotent: bool,
) -> None:
    table = request.getfixturevalue("idempotency_table") if idempotent else None
    ingestor = make_ingestor(idempotency_table=table)
    event = upload(aws, "incoming/notes.jpg", b"not an image at all", content_type="text/plain")

    first = valid(catalog, run(ingestor, event))
    again = valid(catalog, run(ingestor, event))

    assert first.detail_type == again.detail_type == "AssetRejected"
    assert again.event_id == first.event_id
    assert again.data == first.data


def test_with_idempotency_a_duplicate_does_not_touch_s3(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    idempotency_table: str,
    jpeg_bytes: bytes,
) -> None:
    ingestor = make_ingestor(idempotency_table=idempotency_table)
    event = upload(aws, "incoming/once.jpg", jpeg_bytes)
    first = run(ingestor, event)
    calls: list[str] = []
    aws.s3.meta.events.register("before-call.s3", lambda model, **kw: calls.append(model.name))

    again = run(ingestor, event)

    assert calls == []
    assert again.event_id == first.event_id
    assert again.detail == first.detail  # the stored result, verbatim


def test_a_failed_copy_leaves_the_upload_in_place_for_the_retry(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog, jpeg_bytes: bytes
) -> None:
    ingestor = make_ingestor()
    event = upload(aws, "incoming/retry-me.jpg", jpeg_bytes)

    def fail_copy(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "CopyObject")

    aws.s3.meta.events.register("before-call.s3.CopyObject", fail_copy)
    with pytest.raises(ClientError):
        run(ingestor, event)
    # nothing was deleted: the upload's version is still there
    assert len(aws.upload_versions()) == 1
    assert aws.keys(aws.originals) == []

    aws.s3.meta.events.unregister("before-call.s3.CopyObject", fail_copy)
    ingested = valid(catalog, run(ingestor, event))
    assert ingested.detail_type == "AssetIngested"
    assert aws.upload_versions() == []


def test_a_crash_after_the_copy_and_before_the_delete_converges(
    aws: Any, make_ingestor: Callable[..., Ingestor], catalog: SchemaCatalog, jpeg_bytes: bytes
) -> None:
    ingestor = make_ingestor()
    event = upload(aws, "incoming/half-done.jpg", jpeg_bytes)

    def crash(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "DeleteObject")

    aws.s3.meta.events.register("before-call.s3.DeleteObject", crash)
    with pytest.raises(ClientError):
        run(ingestor, event)
    aws.s3.meta.events.unregister("before-call.s3.DeleteObject", crash)

    ingested = valid(catalog, run(ingestor, event))
    assert aws.upload_versions() == []
    assert aws.keys(aws.originals) == [ingested.data["original"]["key"]]
