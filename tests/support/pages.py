"""Files with many frames or pages: cheap to store, expensive to walk (the review's stall)."""

from __future__ import annotations

import io

from PIL import Image


def tiff_pages(pages: int) -> bytes:
    """A TIFF of ``pages`` 1x1 grey pages (about 130 bytes a page)."""
    frames = [Image.new("L", (1, 1), color=n % 256) for n in range(pages)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def gif_frames(frames: int) -> bytes:
    """A GIF of ``frames`` 2x2 frames, each different from the last (so none is merged)."""
    pictures = [Image.new("L", (2, 2), color=(n % 2) * 255) for n in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=20)
    return out.getvalue()
