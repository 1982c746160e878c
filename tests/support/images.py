"""A factory of test images as bytes: deterministic, photographic-ish, good and bad.

Every function is a pure function of its arguments: the same call returns the same bytes, so
tests can compare outputs across runs and a failure reproduces. Pictures are smooth gradients with
soft shapes and a little sensor-like noise, so encoders behave as they do on photographs (a flat
colour compresses unrealistically well).

Good files: :func:`jpeg` (RGB, L or CMYK; with EXIF and/or an ICC profile), :func:`mpo` (a
camera JPEG with a Multi-Picture index and a second picture), :func:`png` (RGB,
RGBA, L, LA, P, 16-bit grey ``"I;16"`` and 16-bit colour ``"RGB;16"``), :func:`webp`,
:func:`tiff`, :func:`animated` (GIF, WebP, APNG). Metadata: :func:`camera_exif` writes a camera's
EXIF block (make, model, lens, date with offset, exposure, aperture, ISO, focal length, GPS,
orientation) and lets a test replace any tag with a raw, possibly malformed :class:`Tag`;
:func:`icc_profile` writes a small RGB matrix/TRC ICC profile, optionally one that swaps red and
blue so that a colour-managed conversion is visible in the pixels.

Bad files: :func:`truncated_jpeg`, :func:`decompression_bomb_png` (a header declaring huge
dimensions over a few bytes of data), :func:`text_file`.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageFilter

__all__ = [
    "ASCII",
    "BYTE",
    "LONG",
    "RATIONAL",
    "SHORT",
    "SRATIONAL",
    "UNDEFINED",
    "Tag",
    "animated",
    "avif",
    "camera_exif",
    "corner_marker",
    "declaring",
    "decompression_bomb_png",
    "encode",
    "exif_block",
    "heic",
    "icc_profile",
    "jpeg",
    "mpo",
    "photo",
    "png",
    "png_oriented",
    "png_text_bomb",
    "srgb_profile",
    "text_file",
    "textured_photo",
    "tiff",
    "truncated",
    "truncated_jpeg",
    "webp",
    "xmp_packet",
]

Colour = tuple[int, int, int]

# --------------------------------------------------------------------------------------------
# Pictures
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _photo_bytes(width: int, height: int, seed: int) -> bytes:
    rng = random.Random(seed)
    gradients = [
        Image.linear_gradient("L"),
        Image.linear_gradient("L").rotate(90),
        Image.radial_gradient("L"),
        Image.linear_gradient("L").rotate(45, resample=Image.Resampling.BILINEAR, expand=False),
    ]
    channels = []
    for _ in range(3):
        band = rng.choice(gradients)
        if rng.random() < 0.5:
            band = ImageChops.invert(band)
        channels.append(band.resize((width, height), Image.Resampling.BILINEAR))
    picture = Image.merge("RGB", channels)

    draw = ImageDraw.Draw(picture)
    for _ in range(7):
        x0, x1 = sorted(rng.randrange(-width // 4, width + width // 4) for _ in range(2))
        y0, y1 = sorted(rng.randrange(-height // 4, height + height // 4) for _ in range(2))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1 + 1, y1 + 1), fill=colour)
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(5)]
            draw.polygon(points, fill=colour)
    picture = _soften(picture, radius=max(1.0, max(width, height) / 300))

    # Zero-mean luminance noise of amplitude +-6, like a sensor at base ISO.
    amplitude = 6
    noise = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    noise = noise.point([value * 2 * amplitude // 255 for value in range(256)])
    picture = ImageChops.add(picture, Image.merge("RGB", (noise, noise, noise)), 1.0, -amplitude)
    return picture.tobytes()


def _soften(picture: Image.Image, radius: float) -> Image.Image:
    """``picture`` blurred by ``radius``. From 1200 pixels a side the blur runs on a copy
    reduced to about 600 and enlarged back: a blur of 20 pixels leaves nothing finer for the
    reduction to lose, and costs a tenth (a 24 MP picture: 0.9 s -> 0.1 s). Smaller pictures are
    blurred as they are, to the same bytes as ever."""
    width, height = picture.size
    factor = max(width, height) // 600
    if factor < 2:
        return picture.filter(ImageFilter.GaussianBlur(radius=radius))
    small = picture.reduce(factor)
    small = small.filter(ImageFilter.GaussianBlur(radius=max(1.0, radius / factor)))
    return small.resize((width, height), Image.Resampling.BILINEAR)


def photo(width: int = 640, height: int = 480, *, seed: int = 0) -> Image.Image:
    """A photographic-ish RGB picture: gradients, soft shapes, fine noise. Deterministic."""
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {width}x{height}")
    return Image.frombytes("RGB", (width, height), _photo_bytes(width, height, seed))


@lru_cache(maxsize=4)
def _textured_bytes(width: int, height: int, seed: int) -> bytes:
    rng = random.Random(seed)
    picture = photo(width, height, seed=seed)
    # Texture at every scale with a 1/f-like spectrum (foliage, fabric, skin, stone): random
    # fields at 1/64 .. 1/2 of the size, smoothly enlarged, each half the amplitude of the last.
    # Blended finest first, each coarser field weighing as much as all finer ones together.
    texture: Image.Image | None = None
    for level in (2, 4, 8, 16, 64):
        small = (max(2, width // level), max(2, height // level))
        layer = Image.frombytes("L", small, rng.randbytes(small[0] * small[1]))
        layer = layer.resize((width, height), Image.Resampling.BICUBIC)
        texture = layer if texture is None else Image.blend(texture, layer, 0.5)
    assert texture is not None
    texture = texture.point(lambda value: 128 + (value - 128) * 0.6)
    shade = Image.merge("RGB", (texture, texture, texture))
    picture = ImageChops.add(picture, shade, 1.0, -128)
    # Sharp edges and thin lines (branches, window frames, text), never blurred.
    draw = ImageDraw.Draw(picture)
    for _ in range(60):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(-width // 3, width // 3)
        y1 = y0 + rng.randrange(-height // 3, height // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.line((x0, y0, x1, y1), fill=colour, width=rng.randrange(1, max(2, width // 400)))
    for _ in range(12):
        points = [(rng.randrange(width), rng.randrange(height)) for _ in range(4)]
        draw.polygon(points, outline=(rng.randrange(256),) * 3)
    # Sensor grain at full resolution: luminance +-10 and a little chroma noise (+-4) per channel.
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    grain = grain.point([value * 20 // 255 for value in range(256)])
    picture = ImageChops.add(picture, Image.merge("RGB", (grain, grain, grain)), 1.0, -10)
    chroma = [
        Image.frombytes("L", (width, height), rng.randbytes(width * height)).point(
            [value * 8 // 255 for value in range(256)]
        )
        for _ in range(3)
    ]
    picture = ImageChops.add(picture, Image.merge("RGB", chroma), 1.0, -4)
    return picture.tobytes()


def textured_photo(width: int = 640, height: int = 480, *, seed: int = 0) -> Image.Image:
    """A picture with the statistics of a photograph: :func:`photo` plus texture at every scale
    (a 1/f-like spectrum), hard edges and thin lines, and full-resolution sensor grain (luminance
    and chroma). Encoders and decoders work on it as hard as on a camera's file. Deterministic.
    """
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {width}x{height}")
    return Image.frombytes("RGB", (width, height), _textured_bytes(width, height, seed))


def corner_marker(
    width: int = 64,
    height: int = 32,
    *,
    corner: Colour = (255, 0, 0),
    fill: Colour = (0, 0, 255),
) -> Image.Image:
    """A ``fill`` picture whose top-left quarter is ``corner``: shows where a transform moved it."""
    picture = Image.new("RGB", (width, height), fill)
    ImageDraw.Draw(picture).rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=corner)
    return picture


def encode(image: Image.Image, format: str, **params: Any) -> bytes:
    """``image`` saved as ``format`` (a Pillow format name) with Pillow's ``params``."""
    buffer = io.BytesIO()
    image.save(buffer, format=format, **params)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------
# EXIF, written by hand so a test controls every byte (Pillow's writer would repair bad values)
# --------------------------------------------------------------------------------------------

BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED, SRATIONAL = 1, 2, 3, 4, 5, 7, 10

Rational = tuple[int, int]
TagValue = str | bytes | int | tuple[int, ...] | tuple[Rational, ...]


@dataclass(frozen=True)
class Tag:
    """One raw EXIF entry: its TIFF field type and value, written exactly as given.

    ``Tag(ASCII, "f/2.8")`` for an FNumber is a wrong type; ``Tag(RATIONAL, ((1, 0),))`` a zero
    denominator. Integer types take an int or a tuple of ints, rational types a tuple of pairs.
    """

    type: int
    value: TagValue


_IFD0, _EXIF, _GPS = "ifd0", "exif", "gps"
_EXIF_POINTER, _GPS_POINTER = 0x8769, 0x8825

TAGS: dict[str, tuple[str, int]] = {
    "Make": (_IFD0, 0x010F),
    "Model": (_IFD0, 0x0110),
    "Orientation": (_IFD0, 0x0112),
    "Software": (_IFD0, 0x0131),
    "DateTime": (_IFD0, 0x0132),
    "ExposureTime": (_EXIF, 0x829A),
    "FNumber": (_EXIF, 0x829D),
    "ISOSpeedRatings": (_EXIF, 0x8827),
    "ExifVersion": (_EXIF, 0x9000),
    "DateTimeOriginal": (_EXIF, 0x9003),
    "OffsetTimeOriginal": (_EXIF, 0x9011),
    "FocalLength": (_EXIF, 0x920A),
    "ColorSpace": (_EXIF, 0xA001),
    "LensModel": (_EXIF, 0xA434),
    "GPSVersionID": (_GPS, 0x0000),
    "GPSLatitudeRef": (_GPS, 0x0001),
    "GPSLatitude": (_GPS, 0x0002),
    "GPSLongitudeRef": (_GPS, 0x0003),
    "GPSLongitude": (_GPS, 0x0004),
}


def _field_bytes(tag: Tag) -> tuple[int, bytes]:
    """(count, little-endian data) of one entry."""
    value = tag.value
    if tag.type == ASCII:
        text = value.encode("utf-8") if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]
        data = text + b"\0"
        return len(data), data
    if tag.type == UNDEFINED:
        data = value.encode("latin-1") if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]
        return len(data), data
    items: tuple[Any, ...] = value if isinstance(value, tuple) else (value,)
    if tag.type in (BYTE, SHORT, LONG):
        code = {BYTE: "B", SHORT: "H", LONG: "L"}[tag.type]
        return len(items), struct.pack(f"<{len(items)}{code}", *items)
    if tag.type in (RATIONAL, SRATIONAL):
        code = "L" if tag.type == RATIONAL else "l"
        flat = [part for pair in items for part in pair]
        return len(items), struct.pack(f"<{len(flat)}{code}", *flat)
    raise ValueError(f"unsupported TIFF field type {tag.type}")


def _ifd(entries: Mapping[int, Tag], start: int) -> bytes:
    """One IFD laid out at offset ``start``: entries, next-IFD offset 0, then their data."""
    data_start = start + 2 + 12 * len(entries) + 4
    table = struct.pack("<H", len(entries))
    data = b""
    for number in sorted(entries):
        tag = entries[number]
        count, payload = _field_bytes(tag)
        if len(payload) <= 4:
            table += struct.pack("<HHL", number, tag.type, count) + payload.ljust(4, b"\0")
        else:
            table += struct.pack("<HHLL", number, tag.type, count, data_start + len(data))
            data += payload + (b"\0" if len(payload) % 2 else b"")
    return table + struct.pack("<L", 0) + data


def exif_block(
    ifd0: Mapping[int, Tag],
    exif: Mapping[int, Tag] | None = None,
    gps: Mapping[int, Tag] | None = None,
) -> bytes:
    """An APP1-style EXIF payload (``Exif\\0\\0`` + little-endian TIFF) from raw IFD entries."""
    exif, gps = exif or {}, gps or {}
    main = dict(ifd0)
    if exif:
        main[_EXIF_POINTER] = Tag(LONG, 0)
    if gps:
        main[_GPS_POINTER] = Tag(LONG, 0)
    main_size = len(_ifd(main, 8))
    exif_start = 8 + main_size
    exif_bytes = _ifd(exif, exif_start) if exif else b""
    gps_start = exif_start + len(exif_bytes)
    if exif:
        main[_EXIF_POINTER] = Tag(LONG, exif_start)
    if gps:
        main[_GPS_POINTER] = Tag(LONG, gps_start)
    gps_bytes = _ifd(gps, gps_start) if gps else b""
    tiff_bytes = b"II*\0" + struct.pack("<L", 8) + _ifd(main, 8) + exif_bytes + gps_bytes
    return b"Exif\0\0" + tiff_bytes


def _dms(value: float) -> tuple[Rational, ...]:
    """Degrees as EXIF's (degrees, minutes, seconds/100) rationals, sign dropped."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    hundredths = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return ((degrees, 1), (minutes, 1), (hundredths, 100))


def camera_exif(
    *,
    make: str | None = "FUJIFILM",
    model: str | None = "X-T4",
    lens: str | None = "XF23mmF2 R WR",
    taken_at: str | None = "2026:08:14 18:42:07",
    offset: str | None = "+02:00",
    exposure: Rational | None = (1, 250),
    f_number: Rational | None = (56, 10),
    iso: int | None = 160,
    focal_length: Rational | None = (23, 1),
    gps: tuple[float, float] | None = (48.858370, -2.294481),
    orientation: int | None = 1,
    overrides: Mapping[str, Tag | None] | None = None,
) -> bytes:
    """A camera's EXIF block; any field None is left out.

    ``overrides`` maps a tag name (see ``TAGS``) to the raw entry to write instead, or to None to
    drop it: the way to write malformed values. ``gps`` is signed decimal degrees (S/W negative).
    """
    named: dict[str, Tag] = {"ExifVersion": Tag(UNDEFINED, b"0232")}
    if make is not None:
        named["Make"] = Tag(ASCII, make)
    if model is not None:
        named["Model"] = Tag(ASCII, model)
    if orientation is not None:
        named["Orientation"] = Tag(SHORT, orientation)
    if lens is not None:
        named["LensModel"] = Tag(ASCII, lens)
    if taken_at is not None:
        named["DateTimeOriginal"] = Tag(ASCII, taken_at)
    if offset is not None:
        named["OffsetTimeOriginal"] = Tag(ASCII, offset)
    if exposure is not None:
        named["ExposureTime"] = Tag(RATIONAL, (exposure,))
    if f_number is not None:
        named["FNumber"] = Tag(RATIONAL, (f_number,))
    if iso is not None:
        named["ISOSpeedRatings"] = Tag(SHORT, iso)
    if focal_length is not None:
        named["FocalLength"] = Tag(RATIONAL, (focal_length,))
    if gps is not None:
        latitude, longitude = gps
        named["GPSVersionID"] = Tag(BYTE, (2, 3, 0, 0))
        named["GPSLatitudeRef"] = Tag(ASCII, "N" if latitude >= 0 else "S")
        named["GPSLatitude"] = Tag(RATIONAL, _dms(latitude))
        named["GPSLongitudeRef"] = Tag(ASCII, "E" if longitude >= 0 else "W")
        named["GPSLongitude"] = Tag(RATIONAL, _dms(longitude))
    for name, replacement in (overrides or {}).items():
        if name not in TAGS:
            raise KeyError(f"unknown tag {name!r}; known: {', '.join(sorted(TAGS))}")
        if replacement is None:
            named.pop(name, None)
        else:
            named[name] = replacement

    ifds: dict[str, dict[int, Tag]] = {_IFD0: {}, _EXIF: {}, _GPS: {}}
    for name, tag in named.items():
        ifd, number = TAGS[name]
        ifds[ifd][number] = tag
    if set(ifds[_EXIF]) == {TAGS["ExifVersion"][1]}:
        ifds[_EXIF] = {}
    return exif_block(ifds[_IFD0], ifds[_EXIF], ifds[_GPS])


# --------------------------------------------------------------------------------------------
# ICC profiles
# --------------------------------------------------------------------------------------------

# sRGB primaries and white point as an ICC v2 profile stores them (adapted to the D50 PCS).
_SRGB_RED = (0.4360747, 0.2225045, 0.0139322)
_SRGB_GREEN = (0.3850649, 0.7168786, 0.0971045)
_SRGB_BLUE = (0.1430804, 0.0606169, 0.7141733)
_D50 = (0.9642, 1.0, 0.8249)


def _s15f16(values: Sequence[float]) -> bytes:
    return b"".join(struct.pack(">i", round(v * 65536)) for v in values)


def _xyz_tag(values: Sequence[float]) -> bytes:
    return b"XYZ \0\0\0\0" + _s15f16(values)


@lru_cache(maxsize=8)
def icc_profile(
    *, swap_red_blue: bool = False, gamma: float = 2.2, description: str | None = None
) -> bytes:
    """A minimal ICC v2 RGB display profile (matrix/TRC) that littleCMS accepts.

    With ``swap_red_blue`` the red channel is declared to carry blue and vice versa: a pure red
    pixel in a file carrying this profile *is* blue once converted to sRGB, so a test can see
    whether a conversion honoured the embedded profile.
    """
    red, blue = (_SRGB_BLUE, _SRGB_RED) if swap_red_blue else (_SRGB_RED, _SRGB_BLUE)
    text = description or ("Test RGB, red/blue swapped" if swap_red_blue else "Test RGB")
    ascii_text = text.encode("ascii") + b"\0"
    desc = (
        b"desc\0\0\0\0"
        + struct.pack(">L", len(ascii_text))
        + ascii_text
        + struct.pack(">LL", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67  # no ScriptCode description
    )
    curve = b"curv\0\0\0\0" + struct.pack(">LH", 1, round(gamma * 256)) + b"\0\0"
    tags: list[tuple[bytes, bytes]] = [
        (b"desc", desc),
        (b"cprt", b"text\0\0\0\0" + b"No copyright, test data\0"),
        (b"wtpt", _xyz_tag(_D50)),
        (b"rXYZ", _xyz_tag(red)),
        (b"gXYZ", _xyz_tag(_SRGB_GREEN)),
        (b"bXYZ", _xyz_tag(blue)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table = struct.pack(">L", len(tags))
    body = b""
    for signature, payload in tags:
        table += signature + struct.pack(">LL", offset + len(body), len(payload))
        body += payload + b"\0" * (-len(payload) % 4)
    size = 128 + len(table) + len(body)
    header = (
        struct.pack(">L", size)
        + b"none"
        + struct.pack(">L", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">L", 0)  # perceptual intent
        + _s15f16(_D50)
        + b"\0" * 4  # creator
    )
    header = header.ljust(128, b"\0")
    return header + table + body


@lru_cache(maxsize=1)
def srgb_profile() -> bytes:
    """littleCMS's built-in sRGB profile, as bytes to embed."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _metadata(exif: bytes | None, icc: bytes | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if exif is not None:
        params["exif"] = exif
    if icc is not None:
        params["icc_profile"] = icc
    return params


def jpeg(
    width: int = 640,
    height: int = 480,
    *,
    seed: int = 0,
    quality: int = 90,
    mode: str = "RGB",
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    image: Image.Image | None = None,
) -> bytes:
    """A baseline JPEG of :func:`photo` (or of ``image``) in ``mode`` ("RGB", "L" or "CMYK").

    CMYK is written the way Photoshop does (Adobe APP14, inverted), which is what cameras and
    print workflows produce.
    """
    picture = (image if image is not None else photo(width, height, seed=seed)).convert(mode)
    return encode(picture, "JPEG", quality=quality, **_metadata(exif, icc_profile))


def mpo(
    width: int = 640,
    height: int = 480,
    *,
    seed: int = 0,
    exif: bytes | None = None,
) -> bytes:
    """A camera-style JPEG with a Multi-Picture Format index and a second, smaller picture.

    Many cameras and phones write these (the second picture is a preview or a depth map); Pillow
    opens them as "MPO", with two frames. The first picture is :func:`photo` with ``seed``.
    """
    preview = photo(max(1, width // 4), max(1, height // 4), seed=seed + 1)
    preview = preview.resize((width, height))
    params = _metadata(exif, None)
    return encode(
        photo(width, height, seed=seed), "MPO", save_all=True, append_images=[preview], **params
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">L", len(data))
        + kind
        + data
        + struct.pack(">L", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def _png_rgb16(picture: Image.Image) -> bytes:
    """A 16-bit-per-channel RGB PNG (Pillow cannot write one): each 8-bit value v -> v * 257."""
    width, height = picture.size
    raw = picture.convert("RGB").tobytes()
    stride = width * 3
    rows = []
    for y in range(height):
        row = raw[y * stride : (y + 1) * stride]
        doubled = bytearray(len(row) * 2)
        doubled[0::2] = row
        doubled[1::2] = row
        rows.append(b"\0" + bytes(doubled))
    header = struct.pack(">LLBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + _png_chunk(b"IEND", b"")
    )


def png(
    width: int = 640,
    height: int = 480,
    *,
    seed: int = 0,
    mode: str = "RGB",
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    image: Image.Image | None = None,
    compress_level: int = 6,
) -> bytes:
    """A PNG of :func:`photo` (or ``image``) in ``mode``.

    Modes: "RGB", "RGBA" (alpha: a soft left-to-right ramp), "L", "LA", "P" (adaptive palette;
    with transparency of index 0), "I;16" (16-bit grey) and "RGB;16" (16-bit per channel colour).
    ``compress_level`` is zlib's (Pillow's default, 6; 1 writes a large picture 4x faster).
    """
    picture = image if image is not None else photo(width, height, seed=seed)
    params = _metadata(exif, icc_profile)
    if mode == "RGB;16":
        if params:
            raise ValueError("16-bit colour PNGs are written without metadata")
        return _png_rgb16(picture)
    if mode in ("RGBA", "LA"):
        alpha = Image.linear_gradient("L").rotate(90).resize(picture.size)
        picture = picture.convert(mode[:-1])
        picture.putalpha(alpha)
    elif mode == "P":
        picture = picture.convert("RGB").quantize(colors=64, dither=Image.Dither.NONE)
        params["transparency"] = 0
    elif mode == "I;16":
        grey = picture.convert("L")
        picture = grey.point(lambda value: value * 257, "I").convert("I;16")
    else:
        picture = picture.convert(mode)
    return encode(picture, "PNG", compress_level=compress_level, **params)


def webp(
    width: int = 640,
    height: int = 480,
    *,
    seed: int = 0,
    quality: int = 85,
    lossless: bool = False,
    alpha: bool = False,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """A still WebP of :func:`photo`, lossy unless ``lossless``, with an alpha ramp if ``alpha``."""
    picture = photo(width, height, seed=seed)
    if alpha:
        picture.putalpha(Image.linear_gradient("L").rotate(90).resize(picture.size))
    return encode(
        picture, "WEBP", quality=quality, lossless=lossless, **_metadata(exif, icc_profile)
    )


def tiff(
    width: int = 640,
    height: int = 480,
    *,
    seed: int = 0,
    mode: str = "RGB",
    compression: str = "tiff_lzw",
    orientation: int | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """A TIFF of :func:`photo` in ``mode``; ``orientation`` goes in tag 274 of its first IFD."""
    picture = photo(width, height, seed=seed).convert(mode)
    params: dict[str, Any] = {"compression": compression}
    if orientation is not None:
        params["tiffinfo"] = {0x0112: orientation}
    if icc_profile is not None:
        params["icc_profile"] = icc_profile
    return encode(picture, "TIFF", **params)


def animated(
    format: str = "gif",
    width: int = 160,
    height: int = 120,
    *,
    frames: int = 3,
    seed: int = 0,
    duration: int = 100,
) -> bytes:
    """An animation of ``frames`` different pictures as "gif", "webp" or "png" (APNG).

    Frame ``i`` is :func:`photo` with seed ``seed + i``, so the first frame is ``photo(seed=seed)``.
    """
    pictures = [photo(width, height, seed=seed + number) for number in range(frames)]
    names = {"gif": "GIF", "webp": "WEBP", "png": "PNG"}
    params: dict[str, Any] = {
        "save_all": True,
        "append_images": pictures[1:],
        "duration": duration,
        "loop": 0,
    }
    if format == "webp":
        params["quality"] = 80
    return encode(pictures[0], names[format], **params)


def truncated_jpeg(
    width: int = 640, height: int = 480, *, seed: int = 0, keep: float = 0.5
) -> bytes:
    """A JPEG cut after ``keep`` of its bytes: headers intact, scan data missing."""
    whole = jpeg(width, height, seed=seed)
    return whole[: max(2, int(len(whole) * keep))]


def decompression_bomb_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels over a few hundred bytes.

    Its data is one compressed row of zeros: a decoder that trusted the header would allocate
    the whole canvas (1.6 GB at the default size) before noticing the data is short.
    """
    header = struct.pack(">LLBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\0" * (width + 1), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------------------------
# Phones' formats: HEIC (HEVC in HEIF) and AVIF (AV1 in HEIF)
# --------------------------------------------------------------------------------------------


def heic(
    width: int = 640,
    height: int = 480,
    *,
    seed: int = 0,
    quality: int = 80,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    image: Image.Image | None = None,
) -> bytes:
    """A HEIC of :func:`photo` (or ``image``), as an iPhone writes one.

    Encoded by pillow-heif (x265; a test dependency only, never in a Lambda). As on a phone, an
    EXIF orientation becomes the file's ``irot``/``imir`` transforms (which decoders apply) and
    the EXIF copy keeps the value; the pixels are stored as the sensor saw them.
    """
    if image is None:  # x265 is slow: the same picture is encoded once per process
        return _heic_of_photo(width, height, seed, quality, exif, icc_profile)
    return _heic(image, quality, exif, icc_profile)


@lru_cache(maxsize=32)
def _heic_of_photo(
    width: int, height: int, seed: int, quality: int, exif: bytes | None, icc: bytes | None
) -> bytes:
    return _heic(photo(width, height, seed=seed), quality, exif, icc)


def _heic(image: Image.Image, quality: int, exif: bytes | None, icc_profile: bytes | None) -> bytes:
    import pillow_heif

    picture = image.convert("RGB")
    heif = pillow_heif.from_pillow(picture)
    params: dict[str, Any] = {"quality": quality}
    if exif is not None:
        params["exif"] = exif
    if icc_profile is not None:
        params["icc_profile"] = icc_profile
    buffer = io.BytesIO()
    heif.save(buffer, **params)
    return buffer.getvalue()


def avif(
    width: int = 640,
    height: int = 480,
    *,
    seed: int = 0,
    quality: int = 70,
    exif: bytes | None = None,
    icc_profile: bytes | None = None,
    image: Image.Image | None = None,
) -> bytes:
    """An AVIF of :func:`photo` (or ``image``), encoded by Pillow's own plugin (libavif).

    An EXIF orientation is written as ``irot``/``imir`` too; Pillow reads it back as the EXIF
    Orientation and leaves the pixels as stored, as it does for JPEG.
    """
    picture = (image if image is not None else photo(width, height, seed=seed)).convert("RGB")
    return encode(picture, "AVIF", quality=quality, speed=8, **_metadata(exif, icc_profile))


def declaring(data: bytes, width: int, height: int) -> bytes:
    """A HEIF-family file (HEIC, AVIF) whose ``ispe`` boxes declare ``width`` x ``height``.

    The coded pixels stay small: a decoder that trusted the header would allocate the canvas.
    """
    patched = bytearray(data)
    start = 0
    found = 0
    while (index := patched.find(b"ispe", start)) >= 0:
        struct.pack_into(">LL", patched, index + 8, width, height)
        start = index + 4
        found += 1
    if not found:
        raise ValueError("no ispe box to patch")
    return bytes(patched)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """``data`` cut after ``keep`` of its bytes."""
    return data[: max(2, int(len(data) * keep))]


def _orientation_exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def xmp_packet(orientation: int) -> bytes:
    """An XMP packet carrying only ``tiff:Orientation``, as editors write it."""
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" '
        b'tiff:Orientation="' + str(orientation).encode() + b'"/>'
        b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def png_oriented(
    orientation: int,
    *,
    where: str,
    width: int = 64,
    height: int = 32,
    seed: int = 0,
    image: Image.Image | None = None,
    compress_level: int = 6,
) -> bytes:
    """A PNG (of :func:`photo`, or ``image``) whose orientation lives ``where``.

    "early-exif" (eXIf before the pixels), "late-exif" (eXIf after them, as some converters
    write it), "raw-profile" (ImageMagick's "Raw profile type exif" zTXt) or "xmp" (an iTXt
    "XML:com.adobe.xmp" with tiff:Orientation).
    """
    body = png(width, height, seed=seed, image=image, compress_level=compress_level)
    exif = _orientation_exif(orientation)
    if where == "early-exif":
        chunk = _png_chunk(b"eXIf", exif)
        at = 8 + 25
    elif where == "late-exif":
        chunk = _png_chunk(b"eXIf", exif)
        at = len(body) - 12  # before IEND
    elif where == "raw-profile":
        payload = b"Exif\0\0" + exif
        hexed = payload.hex()
        lines = "\n".join(hexed[i : i + 72] for i in range(0, len(hexed), 72))
        text = f"\nexif\n{len(payload):8d}\n{lines}\n".encode()
        chunk = _png_chunk(b"zTXt", b"Raw profile type exif\0\0" + zlib.compress(text))
        at = 8 + 25
    elif where == "xmp":
        chunk = _png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp_packet(orientation))
        at = 8 + 25
    else:
        raise ValueError(f"unknown place {where!r}")
    return body[:at] + chunk + body[at:]


@lru_cache(maxsize=4)  # several test modules build it at import, for their parameters
def png_text_bomb(inflated: int = 64 * 1024 * 1024) -> bytes:
    """A small, sound PNG with a zTXt chunk that inflates to ``inflated`` bytes of text.

    A decompression bomb in the metadata: Pillow refuses to inflate a text chunk past its limit.
    """
    sound = png(32, 32)
    chunk = _png_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * inflated, 9))
    after_header = 8 + 25  # the signature, then IHDR (length, type, 13 bytes, CRC)
    return sound[:after_header] + chunk + sound[after_header:]


def text_file() -> bytes:
    """A plain text file, i.e. not an image at all."""
    return b"These are not the pixels you are looking for.\nJust text, line after line.\n" * 4
