"""Settings come from the environment in one place; a missing required one fails loudly."""

from __future__ import annotations

import pytest

from media_shared import CommonSettings, ConfigurationError
from media_shared import settings as s
from media_shared.ids import asset_id


def test_common_settings_read_the_environment() -> None:
    env = {"POWERTOOLS_SERVICE_NAME": "indexer", "EVENT_BUS_NAME": "media-dev", "DLQ_URL": "q"}

    settings = CommonSettings.from_env(env)

    assert (settings.service, settings.event_bus_name, settings.dlq_url) == (
        "indexer",
        "media-dev",
        "q",
    )
    assert (settings.schemas_dir / "envelope" / "v1.json").is_file()


def test_a_missing_required_variable_names_itself() -> None:
    with pytest.raises(ConfigurationError, match="EVENT_BUS_NAME is required"):
        CommonSettings.from_env({"POWERTOOLS_SERVICE_NAME": "indexer"})


@pytest.mark.parametrize(
    ("raw", "message"),
    [("12x", "must be an integer"), ("-1", "must be at least 0")],
)
def test_a_malformed_integer_says_what_is_wrong(raw: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        s.integer("MAX_UPLOAD_BYTES", 10, {"MAX_UPLOAD_BYTES": raw})


def test_lists_and_booleans_parse_and_default() -> None:
    assert s.integer_list("THUMBNAIL_SIZES", (256,), {"THUMBNAIL_SIZES": "128, 64"}) == (128, 64)
    assert s.integer_list("THUMBNAIL_SIZES", (256, 512), {}) == (256, 512)
    assert s.boolean("INCLUDE_GPS", False, {"INCLUDE_GPS": "TRUE"}) is True
    with pytest.raises(ConfigurationError, match="INCLUDE_GPS must be true or false"):
        s.boolean("INCLUDE_GPS", False, {"INCLUDE_GPS": "maybe"})


def test_asset_ids_are_deterministic_and_version_aware() -> None:
    first = asset_id("uploads", "incoming/a b.jpg", "v1")

    assert first == asset_id("uploads", "incoming/a b.jpg", "v1")
    assert first != asset_id("uploads", "incoming/a b.jpg", "v2")
    assert first != asset_id("uploads", "incoming/a+b.jpg", "v1")
    assert len(first) == 32
    assert set(first) <= set("0123456789abcdef")
