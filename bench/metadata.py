"""Section 2: the metadata-extractor's ``extract`` against a plain Pillow EXIF read.

Both run on the same corpus as section 1, each method in its own fresh interpreter (``python -m
bench.metadata METHOD FILE...``), warmed up once per file, then timed ``reps`` times per file.

``project``  ``metadata_extractor.imaging.extract`` (GPS withheld, the default): headers only,
             every EXIF field checked, the event's data built.
``pillow``   the plain read most code does: ``Image.open``, size and mode, ``getexif()`` and its
             Exif and GPS sub-IFDs, as raw dicts. It checks nothing and builds nothing. (The
             corpus PNG has its ``eXIf`` chunk before the pixels, so neither decodes pixels; with
             a late chunk ``getexif()`` would decode the whole image, the project still would not.)
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import corpus
from bench.context import Context
from bench.machine import run_child
from bench.report import Row

METHODS = ("project", "pillow")
# Metadata reads take milliseconds: time this many times more repetitions than section 1.
REPS_FACTOR = 10


def _project() -> Callable[[bytes], Any]:
    from metadata_extractor.imaging import extract

    def run(data: bytes) -> Any:
        return extract(data, include_gps=False).as_data("bench")

    return run


def _pillow() -> Callable[[bytes], Any]:
    from PIL import ExifTags, Image

    def run(data: bytes) -> Any:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            return {
                "format": image.format,
                "size": image.size,
                "mode": image.mode,
                "exif": dict(exif),
                "sub": dict(exif.get_ifd(ExifTags.IFD.Exif)),
                "gps": dict(exif.get_ifd(ExifTags.IFD.GPSInfo)),
            }

    return run


def child(method: str, paths: Sequence[Path], reps: int) -> dict[str, Any]:
    run = {"project": _project, "pillow": _pillow}[method]()
    medians: dict[str, float] = {}
    for path in paths:
        data = path.read_bytes()
        run(data)
        times = []
        for _ in range(reps):
            began = time.perf_counter()
            run(data)
            times.append((time.perf_counter() - began) * 1000)
        medians[path.name] = round(statistics.median(times), 3)
    return {"method": method, "median_ms": medians}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metadata", description=__doc__)
    parser.add_argument("method", choices=METHODS)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--reps", type=int, default=50)
    args = parser.parse_args(argv)
    print(json.dumps(child(args.method, args.files, args.reps)))
    return 0


def run(ctx: Context) -> list[Row]:
    paths = corpus.ensure(corpus.PHOTOS, say=ctx.say)
    files = [str(paths[p.name]) for p in corpus.PHOTOS]
    reps = max(10, ctx.reps * REPS_FACTOR)
    measured: dict[str, dict[str, float]] = {}
    for method in METHODS:
        done = run_child(
            [sys.executable, "-m", "bench.metadata", method, *files, "--reps", str(reps)]
        )
        measured[method] = done.json()["median_ms"]
    rows = []
    for picture in corpus.PHOTOS:
        name = Path(paths[picture.name]).name
        project, pillow = measured["project"][name], measured["pillow"][name]
        ctx.say(f"  metadata {picture.name:<15} project {project:8.3f} ms  pillow {pillow:8.3f} ms")
        rows.append(
            Row(
                f"metadata/{picture.name} time",
                "ms/image",
                project,
                pillow,
                "Pillow open + getexif()",
            )
        )
    ctx.notes.append(
        "metadata: the peer is a plain Pillow read (open, getexif() and its Exif/GPS IFDs as raw "
        "dicts) that checks nothing; the difference is the project's per-field checks and the "
        "event data it builds. Neither decodes pixels on this corpus"
    )
    return rows


if __name__ == "__main__":
    sys.exit(main())
