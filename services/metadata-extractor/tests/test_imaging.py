"""The metadata-extractor's image work, called directly: no AWS, no events."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from PIL import ImageFile, UnidentifiedImageError

from media_shared import CorruptImageError, DecompressionBombError, PermanentError
from media_shared.exceptions import DECODE_ERRORS
from metadata_extractor.imaging import UnsupportedImageError, extract
from tests.support import images
from tests.support.images import ASCII, LONG, RATIONAL, SHORT, Tag

NO_CAMERA = {
    "make": None,
    "model": None,
    "lens": None,
    "taken_at": None,
    "exposure_time": None,
    "f_number": None,
    "iso": None,
    "focal_length_mm": None,
}


def camera_jpeg(**exif: Any) -> bytes:
    return images.jpeg(640, 480, exif=images.camera_exif(**exif))


def test_a_camera_jpeg_reports_its_technical_and_camera_metadata() -> None:
    # given a 640x480 JPEG from a camera, taken at 18:42:07 two hours ahead of UTC
    data = camera_jpeg()

    # when its metadata is extracted
    found = extract(data).as_data("a" * 32)

    # then every field is read, in the units the contract names
    assert found == {
        "asset_id": "a" * 32,
        "format": "jpeg",
        "width": 640,
        "height": 480,
        "mode": "RGB",
        "bit_depth": 8,
        "orientation": 1,
        "has_icc_profile": False,
        "color_space": "RGB",
        "icc_profile_description": None,
        "animated": False,
        "frame_count": 1,
        "exif": {
            "make": "FUJIFILM",
            "model": "X-T4",
            "lens": "XF23mmF2 R WR",
            "taken_at": "2026-08-14T18:42:07+02:00",
            "exposure_time": 0.004,
            "f_number": 5.6,
            "iso": 160,
            "focal_length_mm": 23.0,
        },
        "gps": None,
        "gps_withheld": True,
        "skipped_tags": [],
    }


def test_a_date_without_an_offset_is_local_time_without_one() -> None:
    found = extract(camera_jpeg(offset=None))

    assert found.exif.taken_at == "2026-08-14T18:42:07"


@pytest.mark.parametrize(
    ("orientation", "displayed"),
    [(1, (640, 480)), (3, (640, 480)), (5, (480, 640)), (6, (480, 640)), (8, (480, 640))],
)
def test_width_and_height_are_as_displayed_after_orientation(
    orientation: int, displayed: tuple[int, int]
) -> None:
    found = extract(camera_jpeg(orientation=orientation))

    assert (found.width, found.height) == displayed
    assert found.orientation == orientation


def test_a_tiff_orientation_swaps_its_dimensions_once() -> None:
    found = extract(images.tiff(640, 480, orientation=8))

    assert (found.format, found.width, found.height, found.orientation) == ("tiff", 480, 640, 8)


def test_a_file_without_exif_has_null_camera_fields_and_nothing_skipped() -> None:
    found = extract(images.png(320, 200)).as_data("b" * 32)

    assert found["exif"] == NO_CAMERA
    assert found["orientation"] is None
    assert (found["gps"], found["gps_withheld"], found["skipped_tags"]) == (None, False, [])


# -------------------------------------------------------------------------------------------
# GPS
# -------------------------------------------------------------------------------------------


def test_gps_is_withheld_by_default() -> None:
    found = extract(camera_jpeg(gps=(-33.8568, 151.2153)))

    assert found.gps is None
    assert found.gps_withheld is True


@pytest.mark.parametrize(
    "where",
    [(-33.8568, 151.2153), (40.6892, -74.0445), (-22.9519, -43.2105), (35.6586, 139.7454)],
    ids=["south-east", "north-west", "south-west", "north-east"],
)
def test_gps_when_allowed_is_signed_decimal_degrees(where: tuple[float, float]) -> None:
    found = extract(camera_jpeg(gps=where), include_gps=True)

    assert found.gps is not None
    assert found.gps.latitude == pytest.approx(where[0], abs=1e-5)
    assert found.gps.longitude == pytest.approx(where[1], abs=1e-5)
    assert found.gps_withheld is False


def test_a_file_without_gps_has_nothing_to_withhold() -> None:
    for allowed in (False, True):
        found = extract(camera_jpeg(gps=None), include_gps=allowed)

        assert (found.gps, found.gps_withheld) == (None, False)


# -------------------------------------------------------------------------------------------
# Malformed EXIF: skipped tag by tag, never fatal
# -------------------------------------------------------------------------------------------

MALFORMED = [
    ("FNumber", Tag(ASCII, "f/2.8"), "f_number"),
    ("FNumber", Tag(RATIONAL, ((28, 0),)), "f_number"),
    ("ExposureTime", Tag(RATIONAL, ((1, 0),)), "exposure_time"),
    ("ExposureTime", Tag(RATIONAL, ((0, 1),)), "exposure_time"),
    ("FocalLength", Tag(ASCII, "23mm"), "focal_length_mm"),
    ("ISOSpeedRatings", Tag(ASCII, "ISO 100"), "iso"),
    ("ISOSpeedRatings", Tag(SHORT, 0), "iso"),
    ("DateTimeOriginal", Tag(ASCII, "yesterday at noon"), "taken_at"),
    ("DateTimeOriginal", Tag(ASCII, "0000:00:00 00:00:00"), "taken_at"),
    ("DateTimeOriginal", Tag(ASCII, "2026:02:30 10:00:00"), "taken_at"),
    ("DateTimeOriginal", Tag(LONG, 1786000000), "taken_at"),
    ("Make", Tag(SHORT, 42), "make"),
    ("Model", Tag(RATIONAL, ((1, 2),)), "model"),
    ("LensModel", Tag(LONG, (1, 2, 3)), "lens"),
]


@pytest.mark.parametrize(
    ("tag", "raw", "field"), MALFORMED, ids=[f"{t}-{i}" for i, (t, _, _) in enumerate(MALFORMED)]
)
def test_a_malformed_tag_is_skipped_and_the_rest_is_read(tag: str, raw: Tag, field: str) -> None:
    # given a camera JPEG where one tag has a wrong type or an impossible value
    data = images.jpeg(640, 480, exif=images.camera_exif(overrides={tag: raw}))

    # when its metadata is extracted
    found = extract(data).as_data("c" * 32)

    # then that tag is null and listed as skipped; every other field is still there
    assert found["skipped_tags"] == [tag]
    assert found["exif"][field] is None
    intact = {name: value for name, value in found["exif"].items() if name != field}
    assert all(value is not None for value in intact.values()), intact
    assert (found["width"], found["height"]) == (640, 480)


def test_a_malformed_offset_keeps_the_date_without_it() -> None:
    data = images.jpeg(
        exif=images.camera_exif(overrides={"OffsetTimeOriginal": Tag(ASCII, "+25:00")})
    )

    found = extract(data)

    assert found.exif.taken_at == "2026-08-14T18:42:07"
    assert found.skipped_tags == ("OffsetTimeOriginal",)


def test_a_malformed_orientation_is_skipped_and_not_applied() -> None:
    data = images.jpeg(640, 480, exif=images.camera_exif(orientation=9))

    found = extract(data)

    assert (found.orientation, found.width, found.height) == (None, 640, 480)
    assert found.skipped_tags == ("Orientation",)


@pytest.mark.parametrize(
    ("overrides", "skipped"),
    [
        ({"GPSLatitude": Tag(RATIONAL, ((123, 1), (0, 1), (0, 1)))}, ["GPSLatitude"]),
        ({"GPSLatitude": Tag(RATIONAL, ((45, 1), (75, 1), (0, 1)))}, ["GPSLatitude"]),
        ({"GPSLongitude": Tag(RATIONAL, ((2, 0), (17, 1), (40, 1)))}, ["GPSLongitude"]),
        ({"GPSLongitude": Tag(RATIONAL, ((181, 1), (0, 1), (0, 1)))}, ["GPSLongitude"]),
        ({"GPSLongitudeRef": Tag(ASCII, "X")}, ["GPSLongitude"]),
        ({"GPSLatitudeRef": None}, ["GPSLatitude"]),
        ({"GPSLatitude": Tag(ASCII, "48.85")}, ["GPSLatitude"]),
    ],
    ids=["lat-123", "minutes-75", "zero-denominator", "lon-181", "bad-ref", "no-ref", "text"],
)
def test_out_of_range_or_malformed_gps_is_skipped_when_allowed(
    overrides: dict[str, Tag | None], skipped: list[str]
) -> None:
    data = images.jpeg(exif=images.camera_exif(overrides=overrides))

    found = extract(data, include_gps=True)

    assert found.gps is None
    assert list(found.skipped_tags) == skipped
    assert found.exif.make == "FUJIFILM"


def test_withheld_gps_is_not_even_parsed() -> None:
    # given a file whose GPS is garbage
    data = images.jpeg(exif=images.camera_exif(overrides={"GPSLatitude": Tag(ASCII, "somewhere")}))

    # when GPS may not be shared
    found = extract(data)

    # then it is withheld, and its tags are neither parsed nor reported
    assert (found.gps, found.gps_withheld, found.skipped_tags) == (None, True, ())


def test_an_unreadable_exif_block_is_skipped_not_fatal() -> None:
    data = images.jpeg(320, 240, exif=b"Exif\0\0" + b"MM\0*garbage that is not an IFD")

    found = extract(data)

    assert (found.format, found.width, found.height) == ("jpeg", 320, 240)
    assert found.exif.make is None
    assert "Exif" in found.skipped_tags


# -------------------------------------------------------------------------------------------
# Formats, modes, depth, animation, profiles
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (partial(images.png, mode="I;16"), ("png", "I;16", 16)),
        (partial(images.png, mode="RGB;16"), ("png", "RGB", 16)),
        (partial(images.png, mode="RGBA"), ("png", "RGBA", 8)),
        (partial(images.png, mode="P"), ("png", "P", 8)),
        (partial(images.jpeg, mode="CMYK"), ("jpeg", "CMYK", 8)),
        (partial(images.jpeg, mode="L"), ("jpeg", "L", 8)),
        (images.webp, ("webp", "RGB", 8)),
        (partial(images.webp, alpha=True, lossless=True), ("webp", "RGBA", 8)),
        (images.tiff, ("tiff", "RGB", 8)),
        (partial(images.tiff, mode="CMYK"), ("tiff", "CMYK", 8)),
    ],
    ids=[
        "png16-grey",
        "png16-rgb",
        "rgba",
        "palette",
        "cmyk",
        "grey-jpeg",
        "webp",
        "webp-alpha",
        "tiff",
        "tiff-cmyk",
    ],
)
def test_format_mode_and_bit_depth(
    make: Callable[[], bytes], expected: tuple[str, str, int]
) -> None:
    # (each file is made by the test that reads it, not by every worker collecting the module)
    found = extract(make())

    assert (found.format, found.mode, found.bit_depth) == expected
    assert (found.animated, found.frame_count) == (False, 1)


@pytest.mark.parametrize("container", ["gif", "webp", "png"])
def test_an_animation_reports_its_frame_count(container: str) -> None:
    found = extract(images.animated(container, frames=4))

    assert (found.format, found.animated, found.frame_count) == (container, True, 4)


def test_a_multi_picture_camera_jpeg_is_a_still_jpeg() -> None:
    # given a camera JPEG with a Multi-Picture index and a preview (Pillow opens it as MPO)
    data = images.mpo(640, 480, exif=images.camera_exif(orientation=8))

    found = extract(data)

    # then it is a still JPEG: the preview is not a second frame of an animation
    assert (found.format, found.animated, found.frame_count) == ("jpeg", False, 1)
    assert (found.width, found.height, found.exif.make) == (480, 640, "FUJIFILM")


def test_an_embedded_icc_profile_is_reported() -> None:
    assert extract(images.jpeg(icc_profile=images.icc_profile())).has_icc_profile is True
    assert extract(images.png(icc_profile=images.srgb_profile())).has_icc_profile is True
    assert extract(images.jpeg()).has_icc_profile is False


def test_no_pixels_are_ever_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    # given every kind of file (PNG with and without EXIF: Pillow's getexif would decode one)
    files = [
        camera_jpeg(orientation=6),
        images.png(exif=images.camera_exif()),
        images.png(),
        images.png(mode="RGB;16"),
        images.webp(exif=images.camera_exif()),
        images.tiff(orientation=6),
        images.animated("gif"),
        images.animated("webp"),
        images.animated("png"),
    ]

    # and that decoding pixels would fail the test
    def refuse(self: Any) -> Any:
        raise AssertionError(f"{self.format} pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)

    # when each is read, then extraction still succeeds
    for data in files:
        assert extract(data, include_gps=True).width > 0


# -------------------------------------------------------------------------------------------
# Files that cannot be read
# -------------------------------------------------------------------------------------------


def test_a_jpeg_truncated_in_its_scan_still_has_readable_metadata() -> None:
    # headers are intact; pixel corruption is the thumbnailer's to find
    found = extract(images.truncated_jpeg(800, 600, keep=0.5))

    assert (found.format, found.width, found.height) == ("jpeg", 800, 600)


@pytest.mark.parametrize(
    "data",
    [images.truncated_jpeg(keep=0.01), b"GIF89a", images.heic(64, 64)[:40]],
    ids=["truncated-header", "gif-signature-only", "heic-cut-in-its-header"],
)
def test_a_file_that_cannot_be_opened_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptImageError) as caught:
        extract(data)

    assert caught.value.reason == "corrupt"


def test_what_pillow_raises_on_an_unidentified_file_is_a_decode_error() -> None:
    # The shared DECODE_ERRORS names no Pillow class: Pillow's own must be one of its kinds.
    assert issubclass(UnidentifiedImageError, DECODE_ERRORS)


def test_a_decompression_bomb_is_refused() -> None:
    with pytest.raises(DecompressionBombError) as caught:
        extract(images.decompression_bomb_png())

    assert caught.value.reason == "decompression_bomb"


def test_an_image_format_outside_the_five_is_unsupported() -> None:
    with pytest.raises(UnsupportedImageError) as caught:
        extract(images.encode(images.photo(32, 32), "BMP"))

    assert caught.value.reason == "unsupported_type"


@pytest.mark.parametrize("kind", ["heic", "avif"])
def test_a_phone_format_reports_its_camera_metadata_and_displayed_size(kind: str) -> None:
    # given a HEIC or AVIF from a camera, turned a quarter (orientation 6), with an ICC profile
    write = images.heic if kind == "heic" else images.avif
    data = write(640, 480, exif=images.camera_exif(orientation=6), icc_profile=images.icc_profile())
    # when its metadata is extracted
    found = extract(data)
    # then it is that format, stands up, and has the camera's and the profile's facts
    assert (found.format, found.width, found.height, found.orientation) == (kind, 480, 640, 6)
    assert (found.exif.make, found.exif.model, found.exif.iso) == ("FUJIFILM", "X-T4", 160)
    assert (found.has_icc_profile, found.color_space) == (True, "RGB")
    assert found.icc_profile_description == "Test RGB"


SRGB_EXIF = images.camera_exif(overrides={"ColorSpace": Tag(SHORT, 1)})


@pytest.mark.parametrize(
    ("data", "space"),
    [
        (images.jpeg(32, 24, mode="CMYK"), "CMYK"),
        (images.png(32, 24, mode="L"), "GRAY"),
        (images.png(32, 24), "RGB"),
        (images.jpeg(32, 24, exif=SRGB_EXIF), "sRGB"),
        (images.jpeg(32, 24, exif=SRGB_EXIF, icc_profile=images.icc_profile()), "RGB"),
    ],
)
def test_the_colour_space_comes_from_the_profile_else_exif_else_the_mode(
    data: bytes, space: str
) -> None:
    assert extract(data).color_space == space


def test_a_text_tag_is_cut_at_its_nul() -> None:
    exif = images.camera_exif(overrides={"Model": images.Tag(images.ASCII, "ION230\x00F")})
    assert extract(images.jpeg(64, 48, exif=exif)).exif.model == "ION230"


def test_what_a_plugin_refuses_with_not_implemented_is_a_permanent_unsupported_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a plugin that recognises the file but cannot read this variant of it
    from PIL import PngImagePlugin

    def refuse(self: object) -> None:
        raise NotImplementedError("this variant is not implemented")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "_open", refuse)
    # when the extractor meets it, then it is a permanent failure with a reason, not a retry
    with pytest.raises(PermanentError) as caught:
        extract(images.png(32, 24))
    assert caught.value.reason == "unsupported_type"
