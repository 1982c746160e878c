"""One truth about orientation: what the extractor reports is what the thumbnailer renders.

For every kind of test image, wherever it keeps its orientation (EXIF in a JPEG, WebP, AVIF or
HEIC; a PNG's eXIf before or after its pixels, ImageMagick's raw profile, XMP; a TIFF's tag), the
metadata-extractor's width x height ("as displayed") has the shape of the largest thumbnail.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from metadata_extractor.imaging import extract
from tests.support import images
from thumbnailer.imaging import render

SIZES = (64, 128)
TURNS = (1, 3, 6, 8)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def corpus() -> dict[str, tuple[bytes, int]]:
    """name -> (file, orientation it declares); each picture is 96x48 as stored."""
    width, height = 96, 48
    files: dict[str, tuple[bytes, int]] = {}
    for turn in TURNS:
        exif = _exif(turn)
        files[f"jpeg-exif-{turn}"] = (images.jpeg(width, height, exif=exif), turn)
        files[f"webp-exif-{turn}"] = (images.webp(width, height, exif=exif), turn)
        files[f"avif-exif-{turn}"] = (images.avif(width, height, exif=exif), turn)
        files[f"heic-exif-{turn}"] = (images.heic(width, height, exif=exif), turn)
        files[f"tiff-tag-{turn}"] = (images.tiff(width, height, orientation=turn), turn)
        for where in ("early-exif", "late-exif", "raw-profile", "xmp"):
            files[f"png-{where}-{turn}"] = (
                images.png_oriented(turn, where=where, width=width, height=height),
                turn,
            )
        xmp_jpeg = images.encode(images.photo(width, height), "JPEG", xmp=images.xmp_packet(turn))
        files[f"jpeg-xmp-{turn}"] = (xmp_jpeg, turn)
    files["gif"] = (images.animated("gif", width, height), 1)
    files["mpo"] = (images.mpo(width, height, exif=_exif(6)), 6)
    return files


CORPUS = corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_extractors_size_has_the_shape_of_the_largest_thumbnail(name: str) -> None:
    # given a test image that declares an orientation somewhere
    data, turn = CORPUS[name]
    # when the extractor reads it and the thumbnailer renders it
    found = extract(data)
    result = render(data, sizes=SIZES)
    largest = result.renditions[-1]
    # then they agree on the orientation and on the displayed shape
    assert (found.orientation or 1) == turn
    assert (found.width > found.height) == (largest.width > largest.height)
    assert found.width * largest.height == pytest.approx(found.height * largest.width, rel=0.05)
    # and a quarter turn shows the 96x48 picture standing up
    expected = (48, 96) if turn in (5, 6, 7, 8) else (96, 48)
    assert (found.width, found.height) == expected
    assert (result.source_width, result.source_height) == expected


@pytest.mark.parametrize("name", [n for n in sorted(CORPUS) if n.endswith("-6")])
def test_the_rendered_pixels_are_turned_the_same_way_for_every_container(name: str) -> None:
    # given a picture whose top-left quarter is red, stored turned (orientation 6)
    marker = images.corner_marker(96, 48)
    kind = name.rsplit("-", 1)[0]
    exif = _exif(6)
    builders = {
        "jpeg-exif": lambda: images.jpeg(exif=exif, image=marker),
        "webp-exif": lambda: images.encode(marker, "WEBP", quality=95, exif=exif),
        "avif-exif": lambda: images.avif(exif=exif, image=marker, quality=90),
        "heic-exif": lambda: images.heic(exif=exif, image=marker, quality=90),
        "tiff-tag": lambda: images.encode(marker, "TIFF", tiffinfo={0x0112: 6}),
        "jpeg-xmp": lambda: images.encode(marker, "JPEG", xmp=images.xmp_packet(6)),
    }
    if kind.startswith("png-"):
        data = images.png_oriented(6, where=kind.removeprefix("png-"), image=marker)
    else:
        data = builders[kind]()
    # when it is thumbnailed
    largest = render(data, sizes=SIZES).renditions[-1]
    picture = Image.open(io.BytesIO(largest.data)).convert("RGB")
    # then (orientation 6: turn 90 degrees clockwise) the red quarter is now top-right
    w, h = picture.size
    red, _, blue = picture.getpixel((w * 3 // 4, h // 4))
    assert red > 200, kind
    assert blue < 80, kind


@pytest.mark.parametrize("turn", range(1, 9))
def test_a_heic_reports_the_orientation_its_transforms_apply(turn: int) -> None:
    # given a HEIC written as a phone does: EXIF orientation ``turn`` and the irot/imir for it
    data = images.heic(96, 48, exif=_exif(turn))
    # when the extractor reads it
    found = extract(data)
    # then it reports that orientation, and the size as libheif displays it
    assert (found.orientation or 1) == turn
    assert (found.width, found.height) == ((48, 96) if turn in (5, 6, 7, 8) else (96, 48))


def test_an_exif_orientation_without_heif_transforms_is_not_applied() -> None:
    # given a HEIC whose EXIF says 6 but whose HEIF boxes turn nothing (its irot angle set to
    # 0: as when an editor rewrites only the EXIF)
    turned = bytearray(images.heic(96, 48, exif=_exif(6)))
    turned[turned.index(b"irot") + 4] = 0
    data = bytes(turned)
    # when both services read it
    found = extract(data)
    largest = render(data, sizes=SIZES).renditions[-1]
    # then neither turns it: HEIF decoders ignore EXIF orientation, and so does the pipeline
    assert (found.orientation or 1) == 1
    assert (found.width, found.height) == (96, 48)
    assert (largest.width, largest.height) == (96, 48)
