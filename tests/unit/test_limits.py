"""What any service walks in one file is capped: frames and pages, and decode memory is known."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media_shared.limits import MAX_FRAMES, FrameLimitError, count_frames, decode_bytes
from tests.support import images
from tests.support.pages import gif_frames, tiff_pages


@pytest.mark.parametrize("make", [tiff_pages, gif_frames], ids=["tiff", "gif"])
def test_frames_up_to_the_limit_are_counted_and_the_image_stays_where_it_was(make: object) -> None:
    assert callable(make)
    with Image.open(io.BytesIO(make(5))) as image:
        assert count_frames(image) == 5
        assert image.tell() == 0
        with Image.open(io.BytesIO(make(1))) as single:
            assert count_frames(single) == 1


@pytest.mark.parametrize("make", [tiff_pages, gif_frames], ids=["tiff", "gif"])
def test_one_frame_over_the_limit_is_refused_after_walking_only_the_limit(make: object) -> None:
    assert callable(make)
    with Image.open(io.BytesIO(make(MAX_FRAMES + 1))) as image:
        with pytest.raises(FrameLimitError, match=f"more than {MAX_FRAMES} frames"):
            count_frames(image)
        assert image.tell() == 0
    with Image.open(io.BytesIO(make(MAX_FRAMES))) as image:
        assert count_frames(image) == MAX_FRAMES


def test_a_header_declared_frame_count_is_checked_without_a_walk() -> None:
    with Image.open(io.BytesIO(images.animated("webp", 32, 24, frames=4))) as image:
        assert count_frames(image) == 4
        with pytest.raises(FrameLimitError):
            count_frames(image, limit=3)


def test_decode_memory_counts_bytes_per_pixel_and_progressive_coefficients() -> None:
    assert decode_bytes(1000, 1000, "L") == 1_000_000
    assert decode_bytes(1000, 1000, "RGB") == 4_000_000  # stored with a padding byte
    assert decode_bytes(1000, 1000, "CMYK") == 4_000_000
    assert decode_bytes(1000, 1000, "F") == 4_000_000
    assert decode_bytes(1000, 1000, "CMYK", progressive=True) == 4_000_000 + 8_000_000
