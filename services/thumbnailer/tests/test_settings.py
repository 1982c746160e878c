"""ThumbnailerSettings: read once from the environment, wrong values fail at cold start."""

from __future__ import annotations

import pytest

from media_shared.exceptions import ConfigurationError
from thumbnailer.settings import ThumbnailerSettings

BASE = {
    "POWERTOOLS_SERVICE_NAME": "thumbnailer",
    "EVENT_BUS_NAME": "media-test-bus",
    "ORIGINALS_BUCKET": "media-test-originals",
    "DERIVED_BUCKET": "media-test-derived",
}


def test_defaults_are_webp_at_256_512_1024_quality_80() -> None:
    settings = ThumbnailerSettings.from_env(BASE)

    assert settings.sizes == (256, 512, 1024)
    assert settings.format == "webp"
    assert settings.quality == 80
    assert settings.max_image_pixels == 100_000_000
    assert (settings.originals_bucket, settings.derived_bucket) == (
        "media-test-originals",
        "media-test-derived",
    )


def test_sizes_are_sorted_and_deduplicated() -> None:
    settings = ThumbnailerSettings.from_env({**BASE, "THUMBNAIL_SIZES": "1024, 128,512,128"})

    assert settings.sizes == (128, 512, 1024)


@pytest.mark.parametrize("value", ["jpeg", "JPEG", "jpg"])
def test_jpeg_output_is_accepted_in_any_spelling(value: str) -> None:
    assert ThumbnailerSettings.from_env({**BASE, "THUMBNAIL_FORMAT": value}).format == "jpeg"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("THUMBNAIL_FORMAT", "gif"),
        ("THUMBNAIL_QUALITY", "0"),
        ("THUMBNAIL_QUALITY", "101"),
        ("THUMBNAIL_QUALITY", "high"),
        ("THUMBNAIL_SIZES", "256,zero"),
        ("THUMBNAIL_SIZES", "0"),
        ("THUMBNAIL_SIZES", "100000"),
        ("MAX_IMAGE_PIXELS", "0"),
    ],
)
def test_a_wrong_value_is_a_configuration_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        ThumbnailerSettings.from_env({**BASE, name: value})


@pytest.mark.parametrize("missing", ["ORIGINALS_BUCKET", "DERIVED_BUCKET", "EVENT_BUS_NAME"])
def test_a_missing_required_variable_is_a_configuration_error(missing: str) -> None:
    env = {name: value for name, value in BASE.items() if name != missing}

    with pytest.raises(ConfigurationError, match=missing):
        ThumbnailerSettings.from_env(env)


def test_avif_beside_the_main_format_is_a_deployment_setting() -> None:
    # given a deployment asking for AVIF beside WebP (case and spaces as people write them)
    settings = ThumbnailerSettings.from_env({**BASE, "THUMBNAIL_EXTRA_FORMATS": " AVIF, avif "})
    # then AVIF is made once beside the main format; by default nothing is
    assert (settings.format, settings.extra_formats) == ("webp", ("avif",))
    assert ThumbnailerSettings.from_env(BASE).extra_formats == ()


def test_an_unknown_extra_format_fails_the_cold_start_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="THUMBNAIL_EXTRA_FORMATS"):
        ThumbnailerSettings.from_env({**BASE, "THUMBNAIL_EXTRA_FORMATS": "gif"})
