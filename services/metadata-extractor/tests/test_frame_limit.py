"""The extractor never walks more frames (pages) than the shared cap: no stall on a page chain."""

from __future__ import annotations

from media_shared.limits import MAX_FRAMES
from metadata_extractor.imaging import extract
from tests.support.pages import gif_frames, tiff_pages


def test_a_tiff_with_more_pages_than_the_cap_reports_the_cap_without_walking_them_all() -> None:
    # 8x the cap: Pillow's n_frames would walk all 8,000 pages (quadratic; seconds here)
    found = extract(tiff_pages(8 * MAX_FRAMES))
    assert (found.format, found.animated, found.frame_count) == ("tiff", True, MAX_FRAMES)


def test_a_gif_under_the_cap_reports_its_frames() -> None:
    found = extract(gif_frames(12))
    assert (found.format, found.animated, found.frame_count) == ("gif", True, 12)
