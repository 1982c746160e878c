"""The extractor against a reference reader: exiftool (Debian's libimage-exiftool-perl).

Known tags are written into generated images *by exiftool* (so the files are laid out the way a
widely used writer lays them out, not the way our own test helpers do), then the extractor's
reading is compared with exiftool's, tag by tag. ``make setup`` installs exiftool (as root, with
apt-get); without it these tests skip and say so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from metadata_extractor.imaging import extract
from tests.support import images

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    EXIFTOOL is None,
    reason="exiftool is not installed (apt-get install libimage-exiftool-perl; make setup does "
    "it as root): the exiftool-reference tests need it",
)

WRITTEN = {
    "Make": "Canon",
    "Model": "Canon EOS R5",
    "LensModel": "RF24-105mm F4 L IS USM",
    "DateTimeOriginal": "2026:05:04 10:11:12",
    "OffsetTimeOriginal": "+02:00",
    "ExposureTime": "0.008",
    "FNumber": "4.0",
    "ISO": "400",
    "FocalLength": "50",
    "GPSLatitude": "48.8584",
    "GPSLatitudeRef": "N",
    "GPSLongitude": "2.2945",
    "GPSLongitudeRef": "W",
}

FILES = {
    "jpeg": lambda: images.jpeg(96, 64, icc_profile=images.icc_profile()),
    "png": lambda: images.png(96, 64, icc_profile=images.icc_profile()),
    "webp": lambda: images.webp(96, 64, icc_profile=images.icc_profile()),
    "tiff": lambda: images.tiff(96, 64, icc_profile=images.icc_profile()),
    "heic": lambda: images.heic(96, 64, icc_profile=images.icc_profile()),
    "avif": lambda: images.avif(96, 64, icc_profile=images.icc_profile()),
}
SUFFIXES = {"jpeg": "jpg"}


def exiftool(*arguments: str) -> list[dict[str, Any]]:
    assert EXIFTOOL is not None
    done = subprocess.run(
        [EXIFTOOL, *arguments], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(done.stdout)) if done.stdout.strip().startswith("[") else []


def written(tmp_path: Path, name: str, *, orientation: int | None) -> Path:
    """A generated ``name`` file with WRITTEN (and ``orientation``) written into it by exiftool."""
    path = tmp_path / f"picture.{SUFFIXES.get(name, name)}"
    path.write_bytes(FILES[name]())
    tags = [f"-{tag}={value}" for tag, value in WRITTEN.items()]
    if orientation is not None:
        tags.append(f"-Orientation#={orientation}")
    exiftool("-q", "-overwrite_original", *tags, str(path))
    return path


def reference(path: Path) -> dict[str, Any]:
    (read,) = exiftool("-j", "-n", "-G1", str(path))
    return read


def _one(read: dict[str, Any], tag: str) -> Any:
    """A tag's value whatever group exiftool filed it under (-G1: "IFD0:Make", ...); its
    Composite reading first (signed GPS coordinates, for one)."""
    if f"Composite:{tag}" in read:
        return read[f"Composite:{tag}"]
    for key, value in read.items():
        if key.split(":")[-1] == tag:
            return value
    return None


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_extractor_reads_what_exiftool_wrote_as_exiftool_reads_it(
    tmp_path: Path, name: str
) -> None:
    # given a generated image into which exiftool wrote a camera's tags (and a quarter turn,
    # except in HEIC and AVIF: their orientation is their irot/imir boxes, never EXIF, and
    # exiftool writes EXIF only)
    turn = None if name in ("heic", "avif") else 6
    path = written(tmp_path, name, orientation=turn)
    read = reference(path)

    # when the extractor reads it
    found = extract(path.read_bytes(), include_gps=True)

    # then it reads every field as exiftool does
    assert found.exif.make == _one(read, "Make")
    assert found.exif.model == _one(read, "Model")
    assert found.exif.lens == _one(read, "LensModel")
    assert found.exif.taken_at == "2026-05-04T10:11:12+02:00"
    assert _one(read, "DateTimeOriginal") == "2026:05:04 10:11:12"
    assert found.exif.exposure_time == pytest.approx(_one(read, "ExposureTime"))
    assert found.exif.f_number == pytest.approx(_one(read, "FNumber"))
    assert found.exif.iso == _one(read, "ISO")
    assert found.exif.focal_length_mm == pytest.approx(_one(read, "FocalLength"))
    assert found.gps is not None
    assert found.gps.latitude == pytest.approx(_one(read, "GPSLatitude"), abs=1e-6)
    assert found.gps.longitude == pytest.approx(_one(read, "GPSLongitude"), abs=1e-6)
    assert (found.orientation or 1) == (_one(read, "Orientation") if turn else 1)
    # the displayed size: exiftool gives the stored one, turned by the orientation it read
    width, height = _one(read, "ImageWidth"), _one(read, "ImageHeight")
    if name == "heic":
        # exiftool's HEIC ImageWidth/Height are the stored (ispe) ones, as libheif shows them
        assert (found.width, found.height) == (width, height)
    elif name == "tiff" or turn not in (5, 6, 7, 8):
        # Pillow reports a TIFF's size as displayed already
        assert {found.width, found.height} == {width, height}
    else:
        assert (found.width, found.height) == (height, width)
    # and the colour facts of its ICC profile
    assert found.has_icc_profile
    assert found.icc_profile_description == _one(read, "ProfileDescription")
    assert found.color_space == str(_one(read, "ColorSpaceData")).strip()


def test_a_nul_terminated_text_tag_is_cut_at_the_nul_as_exiftool_cuts_it(tmp_path: Path) -> None:
    # given a JPEG whose Model is "ION230", a NUL, then garbage (as some firmware writes it)
    exif = images.camera_exif(overrides={"Model": images.Tag(images.ASCII, "ION230\x00F")})
    path = tmp_path / "nul.jpg"
    path.write_bytes(images.jpeg(64, 48, exif=exif))

    # when the extractor and exiftool read it
    found = extract(path.read_bytes())
    read = reference(path)

    # then both stop at the NUL
    assert found.exif.model == _one(read, "Model") == "ION230"
