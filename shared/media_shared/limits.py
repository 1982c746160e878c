"""Bounds on the work one file may cost any service: frames or pages walked, memory decoded.

Why: Pillow's ``n_frames`` on a TIFF walks the whole page chain, checking each new page against
every page seen (quadratic): 64k pages in 7.3 MB took 40 s, over a function's timeout, and a
timeout fails the whole batch. A GIF with millions of frames is the same shape, linearly. Every
service therefore counts frames with :func:`count_frames`, which stops after ``limit`` and says
so; ingest rejects such an upload (``decompression_bomb``) so the services after it never see it.

Memory: a decode costs pixels x bytes per pixel of the mode Pillow decodes into (a CMYK JPEG is
4 bytes a pixel, a float TIFF 4, 16-bit RGBA 8), and a progressive JPEG holds its coefficients
for the whole image until the last scan (2 bytes per sample). :func:`decode_bytes` estimates
that, so a service can refuse what would not fit its memory before decoding it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from PIL import Image

#: Frames (GIF, WebP, APNG) or pages (TIFF) any service walks in one file.
MAX_FRAMES: Final = 1000
# Formats whose frame count Pillow learns only by walking the file; the others read it from a
# header (WebP's ANIM, APNG's acTL) and are checked against the limit without a walk.
_WALKED: Final = frozenset({"GIF", "TIFF"})
# Bytes per pixel of a decoded image, by Pillow mode.
_MODE_BYTES: Final = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "PA": 2,
    "La": 2,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}
# Pillow stores 3-band modes with a padding byte: an "RGB" image takes 4 bytes a pixel.
_STORED_BYTES: Final = {"RGB": 4, "YCbCr": 4, "LAB": 4, "HSV": 4}


class FrameLimitError(ValueError):
    """The file has more frames (pages) than a service walks."""

    def __init__(self, limit: int, format_name: str | None) -> None:
        super().__init__(f"the {format_name or 'image'} file has more than {limit} frames or pages")
        self.limit = limit


def count_frames(image: Image.Image, limit: int = MAX_FRAMES) -> int:
    """How many frames (pages) ``image`` has, walking at most ``limit`` of them.

    Raises FrameLimitError when there are more than ``limit``; leaves the image on the frame it
    was on. A frame that cannot be read ends the count (what follows it is not reachable).
    """
    if image.format not in _WALKED:
        count = int(getattr(image, "n_frames", 1) or 1)
        if count > limit:
            raise FrameLimitError(limit, image.format)
        return max(1, count)
    current = image.tell()
    try:
        for index in range(1, limit + 1):
            try:
                image.seek(index)
            except EOFError:
                return index
            except Exception:  # a frame that cannot be read: nothing after it is reachable
                return index
        raise FrameLimitError(limit, image.format)
    finally:
        image.seek(current)


def bytes_per_pixel(mode: str) -> int:
    """Bytes Pillow keeps per pixel of an image in ``mode`` (4 for a mode it does not list)."""
    return _STORED_BYTES.get(mode, _MODE_BYTES.get(mode, 4))


def decode_bytes(width: int, height: int, mode: str, *, progressive: bool = False) -> int:
    """Estimated memory to decode a ``width`` x ``height`` image of ``mode``, in bytes.

    A progressive JPEG also holds its DCT coefficients (2 bytes per sample of every band) until
    the last scan, whatever scale it is drafted to.
    """
    pixels = width * height
    total = pixels * bytes_per_pixel(mode)
    if progressive:
        total += pixels * 2 * max(1, _MODE_BYTES.get(mode, 4))
    return total
