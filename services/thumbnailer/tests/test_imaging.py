"""The thumbnailer's image work, called directly: no AWS, no events."""

from __future__ import annotations

import io
import struct
import time

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from media_shared import CorruptImageError, DecompressionBombError
from tests.support import images
from thumbnailer.imaging import Rendition, plan, render

SIZES = (256, 512, 1024)
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def opened(rendition: Rendition) -> Image.Image:
    picture = Image.open(io.BytesIO(rendition.data))
    picture.load()
    return picture


def close_to(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    second = second.convert("RGB").resize(first.size)
    return sum(ImageStat.Stat(ImageChops.difference(first.convert("RGB"), second)).mean) / 3


def webp_chunks(data: bytes) -> list[bytes]:
    """FourCCs of a WebP file's RIFF chunks."""
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
    chunks, offset = [], 12
    while offset + 8 <= len(data):
        fourcc, size = (
            data[offset : offset + 4],
            struct.unpack("<L", data[offset + 4 : offset + 8])[0],
        )
        chunks.append(fourcc)
        offset += 8 + size + (size % 2)
    return chunks


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    markers, offset = [], 2
    while offset < len(data):
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


# -------------------------------------------------------------------------------------------
# Sizes
# -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ((2000, 1500), [(256, (256, 192)), (512, (512, 384)), (1024, (1024, 768))]),
        ((1500, 2000), [(256, (192, 256)), (512, (384, 512)), (1024, (768, 1024))]),
        ((300, 200), [(256, (256, 171)), (512, (300, 200))]),
        ((512, 256), [(256, (256, 128)), (512, (512, 256))]),
        ((100, 50), [(256, (100, 50))]),
        ((10_000, 10), [(256, (256, 1)), (512, (512, 1)), (1024, (1024, 1))]),
    ],
    ids=["landscape", "portrait", "between-sizes", "exactly-a-size", "smaller", "sliver"],
)
def test_plan_fits_the_longest_side_never_upscales_and_never_repeats(
    source: tuple[int, int], expected: list[tuple[int, tuple[int, int]]]
) -> None:
    assert plan(*source, SIZES) == expected


def test_renditions_fit_each_size_on_the_longest_side_smallest_first() -> None:
    # given a 2000x1500 photograph
    data = images.jpeg(2000, 1500)

    # when it is rendered at the default sizes
    result = render(data, sizes=SIZES)

    # then each rendition's longest side is its size, with the source's aspect ratio
    assert [(r.size, r.width, r.height) for r in result.renditions] == [
        (256, 256, 192),
        (512, 512, 384),
        (1024, 1024, 768),
    ]
    assert [opened(r).size for r in result.renditions] == [(256, 192), (512, 384), (1024, 768)]
    assert (result.source_width, result.source_height) == (2000, 1500)


def test_a_source_smaller_than_a_size_is_never_upscaled_and_not_repeated() -> None:
    # given a 300x200 picture and sizes 256, 512, 1024
    data = images.png(300, 200)

    # when it is rendered
    result = render(data, sizes=SIZES)

    # then 256 is a real thumbnail, 512 is the source's own size, and there is no 1024 copy
    assert [(r.size, r.width, r.height) for r in result.renditions] == [
        (256, 256, 171),
        (512, 300, 200),
    ]
    assert opened(result.renditions[-1]).size == (300, 200)


def test_a_source_smaller_than_every_size_gives_one_rendition_at_its_own_size() -> None:
    result = render(images.png(120, 90), sizes=SIZES)

    assert [(r.size, r.width, r.height) for r in result.renditions] == [(256, 120, 90)]


def test_a_large_jpeg_is_decoded_once_at_a_reduced_scale() -> None:
    # given a 4000x3000 JPEG
    data = images.jpeg(4000, 3000)

    # when the largest rendition wanted is 1024, then 256
    for sizes, decoded in (((256, 512, 1024), (2000, 1500)), ((256,), (500, 375))):
        result = render(data, sizes=sizes)

        # then libjpeg decoded it at 1/2 (or 1/8) scale: never below the largest rendition
        assert (result.decoded_width, result.decoded_height) == decoded
        assert (result.source_width, result.source_height) == (4000, 3000)
        assert max(result.renditions[-1].width, result.renditions[-1].height) == max(sizes)


# -------------------------------------------------------------------------------------------
# Output format and metadata
# -------------------------------------------------------------------------------------------


def test_renditions_are_webp_by_default() -> None:
    result = render(images.jpeg(800, 600), sizes=SIZES)

    for rendition in result.renditions:
        assert opened(rendition).format == "WEBP"
        assert (rendition.format, rendition.content_type, rendition.extension) == (
            "webp",
            "image/webp",
            "webp",
        )


def test_renditions_can_be_jpeg_instead() -> None:
    result = render(images.png(800, 600), sizes=SIZES, output="jpeg", quality=70)

    for rendition in result.renditions:
        assert opened(rendition).format == "JPEG"
        assert (rendition.format, rendition.content_type, rendition.extension) == (
            "jpeg",
            "image/jpeg",
            "jpg",
        )


@pytest.mark.parametrize("output", ["webp", "jpeg"])
def test_renditions_carry_no_exif_gps_xmp_or_icc_profile(output: str) -> None:
    # given a camera JPEG with EXIF (GPS included) and an embedded ICC profile
    data = images.jpeg(
        1200,
        900,
        exif=images.camera_exif(gps=(51.5007, -0.1246)),
        icc_profile=images.srgb_profile(),
    )

    # when it is rendered
    result = render(data, sizes=SIZES, output=output)  # type: ignore[arg-type]

    # then no rendition carries any metadata, in Pillow's view or in the file's structure
    for rendition in result.renditions:
        picture = opened(rendition)
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp"} & set(picture.info)
        assert len(picture.getexif()) == 0
        assert b"FUJIFILM" not in rendition.data
        if output == "webp":
            assert not {b"EXIF", b"ICCP", b"XMP "} & set(webp_chunks(rendition.data))
        else:
            assert not {0xE1, 0xE2} & set(jpeg_markers(rendition.data)), "APP1/APP2 present"


def test_rendering_is_deterministic() -> None:
    data = images.jpeg(1600, 1200, exif=images.camera_exif(orientation=6))

    first = render(data, sizes=SIZES)
    second = render(data, sizes=SIZES)

    assert [r.data for r in first.renditions] == [r.data for r in second.renditions]


# -------------------------------------------------------------------------------------------
# Orientation and colour
# -------------------------------------------------------------------------------------------


def quadrants(picture: Image.Image) -> list[str]:
    """Which of red/blue sits at the centre of each quarter, left to right, top to bottom."""
    rgb = picture.convert("RGB")
    width, height = rgb.size
    found = []
    for y in (height // 4, 3 * height // 4):
        for x in (width // 4, 3 * width // 4):
            red, _, blue = rgb.getpixel((x, y))  # type: ignore[misc]
            found.append("red" if red > blue else "blue")
    return found


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(("width", "height"), [(64, 32), (1600, 800)], ids=["small", "drafted"])
def test_exif_orientation_is_applied_like_exif_transpose(
    orientation: int, width: int, height: int
) -> None:
    # given a picture whose top-left quarter is red, stored with EXIF orientation N
    marker = images.corner_marker(width, height, corner=RED, fill=BLUE)
    data = images.jpeg(image=marker, exif=images.camera_exif(orientation=orientation))
    displayed = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))

    # when it is rendered
    result = render(data, sizes=(256,))

    # then the rendition looks like the displayed picture: same shape, red quarter in place
    (rendition,) = result.renditions
    picture = opened(rendition)
    assert (picture.width > picture.height) == (displayed.width > displayed.height)
    assert (result.source_width, result.source_height) == displayed.size
    assert quadrants(picture) == quadrants(displayed)


@pytest.mark.parametrize(
    "exif",
    [
        images.camera_exif(orientation=9),
        images.camera_exif(overrides={"Orientation": images.Tag(images.ASCII, "six")}),
        b"Exif\0\0MM\0*garbage that is no IFD",
    ],
    ids=["orientation-9", "orientation-text", "garbage-block"],
)
def test_malformed_exif_is_ignored_and_the_picture_kept_as_stored(exif: bytes) -> None:
    marker = images.corner_marker(64, 32, corner=RED, fill=BLUE)
    data = images.jpeg(image=marker, exif=exif)

    result = render(data, sizes=(256,))

    picture = opened(result.renditions[0])
    assert picture.size == (64, 32)
    assert quadrants(picture) == ["red", "blue", "blue", "blue"]


def test_a_tiff_orientation_is_applied_exactly_once() -> None:
    # given a TIFF stored with orientation 8 (Pillow rotates TIFFs itself while loading)
    marker = images.corner_marker(200, 100, corner=RED, fill=BLUE)
    data = images.encode(marker, "TIFF", tiffinfo={0x0112: 8})
    reference = Image.open(io.BytesIO(data))
    displayed = ImageOps.exif_transpose(reference)

    # when it is rendered
    result = render(data, sizes=(256,))

    # then it is rotated once, like any viewer shows it
    picture = opened(result.renditions[0])
    assert picture.size == (100, 200)
    assert quadrants(picture) == quadrants(displayed)


@pytest.mark.parametrize("container", ["JPEG", "PNG"])
def test_an_embedded_icc_profile_is_converted_to_srgb(container: str) -> None:
    # given a red picture whose embedded profile declares the red channel to be blue
    data = images.encode(
        Image.new("RGB", (64, 64), RED),
        container,
        icc_profile=images.icc_profile(swap_red_blue=True),
    )

    # when it is rendered
    result = render(data, sizes=(256,))

    # then the rendition shows what the profile means: blue
    assert close_to(opened(result.renditions[0]).convert("RGB").getpixel((32, 32)), BLUE)  # type: ignore[arg-type]


def test_an_srgb_profile_leaves_colours_as_they_are() -> None:
    data = images.encode(
        Image.new("RGB", (64, 64), (200, 120, 40)), "PNG", icc_profile=images.srgb_profile()
    )

    result = render(data, sizes=(256,))

    assert close_to(
        opened(result.renditions[0]).convert("RGB").getpixel((32, 32)),  # type: ignore[arg-type]
        (200, 120, 40),
        tolerance=6,
    )


def test_a_cmyk_jpeg_becomes_rgb_with_its_colours() -> None:
    # given a CMYK JPEG (Adobe, inverted) of a red square
    data = images.jpeg(image=Image.new("RGB", (64, 64), RED), mode="CMYK")
    assert Image.open(io.BytesIO(data)).mode == "CMYK"

    # when it is rendered to WebP and to JPEG
    for output in ("webp", "jpeg"):
        result = render(data, sizes=(256,), output=output)  # type: ignore[arg-type]

        # then the rendition is RGB and red
        picture = opened(result.renditions[0])
        assert picture.mode == "RGB"
        assert close_to(picture.getpixel((32, 32)), RED, tolerance=40)  # type: ignore[arg-type]


def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_clipped() -> None:
    # given the same picture as 16-bit and as 8-bit grey PNGs
    sixteen = render(images.png(400, 300, mode="I;16"), sizes=(256,))
    eight = render(images.png(400, 300, mode="L"), sizes=(256,))

    # then their renditions look the same (clipping would turn the 16-bit one white)
    assert mean_difference(opened(sixteen.renditions[0]), opened(eight.renditions[0])) < 2


def test_a_16_bit_colour_png_looks_like_its_8_bit_version() -> None:
    sixteen = render(images.png(400, 300, mode="RGB;16"), sizes=(256,))
    eight = render(images.png(400, 300, mode="RGB"), sizes=(256,))

    assert mean_difference(opened(sixteen.renditions[0]), opened(eight.renditions[0])) < 2


@pytest.mark.parametrize("mode", ["P", "LA", "RGBA"])
def test_transparency_is_kept_in_webp(mode: str) -> None:
    result = render(images.png(400, 300, mode=mode), sizes=(256,))

    picture = opened(result.renditions[0])
    assert picture.mode == "RGBA"
    assert picture.getchannel("A").getextrema()[0] < 255  # type: ignore[index]


def test_transparency_is_flattened_on_white_in_jpeg() -> None:
    data = images.encode(Image.new("RGBA", (64, 64), (255, 0, 0, 0)), "PNG")

    result = render(data, sizes=(256,), output="jpeg")

    picture = opened(result.renditions[0])
    assert picture.mode == "RGB"
    assert close_to(picture.getpixel((32, 32)), WHITE, tolerance=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("container", ["gif", "webp", "png"])
def test_an_animation_is_rendered_from_its_first_frame(container: str) -> None:
    # given a three-frame animation of three different pictures
    data = images.animated(container, 320, 240, frames=3, seed=10)

    # when it is rendered
    result = render(data, sizes=(256,))

    # then the rendition is the first frame, not another
    picture = opened(result.renditions[0])
    first, second = images.photo(320, 240, seed=10), images.photo(320, 240, seed=11)
    assert mean_difference(picture, first) < mean_difference(picture, second) / 3


@pytest.mark.parametrize(
    "data",
    [
        images.tiff(600, 400),
        images.webp(600, 400),
        images.tiff(600, 400, mode="CMYK"),
        images.mpo(600, 400),
        images.jpeg(600, 400, mode="L"),
    ],
    ids=["tiff", "webp", "tiff-cmyk", "mpo", "grey-jpeg"],
)
def test_other_source_formats_render(data: bytes) -> None:
    result = render(data, sizes=SIZES)

    assert [(r.width, r.height) for r in result.renditions] == [(256, 171), (512, 341), (600, 400)]


# -------------------------------------------------------------------------------------------
# Hostile and broken files
# -------------------------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_without_decoding_it() -> None:
    # given a PNG that declares 40000x40000 pixels over a few hundred bytes
    data = images.decompression_bomb_png()
    assert len(data) < 10_000

    # when it is rendered
    started = time.perf_counter()
    with pytest.raises(DecompressionBombError) as caught:
        render(data, sizes=SIZES)

    # then it is refused at once, as a decompression bomb
    assert time.perf_counter() - started < 2
    assert caught.value.reason == "decompression_bomb"
    assert "1600000000" in str(caught.value)


def test_an_image_over_the_configured_pixel_limit_is_refused() -> None:
    with pytest.raises(DecompressionBombError) as caught:
        render(images.png(1000, 1000), sizes=SIZES, max_pixels=999_999)

    assert caught.value.reason == "decompression_bomb"
    assert "1000x1000" in str(caught.value)
    assert "999999" in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [
        images.truncated_jpeg(800, 600, keep=0.5),
        images.truncated_jpeg(800, 600, keep=0.01),
        b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        images.truncated(images.heic(256, 192)),
        images.truncated(images.avif(256, 192)),
    ],
    ids=[
        "truncated-scan",
        "truncated-header",
        "png-signature-only",
        "truncated-heic",
        "truncated-avif",
    ],
)
def test_a_file_that_does_not_decode_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptImageError) as caught:
        render(data, sizes=SIZES)

    assert caught.value.reason == "corrupt"


def test_avif_is_made_beside_webp_from_the_same_pixels_when_asked() -> None:
    # given a photo, and AVIF asked for beside WebP
    data = images.jpeg(800, 600)
    # when it is rendered
    result = render(data, sizes=(256, 512), also=("avif",))
    # then each size comes in both formats, the same dimensions, each a real file of its type
    made = [(r.size, r.format, r.width, r.height) for r in result.renditions]
    assert made == [
        (256, "webp", 256, 192),
        (256, "avif", 256, 192),
        (512, "webp", 512, 384),
        (512, "avif", 512, 384),
    ]
    for rendition in result.renditions:
        with Image.open(io.BytesIO(rendition.data)) as decoded:
            assert decoded.format == rendition.format.upper()
            assert decoded.size == (rendition.width, rendition.height)
            assert "exif" not in decoded.info
    assert {r.content_type for r in result.renditions} == {"image/webp", "image/avif"}
