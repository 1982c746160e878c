"""media_shared.imaging on its own: what a file is, and what its failure is called."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media_shared import CorruptImageError, DecompressionBombError, UnsupportedImageError
from media_shared.exceptions import TransientError
from media_shared.imaging import classify, heif_declared_size, read_orientation, sniff
from tests.support import images

UNSUPPORTED, BOMB, CORRUPT = (
    (UnsupportedImageError, "unsupported_type"),
    (DecompressionBombError, "decompression_bomb"),
    (CorruptImageError, "corrupt"),
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotImplementedError("Unimplemented pixel format DXT10"), UNSUPPORTED),
        (Image.DecompressionBombError("too big"), BOMB),
        (ValueError("Decompressed data too large for PngImagePlugin.MAX_TEXT_CHUNK"), BOMB),
        (RuntimeError("Memory allocation error: Security limit exceeded"), BOMB),
        (RuntimeError("libheif said no"), CORRUPT),
        (OSError("image file is truncated"), CORRUPT),
        (AssertionError("a plugin's internal check"), CORRUPT),
    ],
)
def test_every_exception_from_an_untrusted_file_gets_a_permanent_reason(
    error: Exception, expected: tuple[type[Exception], str]
) -> None:
    kind, reason = expected
    classified = classify(error, what="the file")
    assert isinstance(classified, kind)
    assert classified.reason == reason


def test_a_failed_read_is_not_mistaken_for_a_broken_file() -> None:
    with pytest.raises(TransientError):
        classify(TransientError("S3 went away"), what="the file")


def test_the_declared_size_of_a_heic_is_read_from_its_boxes_without_decoding() -> None:
    data = images.declaring(images.heic(64, 64), 30_000, 20_000)
    assert heif_declared_size(io.BytesIO(data)) == (30_000, 20_000)


def test_a_jpeg_orientation_is_left_to_the_caller_and_a_tiff_one_to_the_decoder() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = Image.open(io.BytesIO(images.jpeg(64, 32, exif=exif.tobytes())))
    tiff = Image.open(io.BytesIO(images.tiff(64, 32, orientation=6)))
    assert (read_orientation(jpeg).pending, read_orientation(jpeg).displayed(jpeg.size)) == (
        6,
        (32, 64),
    )
    assert (read_orientation(tiff).pending, read_orientation(tiff).displayed(tiff.size)) == (
        1,
        (32, 64),
    )


def test_an_mp4_is_not_taken_for_a_heif() -> None:
    assert sniff(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom").format is None
