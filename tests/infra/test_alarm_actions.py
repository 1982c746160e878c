"""Outside the local environment, a service root with no alarm_actions does not plan.

Every alarm of a service (its DLQ, its function's errors, ...) notifies ``alarm_actions``; an
empty list is allowed only for ``environment = "local"``, by a precondition in
``infra/modules/service``. ``terraform test`` plans each service root (a scratch copy of it, with
``tests/infra/terraform/alarm_actions.tftest.hcl``) three times against a mocked AWS provider: dev
with an SNS topic and local without one plan; dev without one fails with the precondition's
message. Offline and quick: providers from the filesystem mirror when there is one, nothing
applied, no moto.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tools.package import REPO, service_names

pytestmark = pytest.mark.infra

TEST_FILE = REPO / "tests" / "infra" / "terraform" / "alarm_actions.tftest.hcl"
PLUGIN_MIRROR = Path("/opt/tf-plugins")
REFUSAL = "alarm_actions is empty: outside the local environment"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """infra/, schemas/ and every service root, copied (links kept) to a scratch tree."""
    if shutil.which("terraform") is None:
        pytest.fail("the terraform CLI is not on PATH (terraform >= 1.6 is needed by `make test`)")
    target = tmp_path_factory.mktemp("alarm-actions")
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate", "*.tfstate.*", "__pycache__")
    shutil.copytree(REPO / "infra", target / "infra", ignore=ignore, symlinks=True)
    shutil.copytree(REPO / "schemas", target / "schemas", ignore=ignore)
    for service in service_names():
        root = Path("services") / service / "infra"
        shutil.copytree(REPO / root, target / root, ignore=ignore, symlinks=True)
    return target


def _environment(base: Path) -> dict[str, str]:
    cli_config = base / "cli.tfrc"
    mirror = f'  filesystem_mirror {{\n    path = "{PLUGIN_MIRROR}"\n  }}\n'
    cli_config.write_text(
        f"provider_installation {{\n{mirror}}}\n" if PLUGIN_MIRROR.is_dir() else "",
        encoding="utf-8",
    )
    cache = base / "plugin-cache"
    cache.mkdir(exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TF_VAR_")) and key != "TF_DATA_DIR"
    }
    return {
        **env,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_PLUGIN_CACHE_DIR": str(cache),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }


@pytest.mark.parametrize("service", service_names())
def test_a_service_root_without_alarm_actions_plans_only_for_the_local_environment(
    service: str, scratch: Path
) -> None:
    # given a copy of the service's root with the test file, and a stand-in artifact
    root = scratch / "services" / service / "infra"
    (root / "tests").mkdir(exist_ok=True)
    shutil.copy(TEST_FILE, root / "tests" / TEST_FILE.name)
    artifact = scratch / "stand-in.zip"
    artifact.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: a plan only hashes it
    env = _environment(scratch)

    def terraform(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", f"-chdir={root}", *args, "-no-color"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    init = terraform("init", "-backend=false", "-input=false")
    assert init.returncode == 0, init.stdout + init.stderr
    # when terraform test plans it for dev with and without alarm actions, and for local
    tested = terraform("test", f"-var=artifact_path={artifact}")
    output = tested.stdout + tested.stderr
    # then dev with an SNS topic and local without one plan
    assert 'run "dev_with_alarm_actions"... pass' in output, output
    assert 'run "local_without_alarm_actions"... pass' in output, output
    # and dev without one is refused by the precondition, saying why
    assert 'run "dev_without_alarm_actions"... fail' in output, output
    assert "Resource precondition failed" in output, output
    assert output.count("Error: ") == output.count("Error: Resource precondition failed"), output
    assert REFUSAL in " ".join(output.split()), output
    assert tested.returncode != 0
