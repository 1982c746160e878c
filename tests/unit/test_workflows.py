"""The GitHub Actions workflows: actionlint passes them, and they keep the delivery rules
(plan on pull requests, apply on merge platform first, a protected prod, drift, OIDC roles)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"


def _actionlint() -> str:
    found = Path(sys.executable).parent / "actionlint"
    if found.exists():
        return str(found)
    on_path = shutil.which("actionlint")
    if on_path is None:
        pytest.fail("actionlint is missing: `make setup` installs it (requirements/dev.txt)")
    return on_path


def _load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return document


def test_actionlint_passes_the_workflows() -> None:
    result = subprocess.run(
        [_actionlint(), "-no-color"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    # Given a workflow that calls the reusable one without a required input
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(WORKFLOWS / "terraform-root.yml", tmp_path / ".github" / "workflows")
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(
        "on: push\njobs:\n  x:\n    uses: ./.github/workflows/terraform-root.yml\n"
        "    with:\n      root: platform\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [_actionlint(), "-no-color"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "directory" in result.stdout


def test_pull_requests_lint_test_and_plan_the_affected_roots() -> None:
    workflow = _load("pull-request.yml")
    jobs = workflow["jobs"]
    assert "make lint" in str(jobs["lint"])
    assert "make contract" in str(jobs["test"])
    assert "tools.affected" in str(jobs["affected"])
    assert set(jobs["plan"]["needs"]) == {"lint", "test", "affected"}
    assert jobs["plan"]["with"]["mode"] == "plan"
    assert jobs["comment"]["permissions"]["pull-requests"] == "write"


def test_merges_apply_to_dev_platform_first_then_promote_to_prod() -> None:
    jobs = _load("deploy.yml")["jobs"]
    assert _load("deploy.yml")[True]["push"]["branches"] == ["main"]  # yaml reads "on" as True
    assert "dev-platform" in jobs["dev-services"]["needs"]
    assert "dev-services" in jobs["prod-platform"]["needs"]
    assert "prod-platform" in jobs["prod-services"]["needs"]
    assert {jobs[j]["with"]["environment"] for j in ("dev-platform", "dev-services")} == {"dev"}
    assert {jobs[j]["with"]["environment"] for j in ("prod-platform", "prod-services")} == {"prod"}
    assert all(jobs[j]["with"]["mode"] == "apply" for j in jobs if j != "affected")


def test_applies_run_in_the_github_environment_through_the_apply_role_after_the_gate() -> None:
    jobs = _load("terraform-root.yml")["jobs"]
    apply = jobs["apply"]
    assert apply["environment"] == "${{ inputs.environment }}"
    steps = [step.get("name", step.get("uses", "")) for step in apply["steps"]]
    assert steps.index("Deploy gate (mediactl can-deploy)") < steps.index("terraform apply")
    assert "-apply" in str(apply["steps"])
    assert "-plan" not in str(apply["steps"])
    assert "-plan" in str(jobs["plan"]["steps"])
    assert "-apply" not in str(jobs["plan"]["steps"])
    assert "environment" not in jobs["plan"]  # plan tokens carry pull_request / the branch
    assert "-detailed-exitcode" in str(jobs["plan"]["steps"])
    assert "-lock=false" in str(jobs["plan"]["steps"])


def test_a_scheduled_drift_plan_covers_every_root_in_every_environment() -> None:
    workflow = _load("drift.yml")
    assert workflow[True]["schedule"]
    drift = workflow["jobs"]["drift"]
    assert drift["with"]["mode"] == "drift"
    assert drift["strategy"]["matrix"]["environment"] == ["dev", "prod"]
