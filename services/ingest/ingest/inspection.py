"""What an upload really is: streamed, hashed, sniffed from its bytes and checked with Pillow.

Nothing here trusts the key's extension or the declared Content-Type. The checks are ordered from
cheapest to dearest: size (from S3's own numbers, before a byte is read), magic bytes, header
dimensions (no pixel decoded), then a decode small enough to be cheap but complete enough to catch
a truncated file.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from PIL import (
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from media_shared.limits import FrameLimitError, count_frames

# Formats ingest accepts, by the name the events use, with their canonical content type.
CONTENT_TYPES: dict[str, str] = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
}
ALLOWED_DESCRIPTION = ", ".join(CONTENT_TYPES.values())

SNIFF_BYTES = 64
CHUNK_BYTES = 1024 * 1024
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
# Longest side requested from the JPEG decoder's DCT scaling: it decodes at 1/8 scale, yet still
# walks every entropy-coded segment, so a truncated file fails.
DRAFT_SIDE = 64

_OPENERS: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,
    "png": PngImagePlugin.PngImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
}


class UploadRejectedError(Exception):
    """The upload fails a check: an expected outcome (AssetRejected), not a processing error."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Sniffed:
    """What the magic bytes say. ``format`` is set only for a format ingest accepts."""

    format: str | None
    content_type: str | None


@dataclass(frozen=True)
class ImageInfo:
    format: str
    content_type: str
    width: int
    height: int


class Spooled:
    """An upload's bytes on local storage (memory, spilling to /tmp), with their size and hash."""

    def __init__(self, file: IO[bytes], size: int, sha256: str, head: bytes) -> None:
        self.file = file
        self.size = size
        self.sha256 = sha256
        self.head = head

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> Spooled:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def spool(
    chunks: Iterable[bytes],
    *,
    limit: int,
    memory_bytes: int = SPOOL_MEMORY_BYTES,
    directory: str | None = None,
) -> Spooled:
    """Copy ``chunks`` into a temporary file, hashing as they pass; never the whole in memory.

    Stops with ``too_large`` as soon as more than ``limit`` bytes arrived, whatever S3 said first.
    """
    digest = hashlib.sha256()
    file: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by Spooled)
        max_size=memory_bytes, mode="w+b", dir=directory
    )
    size = 0
    head = b""
    try:
        for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if size > limit:
                raise UploadRejectedError(
                    "too_large", f"the upload is over the limit of {limit} bytes"
                )
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            digest.update(chunk)
            file.write(chunk)
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return Spooled(file, size, digest.hexdigest(), head)


def sniff(head: bytes) -> Sniffed:
    """Identify a file by its first bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return _allowed("jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _allowed("png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _allowed("webp")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _allowed("gif")
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _allowed("tiff")
    return Sniffed(format=None, content_type=_other_content_type(head))


def _allowed(fmt: str) -> Sniffed:
    return Sniffed(format=fmt, content_type=CONTENT_TYPES[fmt])


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"}


def _other_content_type(head: bytes) -> str | None:
    """A best guess for files ingest refuses, to make the rejection's detail useful."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith(b"\x1f\x8b"):
        return "application/gzip"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "image/heic"
        if brand in (b"avif", b"avis"):
            return "image/avif"
        return "video/mp4"
    if b"<svg" in head.lower():
        return "image/svg+xml"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the sniffed bytes.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text and all(ch.isprintable() or ch in "\t\r\n" for ch in text):
        return "text/plain"
    return None


def inspect_image(file: IO[bytes], sniffed: Sniffed, *, max_pixels: int) -> ImageInfo:
    """Check the spooled bytes are a sound image of the sniffed format; return its dimensions.

    Raises UploadRejectedError with ``unsupported_type``, ``decompression_bomb`` or ``corrupt``.
    The format's own Pillow plugin is used directly, so nothing but that format is parsed and
    Pillow's process-wide decompression-bomb limit plays no part: ``max_pixels`` decides.
    """
    if sniffed.format is None:
        what = sniffed.content_type or "an unrecognised type"
        raise UploadRejectedError(
            "unsupported_type", f"sniffed {what}; allowed: {ALLOWED_DESCRIPTION}"
        )
    fmt = sniffed.format
    file.seek(0)
    try:
        image = _OPENERS[fmt](file)
    except Exception as error:  # Pillow raises many types for bad headers; all mean "corrupt".
        raise UploadRejectedError("corrupt", f"the {fmt} header cannot be read: {error}") from None
    with image:
        width, height = image.size
        pixels = width * height
        if width < 1 or height < 1:
            raise UploadRejectedError("corrupt", f"the {fmt} header declares {width}x{height}")
        if pixels > max_pixels:
            raise UploadRejectedError(
                "decompression_bomb",
                f"image is {width}x{height} = {pixels} pixels, over the limit of {max_pixels}",
            )
        try:  # what any service would walk: refuse here what no service should
            count_frames(image)
        except FrameLimitError as error:
            raise UploadRejectedError("decompression_bomb", str(error)) from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                if fmt == "jpeg":
                    image.draft(None, (DRAFT_SIDE, DRAFT_SIDE))
                image.load()
        except Image.DecompressionBombError as error:
            raise UploadRejectedError("decompression_bomb", str(error)) from None
        except Exception as error:  # truncated or garbled data: any decoder failure.
            raise UploadRejectedError(
                "corrupt", f"the {fmt} data cannot be decoded: {error}"
            ) from None
    return ImageInfo(format=fmt, content_type=CONTENT_TYPES[fmt], width=width, height=height)
