"""S3RangeFile: a seekable file over an S3 object that fetches only the ranges read (moto)."""

from __future__ import annotations

import io
import random
from typing import Any

import pytest

from media_shared import OriginalMissingError
from metadata_extractor.imaging import extract
from metadata_extractor.logic import FIRST_BLOCK, OriginalReadError, S3Objects, S3RangeFile
from tests.support import images


def put(stack: Any, key: str, data: bytes) -> None:
    stack.s3.put_object(Bucket=stack.originals, Key=key, Body=data)


def test_reads_and_seeks_return_exactly_the_objects_bytes(stack: Any) -> None:
    # given a 1 MiB object of random bytes
    data = random.Random(7).randbytes(1024 * 1024)
    put(stack, "originals/random", data)
    file = io.BufferedReader(S3RangeFile(stack.s3, stack.originals, "originals/random"))
    rng = random.Random(8)

    # when it is read at random places, forwards and backwards
    for _ in range(200):
        where, count = rng.randrange(len(data) + 10), rng.randrange(1, 70_000)
        whence = rng.choice((io.SEEK_SET, io.SEEK_END))
        offset = where if whence == io.SEEK_SET else where - len(data) - 10

        # then every read returns the object's bytes at that place (short only at the end)
        position = file.seek(max(offset, -len(data)), whence)
        assert file.read(count) == data[position : position + count]


def test_extracting_a_large_photo_fetches_only_its_first_block(stack: Any) -> None:
    # given a 24 MP camera JPEG of several megabytes
    data = images.jpeg(6000, 4000, quality=95, exif=images.camera_exif(orientation=6))
    assert len(data) > 10 * FIRST_BLOCK
    put(stack, "originals/big", data)
    raw = S3RangeFile(stack.s3, stack.originals, "originals/big")

    # when its metadata is extracted through the range file
    found = extract(io.BufferedReader(raw))

    # then one GET of the first block was enough
    assert (found.width, found.height, found.exif.make) == (4000, 6000, "FUJIFILM")
    assert raw.requests == 1
    assert raw.bytes_fetched == FIRST_BLOCK
    assert raw.size == len(data)


def test_reading_a_whole_file_uses_few_growing_ranges(stack: Any) -> None:
    data = random.Random(9).randbytes(6 * 1024 * 1024)
    put(stack, "originals/sequential", data)
    raw = S3RangeFile(stack.s3, stack.originals, "originals/sequential")

    assert io.BufferedReader(raw).read() == data
    assert raw.requests <= 8
    assert raw.bytes_fetched == len(data)


def test_an_empty_object_is_a_file_of_no_bytes(stack: Any) -> None:
    put(stack, "originals/empty", b"")

    raw = S3RangeFile(stack.s3, stack.originals, "originals/empty")

    assert raw.size == 0
    assert io.BufferedReader(raw).read() == b""


def test_a_missing_object_is_original_missing(stack: Any) -> None:
    with pytest.raises(OriginalMissingError) as caught:
        S3RangeFile(stack.s3, stack.originals, "originals/nothing-here")

    assert caught.value.reason == "original_missing"


def test_an_object_replaced_while_being_read_is_a_retryable_read_error(stack: Any) -> None:
    # given a file opened on one version of an object
    put(stack, "originals/moving", random.Random(1).randbytes(FIRST_BLOCK * 4))
    file = io.BufferedReader(S3RangeFile(stack.s3, stack.originals, "originals/moving"))

    # when the object is replaced before the rest is read
    put(stack, "originals/moving", random.Random(2).randbytes(FIRST_BLOCK * 4))

    # then reading on fails loudly (not as a corrupt image): the event will be retried
    file.seek(FIRST_BLOCK * 2)
    with pytest.raises(OriginalReadError):
        file.read(10)
    assert not issubclass(OriginalReadError, OSError)


def test_s3_objects_opens_an_original_as_a_readable_file(stack: Any) -> None:
    put(stack, "originals/photo", images.png(64, 48))

    with S3Objects(stack.s3).original(stack.originals, "originals/photo", None) as source:
        found = extract(source)

    assert (found.format, found.width, found.height) == ("png", 64, 48)


def test_a_large_png_is_walked_to_its_late_chunks_in_few_ranges(stack: Any) -> None:
    # given a 12 MP PNG whose EXIF (orientation 6) sits after its pixel data
    data = images.png_oriented(6, where="late-exif", width=4000, height=3000, compress_level=1)
    put(stack, "originals/late.png", data)
    raw = S3RangeFile(stack.s3, stack.originals, "originals/late.png")

    # when its metadata is extracted through the range file
    found = extract(io.BufferedReader(raw))

    # then the late chunk was found (walking chunk headers, skipping the pixels) in few GETs
    assert (found.width, found.height, found.orientation) == (3000, 4000, 6)
    assert raw.requests <= 10, raw.requests


class _ShortBody:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data


class _TruncatingS3:
    """An S3 client whose first range is whole and every later range comes back empty."""

    def __init__(self, size: int, first: bytes) -> None:
        self.size = size
        self.first = first
        self.calls = 0

    def get_object(self, **arguments: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls > 5:  # the bug this guards against: asking again and again, forever
            raise AssertionError("the range file keeps asking for a range S3 answered empty")
        start = int(arguments["Range"].removeprefix("bytes=").split("-")[0])
        data = self.first if start == 0 else b""
        return {
            "Body": _ShortBody(data),
            "ETag": '"etag"',
            "ContentRange": f"bytes {start}-{start + max(len(data), 1) - 1}/{self.size}",
        }


def test_a_range_read_that_returns_no_bytes_is_a_clear_read_error_not_a_loop() -> None:
    # given an object of 1 MiB whose ranges after the first block come back with 0 bytes
    client = _TruncatingS3(1024 * 1024, b"\0" * FIRST_BLOCK)
    raw = S3RangeFile(client, "originals-bucket", "originals/short")  # type: ignore[arg-type]

    # when a reader asks for bytes past the first block
    raw.seek(FIRST_BLOCK * 2)

    # then the read stops at once with a retryable error naming the object and the range
    with pytest.raises(OriginalReadError, match=r"originals/short.*0 bytes"):
        raw.read(10)
    assert client.calls == 2
