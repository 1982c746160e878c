"""The suite's tiers: which marker a test needs for what it uses; a record of what was collected.

``make unit`` runs every test that carries none of the slow markers (``SLOW``); a test that needs
terraform, a stack, a browser, a moto server or a python3.12 worker, or the package index, must
carry the marker naming it, or it would leak into the fast tier. The rules, checked by
tests/unit/test_tiers.py over every collected test:

* a test in a slow folder (``FOLDERS``) carries one of that folder's markers;
* a test that uses a fixture of ``FIXTURES`` (directly or through others) carries its marker;
* a test whose module imports something of ``SOURCES`` (a moto server, python-terraform,
  Playwright, the session stack) carries its marker.

The root conftest registers ``Recorder``, which keeps what each collected test uses before ``-m``
deselects anything, so the check costs nothing in a full run.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

#: The markers of the slow tiers, as registered in pyproject.toml; `make unit` excludes them all.
SLOW = ("infra", "e2e", "browser", "runtime", "network")

#: Folder -> the markers one of which each test in it carries.
FOLDERS: dict[str, frozenset[str]] = {
    "tests/infra": frozenset({"infra", "network"}),
    "tests/e2e": frozenset({"e2e"}),
    "tests/reliability": frozenset({"e2e", "runtime"}),
    "tests/browser": frozenset({"e2e", "browser"}),
    "tests/runtime": frozenset({"runtime"}),
}

#: Fixture -> the marker of a test that uses it.
FIXTURES: dict[str, str] = {
    "pipeline": "e2e",  # the session's local stack (tests/conftest.py)
    "local_stack": "infra",  # `make up`'s driver on a throwaway stack (tests/infra/conftest.py)
    "terraform_env": "infra",  # the terraform CLI, offline (tests/infra/test_static.py)
    "browser": "browser",  # headless chromium (tests/browser/conftest.py)
    "page": "browser",
    "moto_endpoint": "runtime",  # a moto server subprocess (tests/runtime/conftest.py)
    "upstream": "runtime",  # an in-process moto server (tests/reliability/test_fault_proxy.py)
}

#: A module or name a test module imports -> the marker its tests carry.
SOURCES: dict[str, str] = {
    "moto.server": "runtime",
    "ThreadedMotoServer": "runtime",
    "python_terraform": "infra",
    "playwright.sync_api": "browser",
    "start_pipeline": "e2e",
}

DUMP_ENV = "TIERS_DUMP"


@dataclass(frozen=True)
class Collected:
    """What one collected test uses, as the tier rules read it."""

    nodeid: str
    path: str  # relative to the repository, with forward slashes
    fixtures: tuple[str, ...]
    markers: tuple[str, ...]
    names: tuple[str, ...]  # what of SOURCES its module imports


def missing_markers(test: Collected) -> list[str]:
    """Why ``test`` lacks a marker it needs: one sentence per rule it breaks (none if fine)."""
    markers = set(test.markers)
    problems = []
    for folder, wanted in FOLDERS.items():
        if test.path.startswith(folder + "/") and not markers & wanted:
            problems.append(f"lives in {folder} but carries none of {sorted(wanted)}")
    for fixture in test.fixtures:
        wanted_marker = FIXTURES.get(fixture)
        if wanted_marker is not None and wanted_marker not in markers:
            problems.append(f"uses the fixture {fixture!r} but is not marked {wanted_marker!r}")
    for name in test.names:
        wanted_marker = SOURCES[name]
        if wanted_marker not in markers:
            problems.append(f"its module uses {name} but it is not marked {wanted_marker!r}")
    return problems


def _imports(source: str) -> set[str]:
    """The modules a Python module's source imports, and the names it imports from them."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(alias.name for alias in node.names)
    return found


def describe(item: pytest.Item, sources: dict[Path, tuple[str, ...]]) -> Collected:
    path = Path(str(item.path)).resolve()
    if path not in sources:
        text = path.read_text(encoding="utf-8") if path.suffix == ".py" and path.is_file() else ""
        # A module that names none of SOURCES imports none of them: most need no parse at all.
        imported = _imports(text) if any(name in text for name in SOURCES) else set()
        sources[path] = tuple(name for name in SOURCES if name in imported)
    try:
        relative = path.relative_to(REPO).as_posix()
    except ValueError:
        relative = path.as_posix()
    return Collected(
        nodeid=item.nodeid,
        path=relative,
        fixtures=tuple(getattr(item, "fixturenames", ())),
        markers=tuple(sorted({mark.name for mark in item.iter_markers()})),
        names=sources[path],
    )


#: Every test of this session's collection, before ``-m`` or ``-k`` deselected any.
COLLECTED: list[Collected] = []


class Recorder:
    """Registered by the root conftest: records the collection (and dumps it to TIERS_DUMP)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        sources: dict[Path, tuple[str, ...]] = {}
        COLLECTED[:] = [describe(item, sources) for item in items]
        dump = os.environ.get(DUMP_ENV)
        if dump:
            Path(dump).write_text(json.dumps([asdict(test) for test in COLLECTED]))


def load(dump: Path) -> list[Collected]:
    return [
        Collected(
            nodeid=raw["nodeid"],
            path=raw["path"],
            fixtures=tuple(raw["fixtures"]),
            markers=tuple(raw["markers"]),
            names=tuple(raw["names"]),
        )
        for raw in json.loads(dump.read_text(encoding="utf-8"))
    ]


def test_files() -> set[str]:
    """Every test module of the suite (pyproject's testpaths), relative to the repository."""
    found = {*REPO.glob("tests/**/test_*.py"), *REPO.glob("services/*/tests/**/test_*.py")}
    return {path.relative_to(REPO).as_posix() for path in found}
