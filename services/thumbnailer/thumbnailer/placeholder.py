"""A compact placeholder of an image: its BlurHash (https://blurha.sh), shown while thumbnails load.

The encoder is the ``blurhash`` package (pure Python, MIT; no compiled code to build for Lambda).
Its cost grows with the pixels it is given times the components, so it is given the image already
reduced to at most ``SIDE`` pixels on its longest side (a BlurHash keeps only a few cosine
components: a larger input changes nothing visible): about 3 ms per image.

Components follow the image's shape (4x3 landscape, 3x4 portrait, 4x4 square), as the BlurHash
authors recommend. Transparent pixels are composited on white, as the renditions' JPEG is.
"""

from __future__ import annotations

from typing import Final

import blurhash
from PIL import Image

SIDE: Final = 24
MAX_COMPONENTS: Final = 4


def components(width: int, height: int) -> tuple[int, int]:
    """(x, y) components for an image of ``width`` x ``height``."""
    if width == height:
        return MAX_COMPONENTS, MAX_COMPONENTS
    if width > height:
        return MAX_COMPONENTS, MAX_COMPONENTS - 1
    return MAX_COMPONENTS - 1, MAX_COMPONENTS


def blurhash_of(image: Image.Image) -> str:
    """The BlurHash of ``image`` (any mode), as displayed."""
    small = image.copy()
    small.thumbnail((SIDE, SIDE), Image.Resampling.BILINEAR)
    if small.mode in ("RGBA", "LA", "PA", "P"):
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, (255, 255, 255))
        small.paste(rgba, mask=rgba.getchannel("A"))
    small = small.convert("RGB")
    width, height = small.size
    pixels = list(small.get_flattened_data())
    rows = [pixels[row * width : (row + 1) * width] for row in range(height)]
    x, y = components(width, height)
    encoded: str = blurhash.encode(rows, x, y)
    return encoded
