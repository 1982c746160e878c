"""Everything the thumbnailer reads from its environment, read once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from media_shared import settings as env_names
from media_shared.exceptions import ConfigurationError
from media_shared.limits import decode_budget, function_memory_mb
from media_shared.settings import CommonSettings, integer, integer_list, optional, required

THUMBNAIL_SIZES = "THUMBNAIL_SIZES"
THUMBNAIL_FORMAT = "THUMBNAIL_FORMAT"
THUMBNAIL_EXTRA_FORMATS = "THUMBNAIL_EXTRA_FORMATS"
THUMBNAIL_QUALITY = "THUMBNAIL_QUALITY"
MAX_IMAGE_PIXELS = "MAX_IMAGE_PIXELS"

DEFAULT_SIZES = (256, 512, 1024)
DEFAULT_QUALITY = 80
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
MAX_SIZE = 8192
#: The function's memory when Lambda does not say (the root's default, services/thumbnailer/infra).
DEFAULT_MEMORY_MB = 1536
#: Kept apart from the decode budget: the runtime (media_shared.limits.RESERVE_MB) and the
#: original, spooled in memory up to 64 MB (thumbnailer.logic.SPOOL_BYTES).
RESERVE_MB = 192

OutputFormat = Literal["webp", "jpeg", "avif"]
FORMATS: tuple[OutputFormat, ...] = ("webp", "jpeg")
# Formats made beside the main one, per deployment: AVIF is smaller, slower to encode.
EXTRA_FORMATS: tuple[OutputFormat, ...] = ("avif",)
DEFAULT_FORMAT: OutputFormat = "webp"


@dataclass(frozen=True)
class ThumbnailerSettings:
    """Where originals are read and renditions written, and what the renditions look like.

    ``sizes`` is the longest side of each rendition, ascending and without duplicates whatever
    order the environment gave.
    """

    common: CommonSettings
    originals_bucket: str
    derived_bucket: str
    sizes: tuple[int, ...] = DEFAULT_SIZES
    format: OutputFormat = DEFAULT_FORMAT
    quality: int = DEFAULT_QUALITY
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    extra_formats: tuple[OutputFormat, ...] = ()
    memory_mb: int = DEFAULT_MEMORY_MB

    @property
    def decode_budget(self) -> int:
        """Bytes one original's decode and 8-bit scaling may take (``media_shared.limits``)."""
        return decode_budget(self.memory_mb, reserve_mb=RESERVE_MB)

    def __post_init__(self) -> None:
        if not self.sizes or any(size < 1 or size > MAX_SIZE for size in self.sizes):
            raise ConfigurationError(
                f"{THUMBNAIL_SIZES} must be sizes between 1 and {MAX_SIZE}, got {self.sizes}"
            )
        object.__setattr__(self, "sizes", tuple(sorted(set(self.sizes))))
        if self.format not in FORMATS:
            raise ConfigurationError(
                f"{THUMBNAIL_FORMAT} must be one of {', '.join(FORMATS)}, got {self.format!r}"
            )
        if not 1 <= self.quality <= 100:
            raise ConfigurationError(f"{THUMBNAIL_QUALITY} must be 1..100, got {self.quality}")
        if self.max_image_pixels < 1:
            raise ConfigurationError(f"{MAX_IMAGE_PIXELS} must be positive")
        if any(kind not in EXTRA_FORMATS for kind in self.extra_formats):
            raise ConfigurationError(
                f"{THUMBNAIL_EXTRA_FORMATS} may name {', '.join(EXTRA_FORMATS)}, "
                f"got {','.join(self.extra_formats)!r}"
            )
        object.__setattr__(self, "extra_formats", tuple(dict.fromkeys(self.extra_formats)))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ThumbnailerSettings:
        source = os.environ if env is None else env
        output = optional(THUMBNAIL_FORMAT, DEFAULT_FORMAT, source).strip().lower()
        if output == "jpg":
            output = "jpeg"
        if output not in FORMATS:
            raise ConfigurationError(
                f"{THUMBNAIL_FORMAT} must be one of {', '.join(FORMATS)}, got {output!r}"
            )
        return cls(
            common=CommonSettings.from_env(source),
            originals_bucket=required(env_names.ORIGINALS_BUCKET, source),
            derived_bucket=required(env_names.DERIVED_BUCKET, source),
            sizes=integer_list(THUMBNAIL_SIZES, DEFAULT_SIZES, source),
            format="jpeg" if output == "jpeg" else "webp",
            quality=integer(THUMBNAIL_QUALITY, DEFAULT_QUALITY, source, minimum=1),
            max_image_pixels=integer(MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGE_PIXELS, source, minimum=1),
            extra_formats=_formats(optional(THUMBNAIL_EXTRA_FORMATS, "", source)),
            memory_mb=function_memory_mb(DEFAULT_MEMORY_MB, source),
        )


def _formats(listed: str) -> tuple[OutputFormat, ...]:
    names = [name.strip().lower() for name in listed.split(",") if name.strip()]
    unknown = [name for name in names if name not in EXTRA_FORMATS]
    if unknown:
        raise ConfigurationError(
            f"{THUMBNAIL_EXTRA_FORMATS} may name {', '.join(EXTRA_FORMATS)}, got {listed!r}"
        )
    return tuple(_EXTRA[name] for name in names)


_EXTRA: dict[str, OutputFormat] = {"avif": "avif"}
