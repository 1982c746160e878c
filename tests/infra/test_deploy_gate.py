"""The deploy gate on the local stack: the contracts the roots' applies recorded, and
``mediactl can-deploy`` refusing and allowing candidates against them.

The candidates are temporary copies of what the gate reads (schemas/ and the rule files) with a
schema changed as a producer team would change it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import Pipeline
from tools.contracts import Contract, candidate
from tools.package import REPO, service_names

pytestmark = [pytest.mark.infra, pytest.mark.e2e]


def _candidate_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "candidate"
    shutil.copytree(REPO / "schemas", tree / "schemas")
    for rules in (REPO / "services").glob("*/infra/rules"):
        shutil.copytree(rules, tree / rules.relative_to(REPO))
    return tree


def _add_major_2(tree: Path, event: str) -> None:
    """What a producer team does for a breaking change: v2.json beside v1.json."""
    folder = tree / "schemas" / "events" / event
    text = (folder / "v1.json").read_text(encoding="utf-8")
    (folder / "v2.json").write_text(re.sub(r"\^1\\\\\.", "^2\\\\\\\\.", text), encoding="utf-8")


def _can_deploy(stack: Pipeline, tree: Path, *services: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tools.cli", "--endpoint", stack.endpoint, "--env"]
    command += [stack.environment, "can-deploy", *services, "--candidate", str(tree)]
    return subprocess.run(
        command, cwd=REPO, env=stack.env, capture_output=True, text=True, timeout=120, check=False
    )


def test_every_service_root_recorded_what_it_produces_and_consumes(local_stack: Pipeline) -> None:
    for service in service_names():
        # Given the contract the service's apply wrote into the environment
        recorded = Contract.from_record(json.loads(local_stack.parameter(f"{service}/contract")))
        # Then it is what the working tree says the service publishes and consumes
        expected = candidate(service, REPO)
        assert recorded.produces == expected.produces, service
        assert recorded.consumes == expected.consumes, service


def test_a_producer_that_drops_v1_while_a_v1_consumer_is_deployed_is_refused(
    local_stack: Pipeline, tmp_path: Path
) -> None:
    # Given a thumbnailer candidate that publishes ThumbnailsGenerated v2 instead of v1
    tree = _candidate_tree(tmp_path)
    _add_major_2(tree, "ThumbnailsGenerated")
    (tree / "schemas" / "events" / "ThumbnailsGenerated" / "v1.json").unlink()
    # When the gate compares it with the local stack, where the indexer consumes v1
    result = _can_deploy(local_stack, tree, "thumbnailer")
    # Then it refuses, naming the consumer, the event and the version
    assert result.returncode == 1, result.stdout + result.stderr
    assert "REFUSED" in result.stdout
    assert "indexer (deployed) consumes ThumbnailsGenerated v1" in result.stdout
    assert "thumbnailer would stop publishing ThumbnailsGenerated v1" in result.stdout


def test_the_same_producer_publishing_v1_and_v2_side_by_side_is_allowed(
    local_stack: Pipeline, tmp_path: Path
) -> None:
    tree = _candidate_tree(tmp_path)
    _add_major_2(tree, "ThumbnailsGenerated")
    result = _can_deploy(local_stack, tree, "thumbnailer")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ThumbnailsGenerated v1, ThumbnailsGenerated v2" in result.stdout
    assert "allowed" in result.stdout


def test_a_consumer_of_a_major_nobody_produces_is_refused(
    local_stack: Pipeline, tmp_path: Path
) -> None:
    # Given an indexer candidate whose rule moved to ThumbnailsGenerated v2 before its producer
    tree = _candidate_tree(tmp_path)
    rule = tree / "services" / "indexer" / "infra" / "rules" / "thumbnails-generated.json"
    pattern = json.loads(rule.read_text(encoding="utf-8"))
    pattern["detail"]["metadata"]["schema_version"] = [{"prefix": "2."}]
    rule.write_text(json.dumps(pattern), encoding="utf-8")
    result = _can_deploy(local_stack, tree, "indexer")
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "indexer would consume ThumbnailsGenerated v2 through its rule 'thumbnails-generated', "
        "which nobody in the environment produces"
    ) in result.stdout
