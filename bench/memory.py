"""Peak memory of one file in each image service, at the function's deployed memory budget.

``python -m bench.memory`` writes the review's hard files (100 MP each, small on disk) to
``build/bench/memory/`` and runs each service's logic on each one in a fresh process, printing
the peak RSS and the verdict: ingest's ``inspect_image``, the thumbnailer's ``render`` (both with
the budget of their deployed memory, ``media_shared.limits``), the extractor's ``extract``.
``--no-budget`` runs without the budget (what the services did before they had one). A one-off
measurement, not a section of ``make bench``: memory is no peer comparison, and no test may
measure it.
"""

from __future__ import annotations

import argparse
import io
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench" / "memory"
SIDE = 10_000
SERVICES = ("ingest", "thumbnailer", "metadata-extractor")


def _gradient_cmyk_jpeg(path: Path) -> None:
    from PIL import Image

    row = Image.linear_gradient("L").rotate(90).resize((SIDE, 1))
    bands = [row.point(lambda v, c=c: (v + 40 * c) % 256).resize((SIDE, SIDE)) for c in range(4)]
    Image.merge("CMYK", bands).save(path, progressive=True, quality=30)


def _tiff(mode: str, value: float) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        from PIL import Image

        Image.new(mode, (SIDE, SIDE), value).save(path, compression="tiff_adobe_deflate")

    return write


def _gif(path: Path) -> None:
    from PIL import Image

    first, second = Image.new("P", (SIDE, SIDE), 0), Image.new("P", (SIDE, SIDE), 1)
    first.save(path, save_all=True, append_images=[second, first], duration=100)


def _rgba_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGBA", (SIDE, SIDE), (1, 2, 3, 4)).save(path)


FILES: dict[str, Callable[[Path], None]] = {
    "cmyk-progressive.jpg": _gradient_cmyk_jpeg,
    "float.tif": _tiff("F", 0.5),
    "int32.tif": _tiff("I", 5),
    "grey16.tif": _tiff("I;16", 5),
    "three-frames.gif": _gif,
    "rgba.png": _rgba_png,
}


def measure(service: str, path: Path, *, budget: bool) -> str:
    """One line: the peak RSS of ``service``'s logic on ``path`` (run in this process)."""
    data = path.read_bytes()
    from ingest.inspection import inspect_image, sniff
    from ingest.settings import IngestSettings
    from media_shared.settings import CommonSettings
    from metadata_extractor.imaging import extract
    from thumbnailer.imaging import render
    from thumbnailer.settings import ThumbnailerSettings

    common = CommonSettings(service=service, event_bus_name="bench")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdict = "accepted"
    try:
        if service == "ingest":
            ingest = IngestSettings(common=common, uploads_bucket="u", originals_bucket="o")
            inspect_image(
                io.BytesIO(data),
                sniff(data[:64]),
                max_pixels=ingest.max_image_pixels,
                memory_budget=ingest.decode_budget if budget else None,
                memory_mb=ingest.memory_mb,
            )
        elif service == "thumbnailer":
            thumbs = ThumbnailerSettings(common=common, originals_bucket="o", derived_bucket="d")
            render(
                io.BytesIO(data),
                sizes=thumbs.sizes,
                max_pixels=thumbs.max_image_pixels,
                memory_budget=thumbs.decode_budget if budget else None,
                memory_mb=thumbs.memory_mb,
            )
        else:
            extract(io.BytesIO(data))
    except Exception as error:
        reason = getattr(error, "reason", type(error).__name__)
        verdict = f"{reason}: {getattr(error, 'detail', error)}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (
        f"{service:19} {path.name:21} {len(data) / 1e6:5.2f} MB  peak {peak / 1024:6.0f} MB "
        f"(+{(peak - before) / 1024:5.0f})  {verdict[:120]}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-budget", action="store_true", help="decode without the budget")
    parser.add_argument("--one", nargs=2, metavar=("SERVICE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--write", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write:
        FILES[args.write](OUT / args.write)
        return 0
    if args.one:
        print(measure(args.one[0], Path(args.one[1]), budget=not args.no_budget), flush=True)
        return 0
    # Each file is written, and each measured, in a process of its own: Linux keeps a process's
    # peak RSS across exec, so this one must stay small.
    OUT.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        if not (OUT / name).exists():
            subprocess.run([sys.executable, "-m", "bench.memory", "--write", name], check=True)
    extra = ["--no-budget"] if args.no_budget else []
    for service in SERVICES:
        for name in FILES:
            command = [sys.executable, "-W", "ignore", "-m", "bench.memory", *extra]
            subprocess.run(
                [*command, "--one", service, str(OUT / name)],
                check=True,
                cwd=REPO,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
