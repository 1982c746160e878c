"""``make new-service`` in a temporary copy of the repository: the service it generates passes
lint, ``terraform validate`` and the unit and contract tests as generated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support.repocopy import copy_repository

pytestmark = pytest.mark.infra

NAME = "audio-tagger"
PACKAGE = "audio_tagger"


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600):
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's files (tracked and new, as in the working tree), in a fresh git repo."""
    return copy_repository(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def scaffolded(copy: Path) -> Path:
    result = _run(
        [sys.executable, "-m", "tools.scaffold", NAME, "--consumes",
         "AssetIngested,ThumbnailsGenerated", "--produces", "AudioTagged"],
        copy,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "copy"],
    ):
        assert _run(command, copy).returncode == 0
    return copy


def test_the_skeleton_is_complete(scaffolded: Path) -> None:
    service = scaffolded / "services" / NAME
    for path in (
        f"{PACKAGE}/settings.py",
        f"{PACKAGE}/handler.py",
        f"{PACKAGE}/logic.py",
        "tests/test_logic.py",
        "tests/test_handler.py",
        "infra/main.tf",
        "infra/rules/asset-ingested.json",
        "infra/rules/thumbnails-generated.json",
    ):
        assert (service / path).is_file(), path
    assert (service / "infra" / "service.tf").is_symlink()
    schema = scaffolded / "schemas" / "events" / "AudioTagged"
    assert (schema / "v1.json").is_file()
    assert (schema / "examples" / "v1" / "valid-basic.json").is_file()
    envelope = json.loads((scaffolded / "schemas/envelope/v1.json").read_text())
    assert NAME in envelope["properties"]["metadata"]["properties"]["producer"]["enum"]


def test_the_generated_service_is_lint_clean(scaffolded: Path) -> None:
    for command in (
        [sys.executable, "-m", "ruff", "check", f"services/{NAME}"],
        [sys.executable, "-m", "ruff", "format", "--check", f"services/{NAME}"],
        [sys.executable, "-m", "mypy", f"services/{NAME}/{PACKAGE}"],
    ):
        result = _run(command, scaffolded)
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"


def test_the_generated_root_is_valid_terraform(scaffolded: Path, tmp_path: Path) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("the terraform CLI is not on PATH")
    config = tmp_path / "cli.tfrc"
    mirror = Path("/opt/tf-plugins")
    config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
        if mirror.is_dir()
        else "",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(TF_CLI_CONFIG_FILE=str(config), TF_DATA_DIR=str(tmp_path / "data"))
    root = scaffolded / "services" / NAME / "infra"
    init = _run(["terraform", "init", "-backend=false", "-no-color"], root, env)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _run(["terraform", "validate", "-no-color"], root, env)
    assert validate.returncode == 0, validate.stdout + validate.stderr


def test_the_generated_service_passes_the_unit_and_contract_tests(scaffolded: Path) -> None:
    # What `make contract` runs (it includes every service's unit tests), in the copy, with the
    # new package importable as `make setup` would register it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = os.pathsep.join(
        str(scaffolded / p) for p in (f"services/{NAME}", "shared", ".")
    )
    services = sorted(str(p) for p in (scaffolded / "services").glob("*/tests"))
    report = scaffolded / "report.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/contract"]
    command += ["tests/unit", *services, "-m", "not e2e and not browser and not infra"]
    command += [f"--junitxml={report}"]
    result = _run(command, scaffolded, env, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    # and the new service's own tests ran and passed: its handler published what it produces
    cases = {case.get("name"): case for case in ElementTree.parse(report).iter("testcase")}
    ran = cases["test_a_consumed_event_is_published_on_as_its_produced_event"]
    assert list(ran) == [], ElementTree.tostring(ran, encoding="unicode")
    assert "test_each_producer_published_each_of_its_events_in_its_tests" in cases
