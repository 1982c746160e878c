"""The image work of the metadata-extractor: a file's technical and camera metadata, pure.

Only headers are read: ``Image.open`` parses them and never decodes pixels, and nothing here calls
``load()`` (for PNG that means reading EXIF from the ``eXIf`` chunk Pillow already parsed rather
than through ``getexif()``, which would decode the image to look for a late chunk).

EXIF is untrusted input. Each field is checked for type and range on its own; a malformed one
(wrong type, zero denominator, impossible date, out-of-range coordinate) is logged, named in
``skipped_tags`` and reported as null, and never fails the file. Only a file Pillow cannot open
at all is an error (``corrupt``), and a format outside the pipeline's five is ``unsupported_type``.

GPS coordinates are read only when the caller may share them (``include_gps``); otherwise the
result says whether the file had any (``gps_withheld``) without parsing them.
"""

from __future__ import annotations

import io
import math
import numbers
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import IO, Any, Final

from aws_lambda_powertools import Logger
from PIL import ExifTags, Image, ImageCms, ImageFile

from media_shared.exceptions import (
    DECODE_ERRORS,
    PermanentError,
    UnsupportedImageError,
)
from media_shared.imaging import (
    FORMATS,
    classify,
    exif_bytes,
    metadata_info,
    read_orientation,
)
from media_shared.imaging import open_image as open_untrusted
from media_shared.limits import FrameLimitError, count_frames

__all__ = ["UnsupportedImageError", "extract"]

ACCEPTED: Final = tuple(sorted(set(FORMATS.values())))
DEFAULT_MAX_PIXELS: Final = 100_000_000
EXIF_COLOR_SPACE: Final = 0xA001
_MODE_COLOUR_SPACES: Final[dict[str, str]] = {
    "1": "GRAY",
    "L": "GRAY",
    "LA": "GRAY",
    "La": "GRAY",
    "I": "GRAY",
    "F": "GRAY",
    "I;16": "GRAY",
    "I;16B": "GRAY",
    "I;16L": "GRAY",
    "CMYK": "CMYK",
    "YCbCr": "YCbCr",
    "LAB": "Lab",
}
MODE_BITS: Final[dict[str, int]] = {"1": 1, "I": 32, "F": 32, "I;16": 16, "I;16B": 16, "I;16L": 16}
MAX_TEXT: Final = 256

# Tag numbers (EXIF 2.32): IFD0, the Exif sub-IFD and the GPS sub-IFD.
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112
EXPOSURE_TIME, F_NUMBER, ISO_SPEED = 0x829A, 0x829D, 0x8827
DATE_TIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
FOCAL_LENGTH, LENS_MODEL = 0x920A, 0xA434
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4
BITS_PER_SAMPLE = 258

_DATE = re.compile(r"^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")

logger = Logger(child=True)


class MalformedTagError(ValueError):
    """One EXIF value failed its check (the tag is skipped, the file is not failed)."""


@dataclass(frozen=True)
class CameraExif:
    make: str | None = None
    model: str | None = None
    lens: str | None = None
    taken_at: str | None = None
    exposure_time: float | None = None
    f_number: float | None = None
    iso: int | None = None
    focal_length_mm: float | None = None


@dataclass(frozen=True)
class Gps:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class ImageMetadata:
    """What the extractor reports about one file; ``as_data`` is the event's shape."""

    format: str
    width: int
    height: int
    mode: str
    bit_depth: int | None
    orientation: int | None
    has_icc_profile: bool
    animated: bool
    frame_count: int
    exif: CameraExif = field(default_factory=CameraExif)
    gps: Gps | None = None
    gps_withheld: bool = False
    skipped_tags: tuple[str, ...] = ()
    color_space: str | None = None
    icc_profile_description: str | None = None

    def as_data(self, asset_id: str) -> dict[str, Any]:
        return {
            "asset_id": asset_id,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "mode": self.mode,
            "bit_depth": self.bit_depth,
            "orientation": self.orientation,
            "has_icc_profile": self.has_icc_profile,
            "color_space": self.color_space,
            "icc_profile_description": self.icc_profile_description,
            "animated": self.animated,
            "frame_count": self.frame_count,
            "exif": {
                "make": self.exif.make,
                "model": self.exif.model,
                "lens": self.exif.lens,
                "taken_at": self.exif.taken_at,
                "exposure_time": self.exif.exposure_time,
                "f_number": self.exif.f_number,
                "iso": self.exif.iso,
                "focal_length_mm": self.exif.focal_length_mm,
            },
            "gps": None
            if self.gps is None
            else {"latitude": self.gps.latitude, "longitude": self.gps.longitude},
            "gps_withheld": self.gps_withheld,
            "skipped_tags": list(self.skipped_tags),
        }


# --------------------------------------------------------------------------------------------
# Checked readers of single EXIF values: each returns the clean value or raises MalformedTagError
# --------------------------------------------------------------------------------------------


def _single(value: Any) -> Any:
    if isinstance(value, tuple):
        if len(value) != 1:
            raise MalformedTagError(f"expected one value, got {len(value)}")
        return value[0]
    return value


def _real(value: Any) -> float:
    value = _single(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MalformedTagError(f"not a number: {type(value).__name__}")
    try:
        number = float(value)
    except (ArithmeticError, ValueError, TypeError) as error:
        raise MalformedTagError(f"not a number: {error}") from None
    if not math.isfinite(number):
        raise MalformedTagError("not a finite number (zero denominator?)")
    return number


def _bounded(low: float, high: float, digits: int) -> Callable[[Any], float]:
    def read(value: Any) -> float:
        number = _real(value)
        if not low < number <= high:
            raise MalformedTagError(f"{number} is outside ({low}, {high}]")
        return round(number, digits)

    return read


exposure_time = _bounded(0.0, 86_400.0, 9)
f_number = _bounded(0.0, 1_000.0, 3)
focal_length = _bounded(0.0, 10_000.0, 3)


def iso(value: Any) -> int:
    if isinstance(value, tuple) and value:
        value = value[0]  # ISOSpeedRatings may list several; the first is the one used
    number = _real(value)
    if number != int(number) or not 1 <= number <= 10_000_000:
        raise MalformedTagError(f"{number} is not a plausible ISO")
    return int(number)


def text(value: Any) -> str | None:
    """A clean ASCII field: cut at its first NUL (EXIF's terminator), control characters
    dropped, None when empty. ``ION230\0F`` is ``ION230``, as exiftool reads it."""
    if not isinstance(value, str):
        raise MalformedTagError(f"not text: {type(value).__name__}")
    value = value.split("\x00", 1)[0]
    cleaned = "".join(char for char in value if char >= " " and char != "\x7f").strip()
    return cleaned[:MAX_TEXT] or None


def orientation(value: Any) -> int:
    number = _single(value)
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 8:
        raise MalformedTagError(f"{number!r} is not an orientation (1..8)")
    return number


def taken_at(value: Any) -> datetime:
    """``YYYY:MM:DD HH:MM:SS`` as a naive datetime (the camera's local time)."""
    if not isinstance(value, str):
        raise MalformedTagError(f"not text: {type(value).__name__}")
    match = _DATE.match(value.strip().rstrip("\x00"))
    if match is None:
        raise MalformedTagError("not YYYY:MM:DD HH:MM:SS")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as error:
        raise MalformedTagError(f"impossible date: {error}") from None


def utc_offset(value: Any) -> timezone:
    """``+HH:MM`` / ``-HH:MM`` as a timezone."""
    if not isinstance(value, str):
        raise MalformedTagError(f"not text: {type(value).__name__}")
    match = _OFFSET.match(value.strip().rstrip("\x00"))
    if match is None:
        raise MalformedTagError("not +HH:MM")
    sign, hours, minutes = match[1], int(match[2]), int(match[3])
    if hours > 14 or minutes >= 60 or (hours == 14 and minutes):
        raise MalformedTagError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def coordinate(value: Any, reference: Any, *, limit: float, positive: str, negative: str) -> float:
    """Degrees, minutes, seconds and a hemisphere as signed decimal degrees."""
    if not isinstance(reference, str) or reference.strip().upper() not in (positive, negative):
        raise MalformedTagError(f"reference {reference!r} is not {positive} or {negative}")
    parts = value if isinstance(value, tuple) else (value,)
    if not 1 <= len(parts) <= 3:
        raise MalformedTagError(f"expected degrees[, minutes[, seconds]], got {len(parts)} values")
    numbers_ = [_real(part) for part in parts]
    if any(number < 0 for number in numbers_) or any(number >= 60 for number in numbers_[1:]):
        raise MalformedTagError("minutes and seconds must be in [0, 60), degrees positive")
    degrees = sum(number / 60.0**index for index, number in enumerate(numbers_))
    if degrees > limit:
        raise MalformedTagError(f"{degrees} is over {limit} degrees")
    signed = -degrees if reference.strip().upper() == negative else degrees
    return round(signed, 7)


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------


class _Reader:
    """Reads checked tags from one IFD, collecting the names of those that fail."""

    def __init__(self, skipped: list[str]) -> None:
        self.skipped = skipped

    def get(self, ifd: Mapping[int, Any], tag: int, name: str, check: Callable[[Any], Any]) -> Any:
        if tag not in ifd:
            return None
        raw = ifd[tag]
        try:
            return check(raw)
        except (MalformedTagError, ArithmeticError, ValueError, TypeError) as error:
            self.skip(name, str(error), raw)
            return None

    def skip(self, name: str, reason: str, raw: Any = None) -> None:
        if name not in self.skipped:
            self.skipped.append(name)
        logger.warning(
            "skipping malformed EXIF tag",
            extra={"tag": name, "problem": reason, "value": repr(raw)[:80]},
        )


def _exif_of(image: ImageFile.ImageFile, info: Mapping[str, object], reader: _Reader) -> Image.Exif:
    """The file's EXIF without decoding pixels; empty when the block itself is unreadable.

    For PNG ``info`` includes the chunks after the pixels (an ``eXIf`` there, or ImageMagick's
    raw profile), read by ``media_shared.imaging`` without decoding.
    """
    exif = Image.Exif()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if image.format in ("TIFF",):
                exif = image.getexif()
            else:
                raw = exif_bytes(dict(info))
                if raw:
                    exif.load(raw)
    except DECODE_ERRORS as error:
        reader.skip("Exif", f"unreadable EXIF block: {type(error).__name__}: {error}")
        return Image.Exif()
    _report_corruption(caught, "Exif", reader)
    return exif


def _report_corruption(caught: list[warnings.WarningMessage], name: str, reader: _Reader) -> None:
    """Pillow warns (rather than raises) on a broken IFD and drops what it could not read."""
    for warning in caught:
        if "corrupt" in str(warning.message).lower():
            reader.skip(name, str(warning.message))
            return


def _sub_ifd(exif: Image.Exif, tag: int, name: str, reader: _Reader) -> Mapping[int, Any]:
    if tag not in exif:
        return {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ifd = exif.get_ifd(tag)
    except DECODE_ERRORS as error:
        reader.skip(name, f"unreadable IFD: {type(error).__name__}: {error}")
        return {}
    _report_corruption(caught, name, reader)
    return ifd


def _bit_depth(image: ImageFile.ImageFile, header: bytes) -> int | None:
    if image.format == "PNG" and header[12:16] == b"IHDR":
        return header[24]
    if image.format in ("JPEG", "MPO"):
        bits = getattr(image, "bits", None)
        if isinstance(bits, int) and bits > 0:
            return bits
    if image.format == "TIFF":
        tags = getattr(image, "tag_v2", {})
        value = tags.get(BITS_PER_SAMPLE)
        first = value[0] if isinstance(value, tuple) and value else value
        if isinstance(first, int) and first > 0:
            return first
    return MODE_BITS.get(image.mode, 8)


def _frames(image: ImageFile.ImageFile) -> tuple[bool, int]:
    if image.format == "MPO":
        # A Multi-Picture JPEG's other pictures are previews or depth maps, not an animation.
        return False, 1
    try:
        count = count_frames(image)  # never Pillow's n_frames: a TIFF's walk is quadratic
        return bool(getattr(image, "is_animated", count > 1)), max(1, count)
    except FrameLimitError as error:  # ingest rejects these; never walk past the cap here
        logger.warning("more frames than are walked", extra={"limit": error.limit})
        return True, error.limit
    except DECODE_ERRORS as error:
        # A broken later frame: report what the first one says rather than fail the file.
        logger.warning("could not count frames", extra={"error": f"{type(error).__name__}"})
        return False, 1


def _camera(exif: Image.Exif, sub: Mapping[int, Any], reader: _Reader) -> CameraExif:
    taken = reader.get(sub, DATE_TIME_ORIGINAL, "DateTimeOriginal", taken_at)
    stamp: str | None = None
    if isinstance(taken, datetime):
        offset = reader.get(sub, OFFSET_TIME_ORIGINAL, "OffsetTimeOriginal", utc_offset)
        stamp = (taken.replace(tzinfo=offset) if offset else taken).isoformat()
    return CameraExif(
        make=reader.get(exif, MAKE, "Make", text),
        model=reader.get(exif, MODEL, "Model", text),
        lens=reader.get(sub, LENS_MODEL, "LensModel", text),
        taken_at=stamp,
        exposure_time=reader.get(sub, EXPOSURE_TIME, "ExposureTime", exposure_time),
        f_number=reader.get(sub, F_NUMBER, "FNumber", f_number),
        iso=reader.get(sub, ISO_SPEED, "ISOSpeedRatings", iso),
        focal_length_mm=reader.get(sub, FOCAL_LENGTH, "FocalLength", focal_length),
    )


def _gps(gps: Mapping[int, Any], reader: _Reader) -> Gps | None:
    latitude = reader.get(
        gps,
        GPS_LATITUDE,
        "GPSLatitude",
        lambda value: coordinate(
            value, gps.get(GPS_LATITUDE_REF), limit=90, positive="N", negative="S"
        ),
    )
    longitude = reader.get(
        gps,
        GPS_LONGITUDE,
        "GPSLongitude",
        lambda value: coordinate(
            value, gps.get(GPS_LONGITUDE_REF), limit=180, positive="E", negative="W"
        ),
    )
    if latitude is None or longitude is None:
        return None
    return Gps(latitude=latitude, longitude=longitude)


def open_image(
    source: IO[bytes] | bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[ImageFile.ImageFile, bytes, list[warnings.WarningMessage]]:
    """``source`` opened (headers only) by the plugin of its sniffed format, its first 64 bytes,
    and Pillow's warnings. The same checks and reasons as ingest (``media_shared.imaging``)."""
    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    header = stream.read(64)
    stream.seek(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image, _ = open_untrusted(stream, max_pixels=max_pixels, head=header)
    return image, header, caught


def _icc_facts(icc: object) -> tuple[str | None, str | None]:
    """(colour space, description) of an embedded ICC profile; Nones when littleCMS refuses it."""
    if not isinstance(icc, bytes) or not icc:
        return None, None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile
        space = str(profile.xcolor_space or "").strip() or None
        description = text(str(profile.profile_description or ""))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, MalformedTagError):
        logger.warning("unreadable ICC profile: colour space and description unknown")
        return None, None
    return space, description


def _colour_space(image: ImageFile.ImageFile, sub: Mapping[int, Any], icc_space: str | None) -> str:
    if icc_space:
        return icc_space
    if sub.get(EXIF_COLOR_SPACE) == 1:
        return "sRGB"
    return _MODE_COLOUR_SPACES.get(image.mode, "RGB")


def extract(
    source: IO[bytes] | bytes, *, include_gps: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS
) -> ImageMetadata:
    """The metadata of the image in ``source``; decodes no pixels.

    Raises CorruptImageError, UnsupportedImageError or DecompressionBombError (PermanentError)
    for the file; whatever else parsing an untrusted file raises is classified the same way
    (``media_shared.imaging.classify``), so no file is retried for being what it is.
    """
    image, header, opening = open_image(source, max_pixels=max_pixels)
    try:
        with image:
            return _extract(image, header, opening, include_gps=include_gps)
    except PermanentError:
        raise
    except Exception as error:
        raise classify(error, what=f"the {image.format} metadata cannot be read") from None


def _extract(
    image: ImageFile.ImageFile,
    header: bytes,
    opening: list[warnings.WarningMessage],
    *,
    include_gps: bool,
) -> ImageMetadata:
    name = FORMATS[str(image.format)]
    skipped: list[str] = []
    reader = _Reader(skipped)
    # JPEG reads its EXIF while opening (for the DPI); Pillow warns of a broken block there.
    _report_corruption(opening, "Exif", reader)
    info = metadata_info(image)
    exif = _exif_of(image, info, reader)
    # The orientation and the displayed size: one function for every service.
    oriented = read_orientation(image)
    turn: int | None = oriented.value if oriented.source != "none" else None
    if oriented.malformed is not None:
        reader.skip("Orientation", "not an orientation (1..8)", oriented.malformed)
        turn = None
    sub = _sub_ifd(exif, ExifTags.IFD.Exif, "ExifIFD", reader)
    gps_ifd = _sub_ifd(exif, ExifTags.IFD.GPSInfo, "GPSInfo", reader)
    camera = _camera(exif, sub, reader)
    has_gps = GPS_LATITUDE in gps_ifd or GPS_LONGITUDE in gps_ifd
    gps = _gps(gps_ifd, reader) if include_gps and has_gps else None

    width, height = oriented.displayed(image.size)
    animated, frame_count = _frames(image)
    icc = image.info.get("icc_profile")
    icc_space, icc_description = _icc_facts(icc)
    return ImageMetadata(
        format=name,
        width=width,
        height=height,
        mode=image.mode,
        bit_depth=_bit_depth(image, header),
        orientation=turn,
        has_icc_profile=bool(icc),
        animated=animated,
        frame_count=frame_count,
        exif=camera,
        gps=gps,
        gps_withheld=has_gps and not include_gps,
        skipped_tags=tuple(skipped),
        color_space=_colour_space(image, sub, icc_space),
        icc_profile_description=icc_description,
    )
