"""``python -m bench [SECTION ...]``: run the benchmarks, print the table, store the results.

Sections: thumbs, metadata, cold, moto, up, e2e (default: all, in that order). ``make bench`` passes
``BENCH`` (comma or space separated), ``BENCH_REPS`` and ``BENCH_E2E_N`` through.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from bench import goals as goal_rules
from bench import report
from bench.context import Context
from bench.machine import facts
from bench.report import Results, Row

SECTIONS = report.SECTION_ORDER
DEFAULT_REPS = 7


def _runner(section: str) -> Callable[[Context], list[Row]]:
    if section == "thumbs":
        from bench import thumbs

        return thumbs.run
    if section == "metadata":
        from bench import metadata

        return metadata.run
    if section == "cold":
        from bench import coldstart

        return coldstart.run
    if section == "moto":
        from bench import motoserver

        return motoserver.run
    if section == "e2e":
        from bench import e2e

        return e2e.run
    from bench import stackup

    return stackup.run


def _sections(values: Sequence[str]) -> list[str]:
    wanted = [v.strip() for value in values for v in value.replace(",", " ").split() if v.strip()]
    if not wanted or wanted == ["all"]:
        return list(SECTIONS)
    unknown = [w for w in wanted if w not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    return [s for s in SECTIONS if s in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("sections", nargs="*", default=[os.environ.get("BENCH", "all")])
    parser.add_argument(
        "--reps",
        type=int,
        default=int(os.environ.get("BENCH_REPS") or DEFAULT_REPS),
        help=f"timed repetitions per measurement (default {DEFAULT_REPS}; BENCH_REPS)",
    )
    parser.add_argument(
        "--e2e-n",
        type=int,
        default=int(os.environ.get("BENCH_E2E_N") or 100),
        help="uploads in the end-to-end run (default 100; BENCH_E2E_N)",
    )
    parser.add_argument(
        "--no-store", action="store_true", help="print only; leave bench/results.* alone"
    )
    args = parser.parse_args(argv)
    sections = _sections(args.sections)

    machine = facts()
    from tools.runtime.awslambda import InterpreterError, find_python

    try:
        machine["lambda_python"] = str(find_python("python3.12"))
    except InterpreterError:
        machine["lambda_python"] = None
    machine["settings"] = f"reps={args.reps}, e2e uploads={args.e2e_n}"
    ctx = Context(reps=args.reps, machine=machine, e2e_count=args.e2e_n)
    load = os.getloadavg()[0]
    preliminary = load > 0.5 * (os.cpu_count() or 1) or args.reps < DEFAULT_REPS
    ctx.say(
        f"bench: {', '.join(sections)} on {machine['cores']} x {machine['cpu']}, Python "
        f"{machine['python']}, Pillow {machine['pillow']}, libvips {machine['libvips'] or '-'}; "
        f"load average {machine['load_average']}, reps {args.reps}"
    )
    results = Results(machine=machine, sections=[])
    failed: list[str] = []
    for section in sections:
        began = time.monotonic()
        ctx.say(f"\n== {section} ==")
        try:
            rows = _runner(section)(ctx)
        except Exception as error:  # one broken section must not lose the others' rows
            failed.append(section)
            ctx.say(f"{section}: FAILED: {type(error).__name__}: {error}")
            ctx.notes.append(f"{section}: failed in this run: {type(error).__name__}: {error}")
            continue
        results.rows += rows
        results.sections.append(section)
        ctx.say(f"{section}: {time.monotonic() - began:.0f} s")
    results.notes = ctx.notes

    rows = report.merged(results) if not args.no_store else report.ordered(results.rows)
    judged = goal_rules.judge(rows)
    ctx.say("\n" + report.text_table(rows))
    if judged:
        ctx.say("\ngoals:\n" + report.goals_text(judged))
    if ctx.notes:
        ctx.say("\nnotes:\n" + "\n".join(f"  - {note}" for note in ctx.notes))
    if not args.no_store:
        report.store(results, rows, judged, preliminary=preliminary)
        ctx.say(f"\nstored: {report.RESULTS_JSON.name}, {report.RESULTS_MD.name} in bench/")
    if preliminary:
        ctx.say(
            f"(preliminary: load average {load:.2f} on {machine['cores']} cores at the start, "
            f"reps {args.reps}; quote figures from a quiet machine)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
