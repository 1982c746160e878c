"""ingest's settings: required names fail loudly, limits have their documented defaults."""

from __future__ import annotations

import pytest

from ingest.settings import IngestSettings
from media_shared import ConfigurationError

BASE = {
    "POWERTOOLS_SERVICE_NAME": "ingest",
    "EVENT_BUS_NAME": "media-dev-bus",
    "UPLOADS_BUCKET": "media-dev-uploads",
    "ORIGINALS_BUCKET": "media-dev-originals",
}


def test_defaults_apply_and_idempotency_is_off_without_a_table() -> None:
    settings = IngestSettings.from_env(BASE)
    assert settings.max_upload_bytes == 52_428_800
    assert settings.max_image_pixels == 100_000_000
    assert settings.idempotency_table is None
    assert settings.common.service == "ingest"


def test_the_environment_overrides_the_defaults() -> None:
    settings = IngestSettings.from_env(
        {**BASE, "MAX_UPLOAD_BYTES": "1000", "MAX_IMAGE_PIXELS": "50", "IDEMPOTENCY_TABLE": "t"}
    )
    assert (settings.max_upload_bytes, settings.max_image_pixels) == (1000, 50)
    assert settings.idempotency_table == "t"


@pytest.mark.parametrize("missing", ["UPLOADS_BUCKET", "ORIGINALS_BUCKET", "EVENT_BUS_NAME"])
def test_a_missing_required_variable_is_named(missing: str) -> None:
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        IngestSettings.from_env(env)


def test_a_malformed_limit_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="MAX_UPLOAD_BYTES"):
        IngestSettings.from_env({**BASE, "MAX_UPLOAD_BYTES": "fifty megabytes"})
