"""Everything ingest reads from its environment, read once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from media_shared import settings as env_names
from media_shared.limits import decode_budget, function_memory_mb
from media_shared.settings import CommonSettings, integer, optional, required

MAX_UPLOAD_BYTES = "MAX_UPLOAD_BYTES"
MAX_IMAGE_PIXELS = "MAX_IMAGE_PIXELS"

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
#: The function's memory when Lambda does not say (the root's default, services/ingest/infra).
DEFAULT_MEMORY_MB = 1024
#: Kept apart from the decode budget: the runtime (media_shared.limits.RESERVE_MB) and the 8 MB
#: of an upload spooled in memory (ingest.inspection.SPOOL_MEMORY_BYTES).
RESERVE_MB = 136


@dataclass(frozen=True)
class IngestSettings:
    """Where uploads come from and go to, and the limits an upload must respect.

    ``idempotency_table`` is optional: without it every delivery is processed, and duplicates are
    still recognised from the state of the buckets (see ``ingest.logic``).
    """

    common: CommonSettings
    uploads_bucket: str
    originals_bucket: str
    idempotency_table: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    memory_mb: int = DEFAULT_MEMORY_MB

    @property
    def decode_budget(self) -> int:
        """Bytes one upload's check may decode into (``media_shared.limits.decode_budget``)."""
        return decode_budget(self.memory_mb, reserve_mb=RESERVE_MB)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IngestSettings:
        source = os.environ if env is None else env
        table = optional(env_names.IDEMPOTENCY_TABLE, "", source)
        return cls(
            common=CommonSettings.from_env(source),
            uploads_bucket=required(env_names.UPLOADS_BUCKET, source),
            originals_bucket=required(env_names.ORIGINALS_BUCKET, source),
            idempotency_table=table or None,
            max_upload_bytes=integer(MAX_UPLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES, source, minimum=1),
            max_image_pixels=integer(MAX_IMAGE_PIXELS, DEFAULT_MAX_IMAGE_PIXELS, source, minimum=1),
            memory_mb=function_memory_mb(DEFAULT_MEMORY_MB, source),
        )
