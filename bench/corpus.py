"""The benchmark's images, generated once into a cache folder (``build/bench/corpus``).

Every file is a deterministic function of its name (``tests/support/images.py``), so a cached file
is reused as long as its generator and parameters are unchanged (the recipe is part of the cache
key). Nothing here is committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.machine import REPO

DEFAULT_DIR = REPO / "build" / "bench" / "corpus"


@dataclass(frozen=True)
class Picture:
    """One corpus file: its name, what it is, and how to make it."""

    name: str
    what: str
    width: int
    height: int
    kind: str  # "jpeg" | "png"
    seed: int
    orientation: int = 1

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    @property
    def is_jpeg(self) -> bool:
        return self.kind == "jpeg"

    def recipe(self) -> str:
        return json.dumps(
            [self.kind, self.width, self.height, self.seed, self.orientation, _GENERATOR_VERSION]
        )

    def make(self) -> bytes:
        from tests.support import images

        exif = images.camera_exif(orientation=self.orientation)
        # The statistics of a photograph (texture at every scale, hard edges, sensor grain), so
        # decoders and encoders work as hard as on a camera's file; a smooth picture flatters.
        picture = images.textured_photo(self.width, self.height, seed=self.seed)
        if self.kind == "jpeg":
            return images.jpeg(exif=exif, image=picture)
        return images.png(exif=exif, image=picture)


# Bump when the way files are made changes (the cache then regenerates them).
_GENERATOR_VERSION = 2

#: Section 1 and 2's corpus: photographic JPEGs at 12 and 24 MP, one stored sideways with EXIF
#: orientation 6 (displayed 3000x4000), and a 12 MP PNG.
PHOTOS: tuple[Picture, ...] = (
    Picture("jpeg-12mp", "JPEG 4000x3000 (12 MP), q90, camera EXIF", 4000, 3000, "jpeg", 101),
    Picture("jpeg-24mp", "JPEG 6000x4000 (24 MP), q90, camera EXIF", 6000, 4000, "jpeg", 102),
    Picture(
        "jpeg-12mp-rot6",
        "JPEG 4000x3000 (12 MP) stored sideways, EXIF orientation 6",
        4000,
        3000,
        "jpeg",
        103,
        orientation=6,
    ),
    Picture("png-12mp", "PNG 4000x3000 (12 MP) RGB, camera EXIF", 4000, 3000, "png", 104),
)


def e2e_photos(count: int, width: int = 1632, height: int = 1224) -> list[Picture]:
    """``count`` distinct 2 MP camera JPEGs (1632x1224), every fifth one rotated (orientation 6)."""
    return [
        Picture(
            f"e2e-{number:04d}",
            f"JPEG {width}x{height}",
            width,
            height,
            "jpeg",
            1000 + number,
            orientation=6 if number % 5 == 4 else 1,
        )
        for number in range(count)
    ]


def path_of(picture: Picture, directory: Path = DEFAULT_DIR) -> Path:
    suffix = "jpg" if picture.kind == "jpeg" else "png"
    key = hashlib.sha256(picture.recipe().encode()).hexdigest()[:10]
    return directory / f"{picture.name}-{key}.{suffix}"


def ensure(
    pictures: list[Picture] | tuple[Picture, ...],
    directory: Path = DEFAULT_DIR,
    say: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Every picture's file, generated if missing; name -> path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    missing = [p for p in pictures if not path_of(p, directory).is_file()]
    if missing and say is not None:
        say(f"corpus: generating {len(missing)} file(s) into {directory}")
    for picture in pictures:
        path = path_of(picture, directory)
        if not path.is_file():
            partial = path.with_suffix(path.suffix + ".partial")
            partial.write_bytes(picture.make())
            partial.rename(path)
        paths[picture.name] = path
    return paths
