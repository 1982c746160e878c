"""Everything the metadata-extractor reads from its environment, read once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from media_shared import settings as env_names
from media_shared.settings import CommonSettings, boolean, integer, required

INCLUDE_GPS = "INCLUDE_GPS"
MAX_IMAGE_PIXELS = "MAX_IMAGE_PIXELS"
# The same default as ingest's and the thumbnailer's: one file, one verdict.
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000


@dataclass(frozen=True)
class MetadataExtractorSettings:
    """Where originals are read, and whether GPS coordinates may leave the service.

    ``include_gps`` is off by default: a photo's location is personal data, so it is shared only
    where a deployment decides to (``INCLUDE_GPS=true``); otherwise events say only that it was
    withheld.
    """

    common: CommonSettings
    originals_bucket: str
    include_gps: bool = False
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MetadataExtractorSettings:
        source = os.environ if env is None else env
        return cls(
            common=CommonSettings.from_env(source),
            originals_bucket=required(env_names.ORIGINALS_BUCKET, source),
            include_gps=boolean(INCLUDE_GPS, False, source),
            max_image_pixels=integer(MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGE_PIXELS, source, minimum=1),
        )
