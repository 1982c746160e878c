"""Bounds on the work one file may cost any service: frames or pages walked, memory decoded.

Why: Pillow's ``n_frames`` on a TIFF walks the whole page chain, checking each new page against
every page seen (quadratic): 64k pages in 7.3 MB took 40 s, over a function's timeout, and a
timeout fails the whole batch. A GIF with millions of frames is the same shape, linearly. Every
service therefore counts frames with :func:`count_frames`, which stops after ``limit`` and says
so; ingest rejects such an upload (``decompression_bomb``) so the services after it never see it.

Memory: a decode costs pixels x bytes per pixel of the mode Pillow decodes into (a CMYK JPEG is
4 bytes a pixel, a float TIFF 4, 16-bit RGBA 8), and a progressive JPEG holds its coefficients
for the whole image until the last scan (2 bytes per sample, at full size whatever scale it is
drafted to: 800 MB for a 100 MP CMYK JPEG). :func:`decode_bytes` and
:func:`jpeg_coefficient_bytes` estimate that, so a service can refuse what would not fit its
memory before decoding it: :func:`decode_budget` derives what a function may spend on one decode
from its configured memory (``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, :func:`function_memory_mb`), and
:func:`check_decode` refuses more with :class:`MemoryBudgetError`, a ``decompression_bomb``
(ingest rejects the upload; the thumbnailer parks the event). The estimates were checked against
peak RSS (within 5% for CMYK progressive JPEG, float TIFF, RGBA PNG and GIF at 100 MP).

A GIF's frames are counted from its block structure, without decoding a frame: Pillow's ``seek``
decodes every frame it passes and converts it to RGB(A) (1.2 GB for three 100 MP frames).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Final

from media_shared.exceptions import DecompressionBombError

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
    if image.format == "GIF":
        return _gif_frames(image, limit)
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


def _skip_sub_blocks(fp: IO[bytes]) -> bool:
    """Skip a GIF data sub-block chain; False when the file ends inside it."""
    while True:
        size = fp.read(1)
        if not size:
            return False
        if size[0] == 0:
            return True
        fp.seek(size[0], io.SEEK_CUR)


def _gif_frames(image: Image.Image, limit: int) -> int:
    """Frames of a GIF from its blocks (image descriptors), reading no pixel; at most ``limit``.

    The file position is put back, so the image reads on as before.
    """
    fp: IO[bytes] = image.fp  # type: ignore[attr-defined]
    position = fp.tell()
    try:
        fp.seek(0)
        screen = fp.read(13)
        if len(screen) < 13:
            return 1
        if screen[10] & 0x80:  # global colour table
            fp.seek(3 << ((screen[10] & 7) + 1), io.SEEK_CUR)
        frames = 0
        while True:
            introducer = fp.read(1)
            if introducer == b"!":  # extension: label, then sub-blocks
                if not fp.read(1) or not _skip_sub_blocks(fp):
                    break
            elif introducer == b",":  # image descriptor: one frame
                descriptor = fp.read(9)
                if len(descriptor) < 9:
                    break
                frames += 1
                if frames > limit:
                    raise FrameLimitError(limit, image.format)
                if descriptor[8] & 0x80:  # local colour table
                    fp.seek(3 << ((descriptor[8] & 7) + 1), io.SEEK_CUR)
                if not fp.read(1) or not _skip_sub_blocks(fp):  # LZW code size, then the data
                    break
            else:  # the trailer, the end of the file, or bytes no frame follows
                break
        return max(1, frames)
    finally:
        fp.seek(position)


#: The environment variable Lambda sets to the function's configured memory, in MB.
MEMORY_SIZE_ENV: Final = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
MIB: Final = 1024 * 1024
#: What a function holds besides a decode: the interpreter, Pillow, boto3 and Powertools (about
#: 35 MB measured, 60-90 MB as Lambda reports it), the event batch and encoder buffers.
RESERVE_MB: Final = 128
#: The share of the rest one decode may take: the estimates leave out the allocator's slack and
#: small intermediates (a resize's reduced copy), so they are not run to the last byte.
DECODE_SHARE: Final = 0.75


class MemoryBudgetError(DecompressionBombError):
    """Decoding the file would need more memory than the function may spend on one decode."""


def function_memory_mb(default: int, env: Mapping[str, str] | None = None) -> int:
    """The function's configured memory: ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, else ``default``."""
    raw = (os.environ if env is None else env).get(MEMORY_SIZE_ENV, "")
    try:
        value = int(raw)
    except ValueError:
        return default
    return value if value > 0 else default


def decode_budget(memory_mb: int, *, reserve_mb: int = RESERVE_MB) -> int:
    """Bytes one decode may take in a function of ``memory_mb`` that keeps ``reserve_mb`` apart."""
    return int(max(0, memory_mb - reserve_mb) * MIB * DECODE_SHARE)


def jpeg_coefficient_bytes(image: Image.Image) -> int:
    """What a progressive JPEG's decoder holds until its last scan: every DCT coefficient.

    2 bytes per coefficient, 64 per 8x8 block of every component at its own sampling (a 4:2:0
    colour photo 3 bytes a pixel, CMYK 8). Call it before ``draft``: the buffer is full size
    whatever scale the decode is drafted to. 0 for a baseline JPEG and any other format.
    """
    if image.format not in ("JPEG", "MPO") or not (
        image.info.get("progressive") or image.info.get("progression")
    ):
        return 0
    width, height = image.size
    layers = getattr(image, "layer", None) or []
    if not layers:
        return width * height * 2 * max(1, len(image.getbands()))
    h_max = max(int(layer[1]) or 1 for layer in layers)
    v_max = max(int(layer[2]) or 1 for layer in layers)
    total = 0
    for _, h_sampling, v_sampling, _ in layers:
        columns = math.ceil(math.ceil(width * (int(h_sampling) or 1) / h_max) / 8)
        rows = math.ceil(math.ceil(height * (int(v_sampling) or 1) / v_max) / 8)
        total += columns * rows * 64 * 2
    return total


def check_decode(needed: int, *, budget: int, memory_mb: int, what: str) -> None:
    """Refuse (MemoryBudgetError) a decode estimated at ``needed`` bytes over ``budget``."""
    if needed > budget:
        raise MemoryBudgetError(
            f"decoding {what} needs about {needed / MIB:,.0f} MiB, over the {budget / MIB:,.0f} "
            f"MiB a function of {memory_mb} MB spends on one image"
        )
