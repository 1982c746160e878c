"""The issue's goals, judged from the rows alone (so stored rows can be judged again)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.report import Goal, Row

JPEG_FILES = ("jpeg-12mp", "jpeg-24mp", "jpeg-12mp-rot6")
SERVICES = ("ingest", "thumbnailer", "metadata-extractor", "indexer")
UP_GOAL_S = 60.0
WARM_GOAL_S = 10.0  # make up after make stop, nothing changed
RELOAD_GOAL_S = 5.0  # live code: save to the next invocation
COLD_GOAL = 1.2


def _find(rows: Sequence[Row], name: str) -> Row | None:
    return next((row for row in rows if row.name == name), None)


def _goal(
    rows: Sequence[Row],
    section: str,
    name: str,
    text: str,
    test: Callable[[float], bool],
    detail: Callable[[Row, float], str],
) -> Goal | None:
    row = _find(rows, name)
    if row is None:
        return None
    ratio = row.ratio
    if ratio is None:
        return Goal(section, text, None, f"{row.peer_name}")
    return Goal(section, text, test(ratio), detail(row, ratio))


def _speed(row: Row, ratio: float) -> str:
    how = f"{1 / ratio:.2f}x faster" if ratio <= 1 else f"{ratio:.2f}x slower"
    return f"{how} ({row.project:.0f} vs {row.peer:.0f} ms)"


def judge(rows: Sequence[Row]) -> list[Goal]:
    goals: list[Goal] = []

    def add(goal: Goal | None) -> None:
        if goal is not None:
            goals.append(goal)

    for file in JPEG_FILES:
        section = f"thumbs {file}"
        add(
            _goal(
                rows,
                section,
                f"thumbs/{file} time vs Pillow",
                ">= 3x faster than straightforward Pillow",
                lambda r: r <= 1 / 3,
                _speed,
            )
        )
        add(
            _goal(
                rows,
                section,
                f"thumbs/{file} time vs libvips",
                "faster than libvips thumbnail",
                lambda r: r < 1,
                _speed,
            )
        )
        add(
            _goal(
                rows,
                section,
                f"thumbs/{file} time vs floor",
                "within 1.25x of the floor (decode at scale + encode)",
                lambda r: r <= 1.25,
                lambda row, r: f"{r:.2f}x the floor ({row.project:.0f} vs {row.peer:.0f} ms)",
            )
        )
        add(
            _goal(
                rows,
                section,
                f"thumbs/{file} peak RSS vs Pillow",
                "peak memory <= half of straightforward Pillow's",
                lambda r: r <= 0.5,
                lambda row, r: f"{r:.2f} of Pillow's ({row.project:.0f} vs {row.peer:.0f} MB)",
            )
        )
        add(
            _goal(
                rows,
                section,
                f"thumbs/{file} output bytes vs Pillow",
                "output bytes within 10% of straightforward Pillow's",
                lambda r: abs(r - 1) <= 0.10,
                lambda row, r: f"{(r - 1) * 100:+.1f}%",
            )
        )
    for service in SERVICES:
        add(
            _goal(
                rows,
                "cold start",
                f"cold/{service} cold start vs floor",
                f"{service} within {COLD_GOAL}x of the floor (boto3 + its clients + Powertools)",
                lambda r: r <= COLD_GOAL,
                lambda row, r: f"{r:.2f}x ({row.project:.0f} vs {row.peer:.0f} ms)",
            )
        )
    up = _find(rows, "up/make up from nothing")
    if up is not None and up.project is not None:
        goals.append(
            Goal(
                "make up",
                f"from nothing in under {UP_GOAL_S:.0f} s",
                up.project < UP_GOAL_S,
                f"{up.project:.0f} s",
            )
        )
    for name, title, goal in (
        ("up/make up warm (stopped, unchanged), median", "make up warm", WARM_GOAL_S),
        ("up/hot reload save to next invocation, median", "hot reload", RELOAD_GOAL_S),
    ):
        row = _find(rows, name)
        if row is not None and row.project is not None:
            goals.append(
                Goal(title, f"under {goal:.0f} s", row.project < goal, f"{row.project:.1f} s")
            )
    return goals
