"""Every slow test carries its tier's marker, so `make unit` stays fast and needs no stack.

The rules are in tests/support/tiers.py. The suite's collection comes from this session when it
collected every test module (`make unit`, `make test`), else from a `pytest --collect-only` run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support import scheduling, tiers
from tests.support.tiers import Collected, missing_markers

FAST = Collected(
    nodeid="tests/unit/test_x.py::test_fast",
    path="tests/unit/test_x.py",
    fixtures=("tmp_path",),
    markers=(),
    names=(),
)


def _collection(tmp_path: Path) -> list[Collected]:
    if tiers.test_files() <= {test.path for test in tiers.COLLECTED}:
        return list(tiers.COLLECTED)
    dump = tmp_path / "collected.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=tiers.REPO,
        env={**os.environ, tiers.DUMP_ENV: str(dump)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return tiers.load(dump)


def test_every_test_that_needs_a_slow_tier_carries_its_marker(tmp_path: Path) -> None:
    # given every test of the suite as collected
    collected = _collection(tmp_path)
    assert tiers.test_files() <= {test.path for test in collected}
    # when each is checked against the tier rules
    problems = [f"{test.nodeid}: {why}" for test in collected for why in missing_markers(test)]
    # then none lacks a marker
    assert problems == [], "\n".join(problems)


def test_a_plain_unit_test_needs_no_marker() -> None:
    assert missing_markers(FAST) == []


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"path": "tests/runtime/test_x.py"}, "lives in tests/runtime"),
        ({"path": "tests/e2e/test_x.py"}, "lives in tests/e2e"),
        ({"fixtures": ("tmp_path", "pipeline")}, "uses the fixture 'pipeline'"),
        ({"fixtures": ("page",), "markers": ("e2e",)}, "not marked 'browser'"),
        ({"fixtures": ("terraform_env",)}, "not marked 'infra'"),
        ({"names": ("ThreadedMotoServer",)}, "uses ThreadedMotoServer"),
        ({"names": ("python_terraform",)}, "not marked 'infra'"),
    ],
)
def test_a_slow_test_without_its_marker_is_named(change: dict[str, object], reason: str) -> None:
    # given a test that needs a slow tier and lacks its marker
    test = replace(FAST, **change)  # type: ignore[arg-type]
    # then the check says why
    assert any(reason in problem for problem in missing_markers(test))


def test_the_marker_of_its_tier_satisfies_the_check() -> None:
    test = replace(FAST, fixtures=("pipeline",), markers=("e2e",))
    assert missing_markers(test) == []


def test_every_slow_tier_is_registered_and_excluded_from_make_unit() -> None:
    pyproject = tomllib.loads((tiers.REPO / "pyproject.toml").read_text(encoding="utf-8"))
    registered = {m.split(":", 1)[0] for m in pyproject["tool"]["pytest"]["ini_options"]["markers"]}
    assert set(tiers.SLOW) <= registered
    makefile = (tiers.REPO / "Makefile").read_text(encoding="utf-8")
    found = re.search(r"^SLOW_TIERS := (.*)$", makefile, re.MULTILINE)
    assert found is not None, "the Makefile defines SLOW_TIERS, the markers `make unit` excludes"
    assert set(found[1].split()) == set(tiers.SLOW)


def test_the_modules_make_slow_runs_on_one_stack_are_those_whose_tests_use_it(
    tmp_path: Path,
) -> None:
    # given every test of the suite as collected, and which of them reach the session's stack
    collected = _collection(tmp_path)
    on_stack = {test.path for test in collected if scheduling.STACK_FIXTURES & set(test.fixtures)}
    without = {
        test.path for test in collected if not scheduling.STACK_FIXTURES & set(test.fixtures)
    }
    # then the scheduler's list names exactly their modules, each wholly on the stack
    assert on_stack == scheduling.STACK_MODULES
    assert on_stack & without == set(), "a module mixes tests on the stack with tests off it"


def test_on_two_workers_the_stacks_modules_are_one_unit_and_the_others_their_own() -> None:
    on_stack = {
        scheduling.scope_of(f"{module}::test_a", workers=2) for module in scheduling.STACK_MODULES
    }
    assert on_stack == {scheduling.STACK_SCOPE}
    assert scheduling.scope_of("tests/infra/test_least_privilege.py::test_c", workers=2) == (
        "tests/infra/test_least_privilege.py"
    )


def test_with_a_worker_per_stack_and_one_more_the_deploys_get_a_stack_of_their_own() -> None:
    workers = scheduling.SEPARATE_STACKS_FROM
    assert workers == 3
    assert scheduling.scope_of("tests/infra/test_topology.py::test_b[x]", workers) == (
        "local-stack-deploys"
    )
    assert scheduling.scope_of("tests/e2e/test_pipeline.py::test_a", workers) == "local-stack"
    assert scheduling.scope_of("tests/infra/test_least_privilege.py::test_c", workers) == (
        "tests/infra/test_least_privilege.py"
    )


def test_the_stacks_units_are_queued_before_every_module_whatever_the_collection_order() -> None:
    queue = scheduling.StacksFirst()
    for scope in ("tests/browser/test_placeholder.py", "local-stack", "tests/infra/test_static.py"):
        queue[scope] = {}
    queue["local-stack-deploys"] = {}
    assert list(queue) == [
        "local-stack-deploys",
        "local-stack",
        "tests/browser/test_placeholder.py",
        "tests/infra/test_static.py",
    ]
