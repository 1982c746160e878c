"""The image work of the thumbnailer: pure functions from an image file to encoded renditions.

Nothing here knows about AWS or events. The pipeline, and why it is fast:

1. **Open** the file (header only) and refuse it before decoding if its declared pixel count is
   over the limit (``decompression_bomb``); a file Pillow cannot parse is ``corrupt``.
2. **Decode once**, at the smallest scale that still serves the largest rendition: for JPEG,
   ``Image.draft`` makes libjpeg decode at 1/2, 1/4 or 1/8 scale in the DCT (a 24 MP photo for a
   1024 px rendition decodes as 6 MP at 1/2 scale, or less). Animated files give their first frame.
3. **Normalise** the mode to 8 bits per channel (16-bit scaled, not clipped; palettes and grey with
   alpha expanded), then resize to the largest rendition with Lanczos, reducing first by an
   integer factor when the image is far larger (``reducing_gap``).
4. **Colour**: convert to sRGB with littleCMS when the file embeds an ICC profile (CMYK without a
   profile: Pillow's conversion); the outputs then carry no profile and are read as sRGB.
5. **Orientation**: the EXIF orientation is applied (``ImageOps.exif_transpose`` semantics) on the
   largest rendition, which is cheaper than on the decoded image; smaller renditions inherit it.
6. **Each smaller rendition is derived from the previous, larger one** (a factor of about two
   each time, so the Lanczos kernel stays small), and **encoded in a small thread pool** while
   the next one is being resized: Pillow releases the GIL in its encoders and resamplers, so the
   two vCPUs of a 1769 MB Lambda both work.

Renditions never upscale. Sizes are processed in ascending order; the first size at least as
large as the source's longest side yields one rendition at the source's own dimensions, and the
larger sizes are left out, since they would be byte-for-byte the same file (a 300 px source with
sizes 256, 512, 1024 gives 256 -> 256 px and 512 -> 300 px, nothing for 1024).

Outputs carry no metadata: no EXIF (so no GPS), no XMP, no ICC profile.
"""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Final, cast

from PIL import Image, ImageCms, ImageFile

from media_shared.exceptions import PermanentError
from media_shared.imaging import Orientation, classify, read_orientation
from media_shared.imaging import open_image as open_untrusted
from media_shared.limits import bytes_per_pixel, check_decode, jpeg_coefficient_bytes
from thumbnailer.placeholder import blurhash_of
from thumbnailer.settings import OutputFormat

# Measured on 1024 px renditions of 12 MP test photographs (quality 80, one core): method 4 is
# 6-9% smaller and about 0.5 dB better than method 2 for 3x the time (~48 ms vs ~16 ms); methods
# 5 and 6 cost more again for under 1%. Renditions are written once and served many times, so 4.
WEBP_METHOD: Final = 4
# How far above the target an integer ``reduce`` may stop before Lanczos finishes the resize.
# Sources with no scaled decode (PNG, WebP, TIFF, GIF) reach here at full size: at 1.5 a 12 MP
# PNG is box-reduced by 2 before Lanczos takes 2000 px to 1024 px, which measured 51 ms against
# 150-370 ms for Lanczos alone (make bench), with Lanczos still doing a >1.5x reduction at the end.
REDUCING_GAP: Final = 1.5
ENCODE_WORKERS: Final = 2
CONTENT_TYPES: Final[dict[str, str]] = {
    "webp": "image/webp",
    "jpeg": "image/jpeg",
    "avif": "image/avif",
}
EXTENSIONS: Final[dict[str, str]] = {"webp": "webp", "jpeg": "jpg", "avif": "avif"}
# AVIF (libavif with libaom, Pillow's plugin): speed 8 encodes a 1024 px rendition in ~115 ms
# (speed 6: ~490 ms) for the same bytes on test photographs; its quality scale is not WebP's:
# q60 is about WebP q80 to the eye, at two thirds of the bytes.
AVIF_SPEED: Final = 8
AVIF_QUALITY_OFFSET: Final = -20

_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Rendition:
    """One encoded thumbnail. ``size`` is the requested longest side (the key's name)."""

    size: int
    width: int
    height: int
    format: OutputFormat
    data: bytes = field(repr=False)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


@dataclass(frozen=True)
class RenderResult:
    """The renditions of one image, smallest first, and what it took to make them."""

    source_width: int
    source_height: int
    source_format: str
    renditions: tuple[Rendition, ...]
    decoded_width: int
    decoded_height: int
    orientation: Orientation = field(default_factory=Orientation)
    blurhash: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


_pool: ThreadPoolExecutor | None = None


def encode_pool() -> ThreadPoolExecutor:
    """The process-wide encoder pool, created on first use and kept across invocations."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=ENCODE_WORKERS, thread_name_prefix="encode")
    return _pool


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def fit(width: int, height: int, size: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled so the longest side is ``size``; never enlarged."""
    longest = max(width, height)
    if longest <= size:
        return width, height
    scale = size / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def plan(width: int, height: int, sizes: Sequence[int]) -> list[tuple[int, tuple[int, int]]]:
    """(size, dimensions) of each rendition to make, smallest first, without duplicates.

    The first size that reaches the source's own dimensions is the last one made.
    """
    renditions = []
    for size in sorted(set(sizes)):
        dimensions = fit(width, height, size)
        renditions.append((size, dimensions))
        if dimensions == (width, height):
            break
    return renditions


def _swap(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def open_image(source: IO[bytes] | bytes, *, max_pixels: int) -> ImageFile.ImageFile:
    """Open ``source`` (headers only) and check its declared size against ``max_pixels``.

    The checks and the reasons are ingest's (``media_shared.imaging``): the same file fails the
    same way in every service.
    """
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    with warnings.catch_warnings():
        # A broken EXIF block only costs the orientation (taken as 1): no need to warn.
        warnings.filterwarnings("ignore", message="(?i).*corrupt exif", category=UserWarning)
        image, _ = open_untrusted(stream, max_pixels=max_pixels)
    return image


def _is_jpeg(image: Image.Image) -> bool:
    return image.format in ("JPEG", "MPO")


def to_8bit(image: Image.Image) -> Image.Image:
    """The decoded image in a mode the resampler and encoders take: L, RGB, RGBA or CMYK."""
    mode = image.mode
    if mode in ("L", "RGB", "RGBA", "CMYK"):
        return image
    if mode.startswith("I;16"):
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    if mode in ("I", "F"):
        low, high = cast("tuple[float, float]", image.getextrema())
        span = float(high) - float(low) or 1.0
        scale = 255.0 / span
        offset = -float(low) * scale
        # An F image is scaled as it is (converting it to F first was a full-size copy), and
        # no intermediate outlives the step that needs it.
        scaled = (image if mode == "F" else image.convert("F")).point(
            lambda value: value * scale + offset
        )
        return scaled.convert("L")
    if mode == "1":
        return image.convert("L")
    if mode in ("LA", "La", "PA", "RGBa"):
        return image.convert("RGBA")
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    return image.convert("RGB")


def working_bytes_per_pixel(mode: str, info: Mapping[str | tuple[int, int], object]) -> int:
    """Bytes per decoded pixel the pipeline holds at once: the decoded image, what ``to_8bit``
    makes of it at full size, and the premultiplied copy Pillow's resampler makes of RGBA.

    Checked against peak RSS at 100 MP: F 9 (the image, its scaled copy, the 8-bit result;
    12 before the F-to-F copy was dropped), RGBA 8, P 5, CMYK and RGB 4.
    """
    decoded = bytes_per_pixel(mode)
    if mode in ("L", "RGB", "CMYK"):
        return decoded
    if mode == "RGBA":
        return decoded + 4  # the resampler's premultiplied RGBa copy
    if mode.startswith("I;16"):
        return decoded + 4 + 4  # I, then its scaled copy (then L, once I is gone)
    if mode == "F":
        return decoded + 4 + 1  # its scaled copy, then L
    if mode == "I":
        return decoded + 4 + 4  # F, then its scaled copy (then L, once F is gone)
    if mode == "1":
        return decoded + 1
    if mode in ("LA", "La", "PA", "RGBa") or (mode == "P" and "transparency" in info):
        return decoded + 4 + 4  # RGBA, then the resampler's copy
    return decoded + 4  # RGB (P without transparency, YCbCr, LAB, HSV, ...)


@lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=16)
def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    """A transform from the embedded profile to sRGB (cached: photos share a few profiles)."""
    profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    return ImageCms.buildTransform(
        profile, _srgb(), mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
    )


def to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """``image`` (L, RGB, RGBA or CMYK) in sRGB: RGB or RGBA, or L when it was grey unmanaged.

    An embedded profile that littleCMS rejects, or that does not match the image's mode, is
    ignored: the pixels are then taken as they are (the behaviour of most viewers).
    """
    alpha = image.getchannel("A") if image.mode == "RGBA" else None
    colour = image.convert("RGB") if alpha is not None else image
    converted: Image.Image | None = None
    if icc:
        try:
            converted = ImageCms.applyTransform(colour, _transform(icc, colour.mode))
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None
    if converted is None:
        converted = colour if colour.mode in ("RGB", "L") else colour.convert("RGB")
    if alpha is not None:
        converted = converted.convert("RGB")
        converted.putalpha(alpha)
    return converted


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def encode(image: Image.Image, output: OutputFormat, quality: int) -> bytes:
    """``image`` as ``output`` with no metadata at all (no EXIF, XMP or ICC profile)."""
    buffer = io.BytesIO()
    if output == "webp":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGB")
        image.save(buffer, format="WEBP", quality=quality, method=WEBP_METHOD)
    elif output == "avif":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGB")
        image.save(
            buffer,
            format="AVIF",
            quality=max(1, quality + AVIF_QUALITY_OFFSET),
            speed=AVIF_SPEED,
        )
    else:
        if image.mode == "RGBA":
            flattened = Image.new("RGB", image.size, (255, 255, 255))
            flattened.paste(image, mask=image.getchannel("A"))
            image = flattened
        elif image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _encoded(size: int, image: Image.Image, output: OutputFormat, quality: int) -> Rendition:
    width, height = image.size
    return Rendition(size, width, height, output, encode(image, output, quality))


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------


def render(
    source: IO[bytes] | bytes,
    *,
    sizes: Sequence[int],
    output: OutputFormat = "webp",
    quality: int = 80,
    also: Sequence[OutputFormat] = (),
    max_pixels: int = 100_000_000,
    memory_budget: int | None = None,
    memory_mb: int | None = None,
    executor: Executor | None = None,
) -> RenderResult:
    """Renditions of the image in ``source`` at ``sizes`` (longest side), smallest first; each
    size in ``output`` and then in each of ``also`` (e.g. AVIF beside WebP).

    Raises DecompressionBombError or CorruptImageError (both PermanentError). With
    ``memory_budget`` (bytes; the function has ``memory_mb``), a decode whose estimate
    (``working_bytes_per_pixel`` at the decoded scale, plus a progressive JPEG's coefficients at
    full size) is over it is refused before decoding: MemoryBudgetError, a
    DecompressionBombError.
    """
    started = time.perf_counter()
    image = open_image(source, max_pixels=max_pixels)
    source_format = "jpeg" if _is_jpeg(image) else str(image.format or "unknown").lower()
    if source_format == "heif":
        source_format = "heic"
    opened_size = image.size
    # Read before decoding, from the headers (for PNG, chunks after the pixels too): the same
    # function the metadata-extractor reports from, so both agree on the displayed size.
    oriented = read_orientation(image)
    orientation = oriented.pending
    # TIFF and HEIF decoders apply the orientation themselves (their size is already as
    # displayed); for every other format it is still to be applied after decoding.
    source_width, source_height = oriented.displayed(opened_size)
    steps = plan(source_width, source_height, sizes)

    box: tuple[float, float, float, float] | None = None
    coefficients = jpeg_coefficient_bytes(image)  # full size: before the draft
    try:
        if _is_jpeg(image):
            largest = steps[-1][1]
            drafted = image.draft(image.mode, _swap(largest, orientation))
            if drafted is not None:
                box = drafted[1]
        if memory_budget is not None:
            decoded_w, decoded_h = image.size
            kind = f"progressive {source_format}" if coefficients else source_format
            check_decode(
                decoded_w * decoded_h * working_bytes_per_pixel(image.mode, image.info)
                + coefficients,
                budget=memory_budget,
                memory_mb=memory_mb or 0,
                what=f"this {opened_size[0]}x{opened_size[1]} {image.mode} {kind}",
            )
        image.load()
    except PermanentError:
        raise
    except Exception as error:  # any decoder failure of an untrusted file has a reason
        raise classify(error, what=f"{source_format} could not be decoded") from None
    decoded = time.perf_counter()
    icc = image.info.get("icc_profile")

    working = to_8bit(image)
    largest_size, largest = steps[-1]
    target = _swap(largest, orientation)
    if working.size != target or box is not None:
        working = working.resize(
            target, Image.Resampling.LANCZOS, box=box, reducing_gap=REDUCING_GAP
        )
    working = to_srgb(working, icc if isinstance(icc, bytes) else None)
    method = _TRANSPOSE.get(orientation)
    if method is not None:
        working = working.transpose(method)
    working.info = {}

    # ``also``: more formats of every rendition (AVIF beside WebP), encoded from the same pixels.
    outputs: list[OutputFormat] = [output, *(kind for kind in also if kind != output)]
    pool = executor or encode_pool()
    futures: list[Future[Rendition]] = [
        pool.submit(_encoded, largest_size, working, kind, quality) for kind in outputs
    ]
    for size, dimensions in reversed(steps[:-1]):
        working = working.resize(dimensions, Image.Resampling.LANCZOS)
        working.info = {}
        futures.extend(pool.submit(_encoded, size, working, kind, quality) for kind in outputs)
    placeholder = blurhash_of(working)
    resized = time.perf_counter()
    renditions = sorted(
        (future.result() for future in futures), key=lambda r: (r.size, outputs.index(r.format))
    )
    finished = time.perf_counter()

    return RenderResult(
        source_width=source_width,
        source_height=source_height,
        source_format=source_format,
        renditions=tuple(renditions),
        decoded_width=image.size[0],
        decoded_height=image.size[1],
        orientation=oriented,
        blurhash=placeholder,
        timings_ms={
            "decode": round((decoded - started) * 1000, 1),
            "resize": round((resized - decoded) * 1000, 1),
            "encode_wait": round((finished - resized) * 1000, 1),
            "total": round((finished - started) * 1000, 1),
        },
    )
