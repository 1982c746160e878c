"""Section 1: the thumbnailer's render against straightforward Pillow, libvips and the floor.

Every (method, image) pair runs in its own fresh interpreter (``python -m bench.thumbs METHOD
FILE``): the parent measures that child's peak RSS with ``wait4`` (``ru_maxrss``), and no process
ever holds Pillow and libvips together (with pyvips loaded, Pillow's WebP encoder can end up on the
system libwebp, which is slower and encodes differently). Each child renders the image once to
warm up (imports, thread pool), then ``reps`` times, timing each; it prints one JSON line.

Methods, all making the default renditions (256, 512 and 1024 px longest side, WebP quality 80,
WebP method 4, no metadata):

``project``  ``thumbnailer.imaging.render``, the function the Lambda runs.
``pillow``   straightforward Pillow: open, ``ImageOps.exif_transpose``, then per size a copy of
             the full image, ``thumbnail`` and save. What most code does.
``vips``     libvips through pyvips: ``Image.thumbnail_buffer`` per size (shrink-on-load,
             auto-rotate), ``webpsave_buffer`` (Q 80, effort 4, strip). libvips' operation cache
             is off (each real upload is a new image); its own threads are left at the default.
``floor``    decoding at the scale the largest rendition needs (JPEG: ``draft``, the DCT-domain
             1/2, 1/4, 1/8 scaling; PNG: a full decode, PNG has no scaled decode) plus encoding the
             three renditions on two threads as the project does; the renditions themselves are
             made untimed. Nothing else: no resize, no colour or orientation work.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import corpus
from bench.context import Context
from bench.machine import own_peak_rss_mb, run_child
from bench.report import Row

SIZES: tuple[int, ...] = (256, 512, 1024)
QUALITY = 80
# The project's WebP method (thumbnailer.imaging.WEBP_METHOD), given to every peer; the parent
# checks that they agree.
WEBP_METHOD = 4
ENCODE_THREADS = 2
METHODS = ("project", "pillow", "vips", "floor")

Render = Callable[[bytes], list[tuple[int, int, int]]]  # -> [(width, height, bytes)]


# --------------------------------------------------------------------------------------------
# The methods (each runs in its own child process)
# --------------------------------------------------------------------------------------------


def _project(steps: dict[str, list[float]]) -> Render:
    from thumbnailer.imaging import render

    def run(data: bytes) -> list[tuple[int, int, int]]:
        result = render(data, sizes=SIZES, output="webp", quality=QUALITY)
        for step, ms in result.timings_ms.items():  # render's own split of its time
            steps.setdefault(step, []).append(ms)
        return [(r.width, r.height, len(r.data)) for r in result.renditions]

    return run


def _pillow() -> Render:
    from PIL import Image, ImageOps

    def run(data: bytes) -> list[tuple[int, int, int]]:
        with Image.open(io.BytesIO(data)) as opened:
            image = ImageOps.exif_transpose(opened)
        out = []
        for size in SIZES:
            thumb = image.copy()
            thumb.thumbnail((size, size))
            buffer = io.BytesIO()
            thumb.save(buffer, format="WEBP", quality=QUALITY, method=WEBP_METHOD)
            out.append((thumb.width, thumb.height, buffer.tell()))
        return out

    return run


def _vips() -> Render:
    import pyvips  # type: ignore[import-untyped]

    pyvips.cache_set_max(0)

    def run(data: bytes) -> list[tuple[int, int, int]]:
        out = []
        for size in SIZES:
            thumb = pyvips.Image.thumbnail_buffer(data, size, height=size, size="down")
            encoded = thumb.webpsave_buffer(Q=QUALITY, effort=WEBP_METHOD, strip=True)
            out.append((thumb.width, thumb.height, len(encoded)))
        return out

    return run


@dataclass
class FloorTimes:
    decode_ms: list[float]
    encode_ms: list[float]


def _floor(times: FloorTimes) -> Render:
    from PIL import Image, ImageOps

    pool = ThreadPoolExecutor(max_workers=ENCODE_THREADS)
    prepared: dict[bytes, list[Image.Image]] = {}

    def fit(width: int, height: int, size: int) -> tuple[int, int]:
        scale = min(1.0, size / max(width, height))
        return max(1, round(width * scale)), max(1, round(height * scale))

    def decode(data: bytes) -> Image.Image:
        image = Image.open(io.BytesIO(data))
        if image.format == "JPEG":
            # Fitting the stored or the displayed (turned) size gives the same scale.
            image.draft(image.mode, fit(*image.size, max(SIZES)))
        image.load()
        return image

    def encode(picture: Image.Image) -> int:
        buffer = io.BytesIO()
        picture.save(buffer, format="WEBP", quality=QUALITY, method=WEBP_METHOD)
        return buffer.tell()

    def renditions(decoded: Image.Image) -> list[Image.Image]:
        upright = ImageOps.exif_transpose(decoded)
        made = []
        for size in SIZES:
            picture = upright.resize(fit(*upright.size, size), Image.Resampling.LANCZOS)
            picture.info = {}
            made.append(picture)
        return made

    def run(data: bytes) -> list[tuple[int, int, int]]:
        began = time.perf_counter()
        decoded = decode(data)
        decoded_at = time.perf_counter()
        if data not in prepared:  # untimed: the renditions the encoder is given
            prepared.clear()
            prepared[data] = renditions(decoded)
        pictures = prepared[data]
        encode_began = time.perf_counter()
        sizes = list(pool.map(encode, pictures))
        finished = time.perf_counter()
        times.decode_ms.append((decoded_at - began) * 1000)
        times.encode_ms.append((finished - encode_began) * 1000)
        return [(p.width, p.height, n) for p, n in zip(pictures, sizes, strict=True)]

    return run


def child(method: str, path: Path, reps: int) -> dict[str, Any]:
    """Render ``path`` once to warm up, then ``reps`` times; the measurements as a dict."""
    data = path.read_bytes()
    floor_times = FloorTimes([], [])
    steps: dict[str, list[float]] = {}
    makers: dict[str, Callable[[], Render]] = {
        "project": lambda: _project(steps),
        "pillow": _pillow,
        "vips": _vips,
        "floor": lambda: _floor(floor_times),
    }
    render = makers[method]()
    outputs = render(data)
    floor_times.decode_ms.clear()
    floor_times.encode_ms.clear()
    steps.clear()
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        outputs = render(data)
        times.append((time.perf_counter() - began) * 1000)
    if method == "floor":
        # The floor is the decode plus the encode, not the untimed preparation between them.
        times = [d + e for d, e in zip(floor_times.decode_ms, floor_times.encode_ms, strict=True)]
    result: dict[str, Any] = {
        "method": method,
        "file": path.name,
        "times_ms": [round(t, 2) for t in times],
        "median_ms": round(statistics.median(times), 2),
        "renditions": [list(o) for o in outputs],
        "bytes": sum(o[2] for o in outputs),
    }
    if steps:
        result["steps_ms"] = {k: round(statistics.median(v), 1) for k, v in steps.items()}
    if method == "floor":
        result["decode_ms"] = round(statistics.median(floor_times.decode_ms), 2)
        result["encode_ms"] = round(statistics.median(floor_times.encode_ms), 2)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.thumbs", description=__doc__)
    parser.add_argument("method", choices=METHODS)
    parser.add_argument("file", type=Path)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    result = child(args.method, args.file, args.reps)
    result["peak_rss_mb"] = own_peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())


# --------------------------------------------------------------------------------------------
# The parent: one child per (image, method), rows for the table
# --------------------------------------------------------------------------------------------


def run(ctx: Context) -> list[Row]:
    from thumbnailer import imaging

    if imaging.WEBP_METHOD != WEBP_METHOD:
        raise RuntimeError(
            f"the project's WebP method is {imaging.WEBP_METHOD}, the peers use {WEBP_METHOD}: "
            "update bench/thumbs.py so every method encodes alike"
        )
    paths = corpus.ensure(corpus.PHOTOS, say=ctx.say)
    vips_missing = None if ctx.machine.get("libvips") else ctx.vips_missing
    rows: list[Row] = []
    for picture in corpus.PHOTOS:
        path = paths[picture.name]
        measured: dict[str, dict[str, Any]] = {}
        for method in METHODS:
            if method == "vips" and vips_missing:
                continue
            done = run_child(
                [sys.executable, "-m", "bench.thumbs", method, str(path), "--reps", str(ctx.reps)]
            )
            result = done.json()
            # The child's own peak (VmHWM), not wait4's, which includes this parent's size.
            own = result.get("peak_rss_mb")
            result["max_rss_mb"] = round(own if own is not None else done.max_rss_mb, 1)
            measured[method] = result
            ctx.say(
                f"  thumbs {picture.name:<15} {method:<8} median {result['median_ms']:7.1f} ms  "
                f"peak RSS {result['max_rss_mb']:6.1f} MB  {result['bytes']:>7} bytes"
            )
        ctx.details.setdefault("thumbs", {})[picture.name] = measured
        rows += _rows(picture.name, measured, vips_missing)
        floor = measured["floor"]
        ctx.notes.append(
            f"thumbs {picture.name}: the floor is decode {floor['decode_ms']:.0f} ms "
            f"+ encode {floor['encode_ms']:.0f} ms (medians; decoded at "
            f"{_decoded_scale(picture)}); the project's own split (medians): "
            + ", ".join(f"{k} {v:.0f}" for k, v in measured["project"]["steps_ms"].items())
            + " ms (encoding overlaps the resizes; encode_wait is what is left after them); "
            "renditions " + "/".join(f"{w}x{h}" for w, h, _ in measured["project"]["renditions"])
        )
    return rows


def _decoded_scale(picture: corpus.Picture) -> str:
    if not picture.is_jpeg:
        return "full size: PNG has no scaled decode"
    longest = max(picture.width, picture.height)
    scale = 1
    while longest // (scale * 2) >= max(SIZES) and scale < 8:
        scale *= 2
    return f"1/{scale} scale"


def _rows(name: str, measured: dict[str, dict[str, Any]], vips_missing: str | None) -> list[Row]:
    project = measured["project"]
    pillow = measured["pillow"]
    vips = measured.get("vips")
    floor = measured["floor"]
    vips_name = "libvips thumbnail (pyvips)" if vips else f"libvips: {vips_missing}"
    prefix = f"thumbs/{name}"
    return [
        Row(
            f"{prefix} time vs Pillow",
            "ms/image",
            project["median_ms"],
            pillow["median_ms"],
            "Pillow straightforward",
        ),
        Row(
            f"{prefix} time vs libvips",
            "ms/image",
            project["median_ms"],
            vips["median_ms"] if vips else None,
            vips_name,
        ),
        Row(
            f"{prefix} time vs floor",
            "ms/image",
            project["median_ms"],
            floor["median_ms"],
            "floor: decode at scale + encode",
        ),
        Row(
            f"{prefix} peak RSS vs Pillow",
            "MB",
            project["max_rss_mb"],
            pillow["max_rss_mb"],
            "Pillow straightforward",
        ),
        Row(
            f"{prefix} peak RSS vs libvips",
            "MB",
            project["max_rss_mb"],
            vips["max_rss_mb"] if vips else None,
            vips_name,
        ),
        Row(
            f"{prefix} output bytes vs Pillow",
            "bytes",
            project["bytes"],
            pillow["bytes"],
            "Pillow straightforward",
        ),
        Row(
            f"{prefix} output bytes vs libvips",
            "bytes",
            project["bytes"],
            vips["bytes"] if vips else None,
            vips_name,
        ),
    ]
