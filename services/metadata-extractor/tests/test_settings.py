"""MetadataExtractorSettings: read once from the environment, wrong values fail at cold start."""

from __future__ import annotations

import pytest

from media_shared.exceptions import ConfigurationError
from metadata_extractor.settings import MetadataExtractorSettings

BASE = {
    "POWERTOOLS_SERVICE_NAME": "metadata-extractor",
    "EVENT_BUS_NAME": "media-test-bus",
    "ORIGINALS_BUCKET": "media-test-originals",
}


def test_gps_is_withheld_unless_include_gps_says_otherwise() -> None:
    assert MetadataExtractorSettings.from_env(BASE).include_gps is False
    assert MetadataExtractorSettings.from_env({**BASE, "INCLUDE_GPS": "true"}).include_gps is True
    assert MetadataExtractorSettings.from_env({**BASE, "INCLUDE_GPS": "false"}).include_gps is False


def test_a_malformed_include_gps_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="INCLUDE_GPS"):
        MetadataExtractorSettings.from_env({**BASE, "INCLUDE_GPS": "maybe"})


@pytest.mark.parametrize(
    "missing", ["ORIGINALS_BUCKET", "EVENT_BUS_NAME", "POWERTOOLS_SERVICE_NAME"]
)
def test_a_missing_required_variable_is_a_configuration_error(missing: str) -> None:
    env = {name: value for name, value in BASE.items() if name != missing}

    with pytest.raises(ConfigurationError, match=missing):
        MetadataExtractorSettings.from_env(env)
