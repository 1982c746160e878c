"""The platform's defaults are safe in every environment: no browser may upload unless named."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]


def _plan_variables(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``terraform plan`` of the platform's variables alone: defaults and validations, no AWS."""
    if shutil.which("terraform") is None:
        pytest.skip("the terraform CLI is not on PATH")
    shutil.copy(REPO / "infra" / "platform" / "variables.tf", tmp_path / "variables.tf")
    (tmp_path / "outputs.tf").write_text(
        'output "origins" { value = var.upload_allowed_origins }\n', encoding="utf-8"
    )
    return subprocess.run(
        ["terraform", "plan", "-no-color", "-input=false", "-out=plan", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_by_default_no_browser_origin_may_upload(tmp_path: Path) -> None:
    assert _plan_variables(tmp_path).returncode == 0
    shown = subprocess.run(
        ["terraform", "show", "-json", "plan"], cwd=tmp_path, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    outputs = json.loads(shown.stdout)["planned_values"]["outputs"]
    assert outputs["origins"]["value"] == []


@pytest.mark.parametrize(
    "origin", ["http://photos.example.com", "https://*.example.com", "https://a.example/path", "*"]
)
def test_an_origin_that_is_not_https_or_loopback_is_refused(tmp_path: Path, origin: str) -> None:
    result = _plan_variables(tmp_path, "-var", f"upload_allowed_origins={json.dumps([origin])}")
    assert result.returncode != 0
    assert "Each upload origin is https://" in result.stderr


def test_the_page_origin_and_the_local_stacks_loopback_are_accepted(tmp_path: Path) -> None:
    origins = ["https://photos.example.com", "http://localhost:*", "http://127.0.0.1:3000"]
    result = _plan_variables(tmp_path, "-var", f"upload_allowed_origins={json.dumps(origins)}")
    assert result.returncode == 0, result.stderr
