"""Rows, goals and the three renderings of one run: the printed table, results.json, results.md."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import REPO

RESULTS_JSON = REPO / "bench" / "results.json"
RESULTS_MD = REPO / "bench" / "results.md"


@dataclass
class Row:
    """One comparison: the project's figure and a peer's, from the same run.

    ``ratio`` is project / peer (below 1 is better for times, memory and sizes). A peer that could
    not be measured has ``peer`` None and says why in ``peer_name``; a row with no peer at all (a
    plain measurement, like a throughput) has ``peer`` None and ``peer_name`` "-".
    """

    name: str  # "<section>/<what>", e.g. "thumbs/jpeg-12mp time vs Pillow"
    unit: str
    project: float | None
    peer: float | None
    peer_name: str

    @property
    def section(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def ratio(self) -> float | None:
        if self.project is None or self.peer is None or self.peer == 0:
            return None
        return self.project / self.peer

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "name": self.name,
            "unit": self.unit,
            "project": _rounded(self.project),
            "peer": _rounded(self.peer),
            "peer_name": self.peer_name,
            "ratio": None if ratio is None else round(ratio, 3),
        }


@dataclass
class Goal:
    """A target the issue sets, checked against the rows of this run."""

    section: str
    text: str
    met: bool | None  # None: could not be judged in this run (a peer or a section missing)
    detail: str = ""

    @property
    def verdict(self) -> str:
        return {True: "MET", False: "NOT MET", None: "n/a"}[self.met]


@dataclass
class Results:
    machine: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)


def _rounded(value: float | None) -> float | None:
    if value is None:
        return None
    if abs(value) >= 100:
        return round(value, 1)
    if abs(value) >= 1:
        return round(value, 2)
    return round(value, 4)


def figure(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio_text(row: Row) -> str:
    ratio = row.ratio
    return "-" if ratio is None else f"{ratio:.2f}"


COLUMNS = ("name", "unit", "project", "peer", "peer name", "ratio")


def cells(row: Row) -> list[str]:
    return [
        row.name,
        row.unit,
        figure(row.project),
        figure(row.peer),
        row.peer_name,
        ratio_text(row),
    ]


def text_table(rows: Sequence[Row]) -> str:
    body = [cells(row) for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in body)]) for i, c in enumerate(COLUMNS)]
    numeric = {2, 3, 5}

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if i in numeric else value.ljust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    out = [line(COLUMNS), line(["-" * w for w in widths])]
    section = None
    for row, values in zip(rows, body, strict=True):
        if section is not None and row.section != section:
            out.append("")
        section = row.section
        out.append(line(values))
    return "\n".join(out)


def goals_text(goals: Iterable[Goal]) -> str:
    lines = []
    for goal in goals:
        detail = f" ({goal.detail})" if goal.detail else ""
        lines.append(f"  [{goal.verdict:>7}] {goal.section}: {goal.text}{detail}")
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


SECTION_ORDER = ("thumbs", "metadata", "cold", "moto", "up", "e2e")


def ordered(rows: Iterable[Row]) -> list[Row]:
    order = {name: number for number, name in enumerate(SECTION_ORDER)}
    return sorted(rows, key=lambda r: order.get(r.section, len(order)))


def markdown(
    results: Results, rows: Sequence[Row], goals: Sequence[Goal], preliminary: bool
) -> str:
    m = results.machine
    lines = ["# Benchmark results", ""]
    if preliminary:
        lines += [
            "**Preliminary**: measured while other work was running on the machine (load average "
            f"{m.get('load_average')} at the start) and with few repetitions. Rerun `make bench` "
            "on a quiet machine for figures to quote.",
            "",
        ]
    kept = sorted({r.section for r in rows} - set(results.sections))
    lines += [
        "Written by `make bench` (`python -m bench`); what the numbers mean: `bench/README.md`.",
        "ratio = project / peer: below 1 is better for times, memory and sizes.",
        "",
        "| machine | |",
        "|---|---|",
        f"| date | {m.get('date')} |",
        f"| cores | {m.get('cores')} |",
        f"| CPU | {m.get('cpu')} |",
        f"| memory | {m.get('memory_gib')} GiB |",
        f"| Python | {m.get('python')} (Lambda interpreter for cold starts: "
        f"{m.get('lambda_python') or 'n/a'}) |",
        f"| Pillow | {m.get('pillow')} (libwebp {m.get('pillow_libwebp')}, "
        f"libjpeg-turbo {m.get('pillow_libjpeg')}) |",
        f"| libvips | {m.get('libvips') or 'not installed'} |",
        f"| load average at start | {m.get('load_average')} |",
        f"| sections measured in this run | {', '.join(results.sections)} |",
    ]
    if kept:
        lines.append(f"| sections kept from an earlier run | {', '.join(kept)} |")
    lines += [
        f"| settings | {m.get('settings', '')} |",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(["---", "---", "---:", "---:", "---", "---:"]) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_md_escape(c) for c in cells(row)) + " |")
    lines += ["", "## Goals", ""]
    for goal in goals:
        detail = f": {_md_escape(goal.detail)}" if goal.detail else ""
        lines.append(f"- **{goal.verdict}** {goal.section}: {_md_escape(goal.text)}{detail}")
    if results.notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {_md_escape(note)}" for note in results.notes]
    return "\n".join(lines) + "\n"


def load(json_path: Path = RESULTS_JSON) -> list[Row]:
    if not json_path.is_file():
        return []
    try:
        stored = json.loads(json_path.read_text(encoding="utf-8"))
    except ValueError:
        return []
    return [
        Row(
            name=str(r["name"]),
            unit=str(r["unit"]),
            project=r.get("project"),
            peer=r.get("peer"),
            peer_name=str(r.get("peer_name", "")),
        )
        for r in stored
        if isinstance(r, dict) and "name" in r and "unit" in r
    ]


def merged(results: Results, json_path: Path = RESULTS_JSON) -> list[Row]:
    """This run's rows, plus the stored rows of the sections this run did not measure."""
    kept = [r for r in load(json_path) if r.section not in results.sections]
    return ordered([*kept, *results.rows])


def store(
    results: Results,
    rows: Sequence[Row],
    goals: Sequence[Goal],
    *,
    preliminary: bool,
    json_path: Path = RESULTS_JSON,
    md_path: Path = RESULTS_MD,
) -> None:
    """Write results.json (the rows) and results.md (machine, table, goals, notes)."""
    json_path.write_text(
        json.dumps([row.as_json() for row in rows], indent=2) + "\n", encoding="utf-8"
    )
    md_path.write_text(markdown(results, rows, goals, preliminary), encoding="utf-8")
