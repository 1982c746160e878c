"""Files with many frames or pages: cheap to store, expensive to walk (the review's stall)."""

from __future__ import annotations

import io
import struct

from PIL import Image


def tiff_pages(pages: int) -> bytes:
    """A TIFF of ``pages`` 1x1 grey pages (116 bytes a page), written directly.

    Each page is one pixel and an image file directory (IFD) pointing at the next, the chain
    Pillow's ``n_frames`` walks. Pillow's own multi-page save is quadratic in the page count
    (45 s for 8,000 pages), so the bytes are laid out here, as TIFF 6.0 section 2 describes.
    """
    tags = 9
    ifd_size = 2 + 12 * tags + 4
    page_size = ifd_size + 2  # the IFD, then its pixel (padded to a word boundary)
    out = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for n in range(pages):
        start = 8 + n * page_size
        pixel_at = start + ifd_size
        following = start + page_size if n < pages - 1 else 0
        entries = [  # tag, type (3 SHORT, 4 LONG), count, value: in ascending tag order
            (256, 3, 1, 1),  # ImageWidth
            (257, 3, 1, 1),  # ImageLength
            (258, 3, 1, 8),  # BitsPerSample
            (259, 3, 1, 1),  # Compression: none
            (262, 3, 1, 1),  # PhotometricInterpretation: BlackIsZero
            (273, 4, 1, pixel_at),  # StripOffsets
            (277, 3, 1, 1),  # SamplesPerPixel
            (278, 3, 1, 1),  # RowsPerStrip
            (279, 4, 1, 1),  # StripByteCounts
        ]
        out += struct.pack("<H", tags)
        for tag, kind, count, value in entries:
            packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, kind, count) + packed
        out += struct.pack("<I", following)
        out += bytes([n % 256, 0])
    return bytes(out)


def gif_frames(frames: int) -> bytes:
    """A GIF of ``frames`` 2x2 frames, each different from the last (so none is merged)."""
    pictures = [Image.new("L", (2, 2), color=(n % 2) * 255) for n in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "GIF", save_all=True, append_images=pictures[1:], duration=20)
    return out.getvalue()
