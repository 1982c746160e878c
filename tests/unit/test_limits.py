"""What any service walks in one file is capped: frames and pages, and decode memory is known."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import GifImagePlugin, Image

from media_shared.limits import (
    MAX_FRAMES,
    MIB,
    FrameLimitError,
    MemoryBudgetError,
    check_decode,
    count_frames,
    decode_budget,
    decode_bytes,
    function_memory_mb,
    jpeg_coefficient_bytes,
)
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


def test_counting_a_gifs_frames_decodes_none_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pillow's seek decodes each frame it passes (1.2 GB for three 100 MP frames)
    decoded: list[int] = []
    load = GifImagePlugin.GifImageFile.load

    def counting_load(self: GifImagePlugin.GifImageFile) -> Any:
        decoded.append(self.tell())
        return load(self)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "load", counting_load)
    with Image.open(io.BytesIO(gif_frames(40))) as image:
        assert count_frames(image) == 40
        assert decoded == []
        # and the image reads on from where it was
        assert image.tell() == 0
        image.seek(1)
        assert image.tell() == 1


def test_a_progressive_jpegs_coefficients_are_counted_at_full_size_per_component() -> None:
    picture = Image.linear_gradient("L").resize((800, 600))
    cmyk, colour = io.BytesIO(), io.BytesIO()
    Image.merge("CMYK", [picture] * 4).save(cmyk, "JPEG", progressive=True)
    Image.merge("RGB", [picture] * 3).save(colour, "JPEG", progressive=True, subsampling=2)
    with Image.open(cmyk) as image:
        assert jpeg_coefficient_bytes(image) == 4 * 800 * 600 * 2  # 4 full-size components
    with Image.open(colour) as image:
        # 4:2:0: luma 100x75 blocks, each chroma 50x38 (300 rows round up), 64 x 2 bytes each
        assert jpeg_coefficient_bytes(image) == (100 * 75 + 2 * 50 * 38) * 128
    with Image.open(io.BytesIO(images.jpeg(800, 600))) as baseline:
        assert jpeg_coefficient_bytes(baseline) == 0


def test_the_decode_budget_comes_from_the_functions_memory() -> None:
    assert function_memory_mb(1024, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"}) == 512
    assert function_memory_mb(1024, {}) == 1024
    assert function_memory_mb(1024, {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}) == 1024
    assert decode_budget(1024, reserve_mb=128) == int(896 * MIB * 0.75)
    assert decode_budget(100, reserve_mb=128) == 0
    check_decode(10, budget=10, memory_mb=1, what="x")
    with pytest.raises(MemoryBudgetError, match="a function of 512 MB") as refused:
        check_decode(11 * MIB, budget=10 * MIB, memory_mb=512, what="this image")
    assert refused.value.reason == "decompression_bomb"
