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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from PIL import Image

from media_shared.exceptions import PermanentError
from media_shared.imaging import (
    ALLOWED_DESCRIPTION,
    CONTENT_TYPES,
    Sniffed,
    classify,
    open_image,
    sniff,
)
from media_shared.limits import (
    FrameLimitError,
    MemoryBudgetError,
    check_decode,
    count_frames,
    decode_bytes,
    jpeg_coefficient_bytes,
)

__all__ = [
    "ALLOWED_DESCRIPTION",
    "CHUNK_BYTES",
    "CONTENT_TYPES",
    "ImageInfo",
    "Sniffed",
    "Spooled",
    "UploadRejectedError",
    "inspect_image",
    "sniff",
    "spool",
]

SNIFF_BYTES = 64
CHUNK_BYTES = 1024 * 1024
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024
# Longest side requested from the JPEG decoder's DCT scaling: it decodes at 1/8 scale, yet still
# walks every entropy-coded segment, so a truncated file fails.
DRAFT_SIDE = 64


class UploadRejectedError(Exception):
    """The upload fails a check: an expected outcome (AssetRejected), not a processing error."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


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


def inspect_image(
    file: IO[bytes],
    sniffed: Sniffed,
    *,
    max_pixels: int,
    memory_budget: int | None = None,
    memory_mb: int | None = None,
) -> ImageInfo:
    """Check the spooled bytes are a sound image of the sniffed format; return its dimensions.

    Raises UploadRejectedError with ``unsupported_type``, ``decompression_bomb`` or ``corrupt``,
    the reasons ``media_shared.imaging`` gives the same file in every service. The format's own
    Pillow plugin is used directly, so nothing but that format is parsed and Pillow's
    process-wide decompression-bomb limit plays no part: ``max_pixels`` decides.

    With ``memory_budget`` (bytes; the function has ``memory_mb``), a decode estimated over it
    is refused before it starts (``decompression_bomb``): the decoded mode's bytes per pixel at
    the scale decoded, plus a progressive JPEG's coefficients at full size
    (``media_shared.limits``).
    """
    if sniffed.format is None:
        what = sniffed.content_type or "an unrecognised type"
        raise UploadRejectedError(
            "unsupported_type", f"sniffed {what}; allowed: {ALLOWED_DESCRIPTION}"
        )
    fmt = sniffed.format
    file.seek(0)
    try:
        image, _ = open_image(file, max_pixels=max_pixels)
    except PermanentError as error:
        raise UploadRejectedError(error.reason, str(error)) from None
    with image:
        width, height = image.size
        try:  # what any service would walk: refuse here what no service should
            count_frames(image)
        except FrameLimitError as error:
            raise UploadRejectedError("decompression_bomb", str(error)) from None
        coefficients = jpeg_coefficient_bytes(image)  # full size: before the draft
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                if fmt == "jpeg":
                    image.draft(None, (DRAFT_SIDE, DRAFT_SIDE))
                if memory_budget is not None:
                    decoded_w, decoded_h = image.size
                    check_decode(
                        decode_bytes(decoded_w, decoded_h, image.mode) + coefficients,
                        budget=memory_budget,
                        memory_mb=memory_mb or 0,
                        what=_described(fmt, width, height, image.mode, coefficients),
                    )
                image.load()
        except MemoryBudgetError as error:
            raise UploadRejectedError(error.reason, str(error)) from None
        except Exception as error:  # truncated or garbled data: any decoder failure.
            failure = classify(error, what=f"the {fmt} data cannot be decoded")
            raise UploadRejectedError(failure.reason, str(failure)) from None
    return ImageInfo(format=fmt, content_type=CONTENT_TYPES[fmt], width=width, height=height)


def _described(fmt: str, width: int, height: int, mode: str, coefficients: int) -> str:
    kind = f"progressive {fmt}" if coefficients else fmt
    return f"this {width}x{height} {mode} {kind}"
