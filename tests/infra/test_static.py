"""Static checks of every Terraform root and module: format, offline validation, checkov.

Nothing here talks to AWS or to a registry. Providers come from the filesystem mirror
/opt/tf-plugins when the machine has one (a CLI config written to a temporary file and named by
TF_CLI_CONFIG_FILE), and one shared TF_PLUGIN_CACHE_DIR keeps the provider from being unpacked once
per root. Roots and modules are initialised and validated in a temporary copy of the tree, so no
``.terraform`` folder or lock file is left in the checkout.

python-terraform drives ``fmt``, ``init`` and ``validate``. Two commands go through subprocess:
checkov (not Terraform), and ``terraform console``, which reads its expression from standard input,
something python-terraform cannot pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from python_terraform import IsFlagged, IsNotFlagged, Terraform

from media_shared.schemas import SchemaCatalog

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
PLUGIN_MIRROR = Path("/opt/tf-plugins")
CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"
TERRAFORM_DIRS = [REPO / "infra", REPO / "services"]
MODULES = sorted(path.parent for path in (REPO / "infra" / "modules").glob("*/main.tf"))
ROOTS = [
    REPO / "infra" / "bootstrap",
    REPO / "infra" / "platform",
    *sorted(path.parent for path in (REPO / "services").glob("*/infra/backend.tf")),
]
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+)(?::(?P<reason>.*))?")


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def _tf_files() -> list[Path]:
    found: list[Path] = []
    for top in TERRAFORM_DIRS:
        found.extend(p for p in top.rglob("*.tf") if ".terraform" not in p.parts)
    return sorted(found)


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """TF_* settings for an offline init; applied to os.environ (python-terraform copies it)."""
    if shutil.which("terraform") is None:
        pytest.fail("the terraform CLI is not on PATH (terraform >= 1.6 is needed by `make test`)")
    base = tmp_path_factory.mktemp("terraform")
    cache = base / "plugin-cache"
    cache.mkdir()
    settings = {
        "TF_PLUGIN_CACHE_DIR": str(cache),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    cli_config = base / "cli.tfrc"
    if PLUGIN_MIRROR.is_dir():
        cli_config.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path = "{PLUGIN_MIRROR}"\n  }}\n'
            "}\n",
            encoding="utf-8",
        )
    else:
        cli_config.write_text("", encoding="utf-8")
    settings["TF_CLI_CONFIG_FILE"] = str(cli_config)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in settings.items():
            patch.setenv(key, value)
        # Validation must not depend on whoever runs it: no credentials, no data dir, no variables.
        for key in list(os.environ):
            if key.startswith(("AWS_", "TF_VAR_")) or key == "TF_DATA_DIR":
                patch.delenv(key)
        yield settings


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the Terraform reads (infra/, services/*/infra/, schemas/), same layout."""
    target = tmp_path_factory.mktemp("workspace")
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", "__pycache__")
    shutil.copytree(REPO / "infra", target / "infra", ignore=ignore)
    shutil.copytree(REPO / "schemas", target / "schemas", ignore=ignore)
    for root in (REPO / "services").glob("*/infra"):
        shutil.copytree(root, target / _relative(root), ignore=ignore)
    return target


def _init(working_dir: Path) -> Terraform:
    terraform = Terraform(working_dir=str(working_dir))
    code, out, err = terraform.init(backend=False, reconfigure=IsNotFlagged, no_color=IsFlagged)
    assert code == 0, f"terraform init -backend=false failed in {working_dir}:\n{out}{err}"
    return terraform


def test_terraform_files_are_formatted(terraform_env: dict[str, str]) -> None:
    # Given every .tf file under infra/ and services/
    terraform = Terraform(working_dir=str(REPO))
    # When terraform fmt checks them
    code, out, err = terraform.cmd(
        "fmt",
        *[_relative(path) for path in TERRAFORM_DIRS],
        check=IsFlagged,
        recursive=IsFlagged,
        diff=IsFlagged,
        no_color=IsFlagged,
    )
    # Then none needs rewriting
    assert code == 0, (
        f"terraform fmt -check found unformatted files (run `make format`):\n{out}{err}"
    )


def test_every_root_and_module_is_found() -> None:
    # The parametrised validation below must not pass by validating nothing.
    assert [path.name for path in MODULES] == ["buckets", "event-bus", "http-api", "service"]
    assert [_relative(path) for path in ROOTS] == [
        "infra/bootstrap",
        "infra/platform",
        "services/indexer/infra",
        "services/ingest/infra",
        "services/metadata-extractor/infra",
        "services/thumbnailer/infra",
    ]


@pytest.mark.parametrize("directory", MODULES + ROOTS, ids=_relative)
def test_configuration_is_valid(
    directory: Path, terraform_env: dict[str, str], workspace: Path
) -> None:
    # Given the root or module, initialised offline without its backend
    terraform = _init(workspace / _relative(directory))
    # When terraform validates it
    code, out, err = terraform.cmd("validate", json=IsFlagged, no_color=IsFlagged)
    # Then it is valid, with no error and no warning
    report = json.loads(out) if out.strip() else {}
    problems = [
        f"{d.get('severity')}: {d.get('summary')} {d.get('detail', '')} "
        f"({d.get('range', {}).get('filename')}:{d.get('range', {}).get('start', {}).get('line')})"
        for d in report.get("diagnostics", [])
    ]
    assert code == 0, "\n".join(problems) or err
    assert report.get("valid") is True, "\n".join(problems)
    assert problems == []


def test_every_root_keeps_its_state_in_a_partially_configured_s3_backend() -> None:
    for root in ROOTS:
        backend = (root / "backend.tf").read_text(encoding="utf-8")
        assert re.search(r'backend\s+"s3"\s*\{\s*\}', backend), f"{_relative(root)}: backend.tf"
        versions = (root / "versions.tf").read_text(encoding="utf-8")
        assert 'required_version = ">= 1.6"' in versions, _relative(root)
        assert 'version = ">= 5.60, < 6"' in versions, _relative(root)


def test_every_checkov_skip_names_its_reason() -> None:
    # Given every checkov suppression in the Terraform
    skips = [
        (path, line_number, match)
        for path in _tf_files()
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if (match := SKIP_COMMENT.search(line))
    ]
    assert skips, "expected the justified suppressions this codebase carries"
    # Then each one says why, in words, on the resource it suppresses
    unexplained = [
        f"{_relative(path)}:{line_number} {match['check']}"
        for path, line_number, match in skips
        if len((match["reason"] or "").strip()) < 20
    ]
    assert unexplained == [], "checkov skips without a reason:\n" + "\n".join(unexplained)


def _json_documents(text: str) -> list[dict[str, Any]]:
    """checkov prints one JSON report per scanned folder, one after the other."""
    decoder = json.JSONDecoder()
    documents: list[dict[str, Any]] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return documents
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return documents
        documents.extend(document if isinstance(document, list) else [document])


def test_checkov_reports_no_failed_check(tmp_path: Path) -> None:
    # Given checkov, pinned in requirements/checkov.txt and installed by `make setup`
    if not CHECKOV.exists():
        pytest.fail(f"{_relative(CHECKOV)} is missing: run `make .tools/checkov/.installed`")
    # When it scans all the Terraform (modules are followed from the roots that call them)
    command = [str(CHECKOV), "--framework", "terraform", "--skip-download", "--quiet"]
    for top in TERRAFORM_DIRS:
        command += ["--directory", _relative(top)]
    command += ["--skip-path", r"\.terraform", "--output", "json"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("BC_")}
    env["HOME"] = str(tmp_path)  # checkov writes caches under the home folder
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    # Then it reports checks, and none failed
    reports = _json_documents(result.stdout)
    if not reports:
        pytest.fail(f"checkov gave no JSON report (exit {result.returncode}):\n{result.stderr}")
    passed = sum(report.get("summary", {}).get("passed", 0) for report in reports)
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    assert passed > 0, f"checkov ran no check:\n{result.stdout[:2000]}{result.stderr[-2000:]}"
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)


def test_event_bus_module_bundles_schemas_like_the_python_library(
    terraform_env: dict[str, str], tmp_path: Path
) -> None:
    # Given a root that calls the event-bus module on the project's schemas/
    (tmp_path / "main.tf").write_text(
        'module "bus" {\n'
        f'  source                 = "{REPO / "infra" / "modules" / "event-bus"}"\n'
        '  name                   = "media-test"\n'
        "  enable_schema_registry = true\n"
        f'  schemas_dir            = "{REPO / "schemas"}"\n'
        "}\n",
        encoding="utf-8",
    )
    _init(tmp_path)
    # When terraform evaluates the documents the module would publish to the registry
    result = subprocess.run(
        ["terraform", "console", "-no-color"],
        cwd=tmp_path,
        input="jsonencode(module.bus.bundled_schemas)\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    published = {
        name: json.loads(document)
        for name, document in json.loads(json.loads(result.stdout.strip())).items()
    }
    # Then there is one schema per event and major, named <Event>-v<MAJOR>, each equal to the
    # bundle media_shared validates against
    catalog = SchemaCatalog(REPO / "schemas")
    expected = {schema.registry_name: schema.document for schema in catalog}
    assert sorted(published) == sorted(expected)
    for name, document in expected.items():
        assert published[name] == document, f"{name}: HCL bundle differs from bundle()"
        assert "$ref" not in json.dumps(published[name]["definitions"]["envelope"])
