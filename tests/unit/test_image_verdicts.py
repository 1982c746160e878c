"""One file, one verdict: ingest, the thumbnailer and the metadata-extractor name the same reason.

A file ingest would reject can still reach the other two (a replayed or hand-published event, an
original written by an older ingest). Each service opens files through ``media_shared.imaging``,
so the reason a bad file is given does not depend on which service meets it first.
"""

from __future__ import annotations

import io

import pytest

from ingest.inspection import UploadRejectedError, inspect_image, sniff
from media_shared import PermanentError
from metadata_extractor.imaging import extract
from tests.support import images
from thumbnailer.imaging import render

MAX_PIXELS = 100_000_000

BAD_FILES = {
    "text": (images.text_file(), "unsupported_type"),
    "bmp": (images.encode(images.photo(32, 32), "BMP"), "unsupported_type"),
    "dds": (b"DDS |\x00\x00\x00\x07\x10\x08\x00" + bytes(120), "unsupported_type"),
    "bomb-png": (images.decompression_bomb_png(), "decompression_bomb"),
    "text-chunk-bomb-png": (images.png_text_bomb(), "decompression_bomb"),
    "bomb-heic": (images.declaring(images.heic(64, 64), 40_000, 40_000), "decompression_bomb"),
    "bomb-avif": (images.declaring(images.avif(64, 64), 12_000, 12_000), "decompression_bomb"),
    "heic-cut-in-its-header": (images.heic(64, 64)[:40], "corrupt"),
    "jpeg-cut-in-its-header": (images.truncated_jpeg(keep=0.01), "corrupt"),
}


def _ingest(data: bytes) -> str:
    with pytest.raises(UploadRejectedError) as rejected:
        inspect_image(io.BytesIO(data), sniff(data[:64]), max_pixels=MAX_PIXELS)
    return rejected.value.reason


def _thumbnailer(data: bytes) -> str:
    with pytest.raises(PermanentError) as failed:
        render(data, sizes=(64,), max_pixels=MAX_PIXELS)
    return failed.value.reason


def _extractor(data: bytes) -> str:
    with pytest.raises(PermanentError) as failed:
        extract(data, max_pixels=MAX_PIXELS)
    return failed.value.reason


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_gets_the_same_reason_in_every_service(name: str) -> None:
    # given a file that cannot be taken
    data, reason = BAD_FILES[name]
    # when ingest, the thumbnailer and the extractor each meet it
    verdicts = {
        "ingest": _ingest(data),
        "thumbnailer": _thumbnailer(data),
        "metadata-extractor": _extractor(data),
    }
    # then all three give it the same reason
    assert verdicts == dict.fromkeys(verdicts, reason)
