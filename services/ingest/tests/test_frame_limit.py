"""Ingest refuses a file with more frames (pages) than any service walks: the review's stall."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from ingest.inspection import SNIFF_BYTES, UploadRejectedError, inspect_image, sniff
from media_shared.limits import MAX_FRAMES
from tests.support.pages import gif_frames, tiff_pages

MAKERS: dict[str, Callable[[int], bytes]] = {"tiff": tiff_pages, "gif": gif_frames}


def inspected(data: bytes) -> str:
    return inspect_image(io.BytesIO(data), sniff(data[:SNIFF_BYTES]), max_pixels=10_000_000).format


@pytest.mark.parametrize("kind", ["tiff", "gif"])
def test_a_file_with_more_frames_than_any_service_walks_is_a_decompression_bomb(kind: str) -> None:
    # Given a small file with one frame (page) more than the services walk
    data = MAKERS[kind](MAX_FRAMES + 1)
    assert len(data) < 200_000
    # Then ingest rejects it, before the extractor could stall on it
    with pytest.raises(UploadRejectedError) as rejected:
        inspected(data)
    assert rejected.value.reason == "decompression_bomb"
    assert f"more than {MAX_FRAMES}" in rejected.value.detail


@pytest.mark.parametrize("kind", ["tiff", "gif"])
def test_a_file_at_the_frame_limit_is_accepted(kind: str) -> None:
    assert inspected(MAKERS[kind](MAX_FRAMES)) == kind
