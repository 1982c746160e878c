"""Hostile and odd files, all uploaded at once, through the whole pipeline.

Each ends in its expected terminal state with its specific reason, and none fails a batch or
holds up the others: they are uploaded together, so ingest takes them in shared batches.

Expected states, and why:

* nothing but the bytes decides: a PNG named ``.jpg`` and declared ``image/jpeg`` is indexed as
  the PNG it is; text named ``.jpg`` is rejected as ``unsupported_type``;
* polyglots (a JPEG with a ZIP appended; a GIF with a ZIP appended, the "GIFAR"; a JPEG with an
  HTML payload, uploaded as ``text/html``) are *indexed* as the image they begin with. What makes
  a polyglot dangerous is a consumer that takes it for its other self (a browser sniffing HTML,
  a JVM opening the ZIP). The pipeline never gives it that chance: the original is stored with
  the sniffed image type (never the declared one) in a private bucket, and everything the
  pipeline publishes (the thumbnails) is re-encoded from decoded pixels, so no trailing byte
  survives. Rejecting them would also reject the many cameras and editors that append data
  after the image (MPF previews, trailers), for no gain. The test checks both guarantees;
* broken or hostile images are rejected with their reason: 0 bytes ``empty``; truncated JPEG
  and PNG, a JPEG with a garbled header, a PNG with corrupt compressed data ``corrupt``; a PNG
  declaring 40000x40000 pixels ``decompression_bomb``; one byte over 50 MiB ``too_large``;
* unusual but valid images are indexed: CMYK JPEG, 16-bit grey and 16-bit colour PNG, animated
  GIF and WebP, TIFF, and phones' HEIC and AVIF (sideways, orientation 6: indexed upright, with a
  BlurHash placeholder); a truncated HEIC is ``corrupt``, HEIC and AVIF declaring 40000x40000 and
  a PNG whose text chunk inflates to 64 MB are ``decompression_bomb``;
* odd keys (spaces, ``+``, a literal ``%20``, unicode, a deep prefix) are indexed under exactly
  the key uploaded.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from PIL import Image

from media_shared.index import AssetRecord
from tests.reliability.common import Put, now, put, unique_prefix, versions, wait_terminal
from tests.support import images
from tests.support.stack import Pipeline
from tools.cli.reconcile import State, reconcile
from tools.runtime.awslambda import BatchOutcome

pytestmark = pytest.mark.e2e

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # ingest's default (MAX_UPLOAD_BYTES), as deployed locally


@dataclass(frozen=True)
class Case:
    name: str  # the key's last part
    data: bytes
    content_type: str
    status: str
    reason: str | None = None  # rejection reason
    format: str | None = None  # format of an indexed asset


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload/readme.txt", "not part of any picture")
    return buffer.getvalue()


def _flip(data: bytes, start: int, count: int) -> bytes:
    garbled = bytearray(data)
    for index in range(start, start + count):
        garbled[index] ^= 0x5A
    return bytes(garbled)


def _phone(kind: str, seed: int) -> bytes:
    """A camera's HEIC or AVIF, stored sideways with orientation 6 as phones write it."""
    write = images.heic if kind == "heic" else images.avif
    return write(320, 240, seed=seed, exif=images.camera_exif(orientation=6))


def cases() -> list[Case]:
    photo = images.jpeg(320, 240, seed=61)
    picture = images.png(320, 240, seed=62)
    html = b"<html><body><script>alert('polyglot')</script></body></html>"
    return [
        Case("empty.jpg", b"", "image/jpeg", "rejected", "empty"),
        Case(
            "truncated.jpg",
            images.truncated_jpeg(320, 240, seed=63),
            "image/jpeg",
            "rejected",
            "corrupt",
        ),
        Case("truncated.png", picture[: len(picture) // 2], "image/png", "rejected", "corrupt"),
        Case("garbled-header.jpg", _flip(photo, 20, 40), "image/jpeg", "rejected", "corrupt"),
        Case(
            "bad-data.png", _flip(picture, len(picture) // 2, 8), "image/png", "rejected", "corrupt"
        ),
        Case(
            "bomb.png",
            images.decompression_bomb_png(),
            "image/png",
            "rejected",
            "decompression_bomb",
        ),
        Case(
            "huge.jpg",
            b"\xff\xd8\xff" + bytes(MAX_UPLOAD_BYTES - 2),
            "image/jpeg",
            "rejected",
            "too_large",
        ),
        Case("text.jpg", images.text_file(), "image/jpeg", "rejected", "unsupported_type"),
        # phones' formats, and their broken and hostile variants: the same reasons as the others
        Case("IMG_0001.HEIC", _phone("heic", 73), "image/heic", "indexed", format="heic"),
        Case("photo.avif", _phone("avif", 74), "image/avif", "indexed", format="avif"),
        Case(
            "truncated.heic",
            images.truncated(images.heic(320, 240, seed=75)),
            "image/heic",
            "rejected",
            "corrupt",
        ),
        Case(
            "bomb.heic",
            images.declaring(images.heic(64, 64, seed=76), 40_000, 40_000),
            "image/heic",
            "rejected",
            "decompression_bomb",
        ),
        Case(
            "bomb.avif",
            images.declaring(images.avif(64, 64, seed=77), 40_000, 40_000),
            "image/avif",
            "rejected",
            "decompression_bomb",
        ),
        Case(
            "text-bomb.png", images.png_text_bomb(), "image/png", "rejected", "decompression_bomb"
        ),
        Case("png-named.jpg", images.png(320, 240, seed=64), "image/jpeg", "indexed", format="png"),
        Case("zip-appended.jpg", photo + _zip(), "image/jpeg", "indexed", format="jpeg"),
        Case(
            "gifar.gif",
            images.animated("gif", 96, 64, frames=1, seed=65) + _zip(),
            "image/gif",
            "indexed",
            format="gif",
        ),
        Case("page.html", photo + html, "text/html", "indexed", format="jpeg"),
        Case(
            "cmyk.jpg",
            images.jpeg(320, 240, seed=66, mode="CMYK"),
            "image/jpeg",
            "indexed",
            format="jpeg",
        ),
        Case(
            "grey16.png",
            images.png(320, 240, seed=67, mode="I;16"),
            "image/png",
            "indexed",
            format="png",
        ),
        Case(
            "colour16.png",
            images.png(320, 240, seed=68, mode="RGB;16"),
            "image/png",
            "indexed",
            format="png",
        ),
        Case(
            "loop.gif",
            images.animated("gif", 160, 120, frames=3, seed=69),
            "image/gif",
            "indexed",
            format="gif",
        ),
        Case(
            "loop.webp",
            images.animated("webp", 160, 120, frames=3, seed=70),
            "image/webp",
            "indexed",
            format="webp",
        ),
        Case("scan.tif", images.tiff(320, 240, seed=71), "image/tiff", "indexed", format="tiff"),
        Case(
            "a photo with spaces.jpg",
            images.jpeg(200, 150, seed=72),
            "image/jpeg",
            "indexed",
            format="jpeg",
        ),
        Case(
            "plus+sign+.jpg", images.jpeg(200, 150, seed=73), "image/jpeg", "indexed", format="jpeg"
        ),
        Case(
            "literal%20percent%2B.jpg",
            images.jpeg(200, 150, seed=74),
            "image/jpeg",
            "indexed",
            format="jpeg",
        ),
        Case(
            "фото 日本 é +%.jpg",
            images.jpeg(200, 150, seed=75),
            "image/jpeg",
            "indexed",
            format="jpeg",
        ),
        Case(
            "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12/deep.jpg",
            images.jpeg(200, 150, seed=76),
            "image/jpeg",
            "indexed",
            format="jpeg",
        ),
    ]


@dataclass(frozen=True)
class Outcome:
    cases: dict[str, Case]
    puts: dict[str, Put]
    records: dict[str, AssetRecord]  # by asset id
    ingest_batches: list[BatchOutcome]
    start: datetime
    prefix: str


@pytest.fixture(scope="module")
def outcome(pipeline: Pipeline) -> Outcome:
    pipeline.faults.clear()
    pipeline.wait_idle(timeout=180)
    start, first_outcome = now(), len(pipeline.outcomes)
    prefix = unique_prefix("hostile")
    all_cases = cases()
    puts = {
        case.name: put(pipeline.target, prefix + case.name, case.data, case.content_type)
        for case in all_cases
    }
    records = wait_terminal(pipeline.target, [p.asset_id for p in puts.values()], timeout=240)
    pipeline.wait_idle()
    return Outcome(
        cases={case.name: case for case in all_cases},
        puts=puts,
        records=records,
        ingest_batches=pipeline.outcomes_since(first_outcome, "ingest"),
        start=start,
        prefix=prefix,
    )


def _ended(outcome: Outcome) -> dict[str, tuple[str, str | None]]:
    puts, records = outcome.puts, outcome.records
    ended = {}
    for name, done in puts.items():
        found = records[done.asset_id]
        ended[name] = (found.status, found.reason if found.status == "rejected" else found.format)
    return ended


def test_every_file_ends_in_its_expected_state_with_its_specific_reason(
    outcome: Outcome,
) -> None:
    expected = {
        name: (case.status, case.reason if case.status == "rejected" else case.format)
        for name, case in outcome.cases.items()
    }
    ended = _ended(outcome)
    for name in sorted(ended):  # what each file ended as, for the record (pytest -s shows it)
        print(f"{name!r:>52} -> {ended[name][0]} ({ended[name][1]})")
    assert ended == expected


def test_no_file_failed_a_batch_and_they_shared_batches(outcome: Outcome) -> None:
    handled = outcome.ingest_batches
    assert [o for o in handled if not o.invocation.ok or o.failed] == []
    assert max(o.size for o in handled) > 1, "every file had an ingest batch to itself"


def test_each_upload_left_the_uploads_bucket_and_kept_its_exact_key(
    pipeline: Pipeline, outcome: Outcome
) -> None:
    puts, records, prefix = outcome.puts, outcome.records, outcome.prefix
    assert versions(pipeline.target, pipeline.target.bucket("uploads"), prefix) == []
    for name, done in puts.items():
        item = records[done.asset_id].item
        fact = item.get("ingested") or item.get("rejection")
        assert fact["data"]["upload"]["key"] == prefix + name
        assert fact["data"]["filename"] == name.rsplit("/", 1)[-1]


def test_rejected_files_are_kept_in_quarantine_not_deleted(
    pipeline: Pipeline, outcome: Outcome
) -> None:
    puts, records = outcome.puts, outcome.records
    originals = pipeline.target.bucket("originals")
    for name, done in puts.items():
        if records[done.asset_id].status != "rejected":
            continue
        kept = versions(pipeline.target, originals, f"quarantine/{done.asset_id}/")
        assert [v["Size"] for v in kept] == [done.size], name


def test_polyglots_are_stored_as_the_image_they_are_and_publish_only_re_encoded_pixels(
    pipeline: Pipeline, outcome: Outcome
) -> None:
    puts, records = outcome.puts, outcome.records
    s3 = pipeline.target.s3
    for name, content_type in (
        ("zip-appended.jpg", "image/jpeg"),
        ("gifar.gif", "image/gif"),
        ("page.html", "image/jpeg"),
    ):
        found = records[puts[name].asset_id]
        original = found.original
        assert original is not None
        head = s3.head_object(Bucket=original["bucket"], Key=original["key"])
        assert head["ContentType"] == content_type, name  # never the declared text/html
        assert found.thumbnails, name
        for rendition in found.thumbnails:
            body = s3.get_object(Bucket=rendition["bucket"], Key=rendition["key"])["Body"].read()
            assert b"PK\x03\x04" not in body, name
            assert b"<script" not in body, name
            with Image.open(io.BytesIO(body)) as thumbnail:
                thumbnail.load()


def test_unusual_valid_images_get_thumbnails_a_browser_can_show(
    pipeline: Pipeline, outcome: Outcome
) -> None:
    puts, records = outcome.puts, outcome.records
    for name in ("cmyk.jpg", "grey16.png", "colour16.png", "loop.gif", "loop.webp", "scan.tif"):
        found = records[puts[name].asset_id]
        assert found.thumbnails, name
        smallest = min(found.thumbnails, key=lambda r: r["size"])
        body = pipeline.target.s3.get_object(Bucket=smallest["bucket"], Key=smallest["key"])
        with Image.open(io.BytesIO(body["Body"].read())) as thumbnail:
            assert thumbnail.mode in ("RGB", "RGBA"), (name, thumbnail.mode)


def test_reconciliation_accounts_for_every_one_of_them(
    pipeline: Pipeline, outcome: Outcome
) -> None:
    puts, start = outcome.puts, outcome.start
    report = reconcile(
        pipeline.target, start - timedelta(seconds=1), expected=[p.asset_id for p in puts.values()]
    )
    states = {a.asset_id: a.state for a in report.accounts}
    for name, done in puts.items():
        assert states.get(done.asset_id) in (State.INDEXED, State.REJECTED), name
    assert report.exact, report.unaccounted


def test_phone_formats_are_indexed_upright_with_a_placeholder(outcome: Outcome) -> None:
    # given a HEIC and an AVIF stored 320x240 with orientation 6
    for name in ("IMG_0001.HEIC", "photo.avif"):
        record = outcome.records[outcome.puts[name].asset_id]
        # then the record is as displayed, has thumbnails, and a BlurHash to show meanwhile
        assert (record.width, record.height) == (240, 320), name
        assert record.thumbnails, name
        largest = max(record.thumbnails, key=lambda t: t["size"])
        assert largest["height"] > largest["width"], name
        assert record.blurhash, name
