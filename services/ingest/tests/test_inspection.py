"""Sniffing and checking bytes: the magic decides, Pillow confirms, nothing is held whole."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from functools import partial

import pytest

from ingest.inspection import (
    Sniffed,
    UploadRejectedError,
    inspect_image,
    sniff,
    spool,
)
from tests.support import images


@pytest.mark.parametrize(
    ("body", "fmt", "content_type"),
    [
        (images.jpeg(32, 24), "jpeg", "image/jpeg"),
        (images.png(32, 24), "png", "image/png"),
        (images.webp(32, 24), "webp", "image/webp"),
        (images.animated("gif", 32, 24), "gif", "image/gif"),
        (images.tiff(32, 24), "tiff", "image/tiff"),
        (images.text_file(), None, "text/plain"),
        (b"%PDF-1.7\n...", None, "application/pdf"),
        (images.heic(32, 24), "heic", "image/heic"),
        (images.avif(32, 24), "avif", "image/avif"),
        # an iPhone's brands: major "heic"; a generic major brand with heic among the compatible
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "heic", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", "avif", "image/avif"),
        (b"\x00\x00\x00\x14ftypmif1\x00\x00\x00\x00mif1", None, "image/heif"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00isommp41", None, "video/mp4"),
        (b"DDS |\x00\x00\x00\x07\x10\x08\x00", None, "image/vnd-ms.dds"),
        (bytes(range(256)), None, None),
    ],
)
def test_sniffing_reads_the_magic_bytes(
    body: bytes, fmt: str | None, content_type: str | None
) -> None:
    assert sniff(body[:64]) == Sniffed(format=fmt, content_type=content_type)


def test_spooling_hashes_counts_and_keeps_the_first_bytes(tmp_path: object) -> None:
    body = images.jpeg(200, 150)
    chunks = [body[i : i + 1000] for i in range(0, len(body), 1000)]

    with spool(iter(chunks), limit=len(body), memory_bytes=4096) as spooled:
        assert spooled.size == len(body)
        assert spooled.sha256 == hashlib.sha256(body).hexdigest()
        assert spooled.head == body[:64]
        assert spooled.file.read() == body


def test_spooling_stops_as_soon_as_the_limit_is_passed() -> None:
    served: list[int] = []

    def chunks() -> object:
        for number in range(100):
            served.append(number)
            yield b"x" * 1000

    with pytest.raises(UploadRejectedError) as raised:
        spool(chunks(), limit=2500)  # type: ignore[arg-type]

    assert raised.value.reason == "too_large"
    assert len(served) == 3


def test_a_sound_image_reports_its_header_dimensions() -> None:
    info = inspect_image(
        io.BytesIO(images.jpeg(300, 200)), sniff(b"\xff\xd8\xff"), max_pixels=10**8
    )
    assert (info.format, info.width, info.height) == ("jpeg", 300, 200)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (partial(images.truncated_jpeg, keep=0.5), "corrupt"),
        (lambda: images.png(64, 48)[:200], "corrupt"),
        (images.decompression_bomb_png, "decompression_bomb"),
        (images.text_file, "unsupported_type"),
        (lambda: images.truncated(images.heic(256, 192)), "corrupt"),
        (lambda: images.truncated(images.avif(256, 192)), "corrupt"),
        (lambda: images.declaring(images.heic(64, 64), 40_000, 40_000), "decompression_bomb"),
        (lambda: images.declaring(images.avif(64, 64), 40_000, 40_000), "decompression_bomb"),
        (lambda: images.declaring(images.heic(64, 64), 12_000, 12_000), "decompression_bomb"),
        (images.png_text_bomb, "decompression_bomb"),
    ],
)
def test_bad_bytes_are_rejected_with_the_right_reason(
    make: Callable[[], bytes], reason: str
) -> None:
    # (each file is made by the test that reads it, not by every worker collecting the module)
    body = make()
    with pytest.raises(UploadRejectedError) as raised:
        inspect_image(io.BytesIO(body), sniff(body[:64]), max_pixels=100_000_000)
    assert raised.value.reason == reason


def test_the_bomb_check_reads_only_the_header() -> None:
    # 40000 x 40000 would need 1.6 GB decoded; the check answers from 200-odd bytes
    body = images.decompression_bomb_png()
    assert len(body) < 100_000
    with pytest.raises(UploadRejectedError) as raised:
        inspect_image(io.BytesIO(body), sniff(body), max_pixels=100_000_000)
    assert "40000x40000" in raised.value.detail


@pytest.mark.parametrize(
    ("make", "fmt", "size"),
    [
        (partial(images.heic, 300, 200), "heic", (300, 200)),
        (partial(images.avif, 300, 200), "avif", (300, 200)),
    ],
)
def test_phone_formats_are_accepted_from_their_bytes(
    make: Callable[[], bytes], fmt: str, size: tuple[int, int]
) -> None:
    # given a HEIC or AVIF whose bytes are all that says what it is
    body = make()
    # when ingest checks it
    info = inspect_image(io.BytesIO(body), sniff(body[:64]), max_pixels=10**8)
    # then it is accepted with its own type and dimensions
    assert (info.format, (info.width, info.height)) == (fmt, size)
    assert info.content_type == f"image/{fmt}"
