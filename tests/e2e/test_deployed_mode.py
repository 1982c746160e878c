"""``make test-deployed`` shown working: the end-to-end suite run against the session's local
stack as if it were any deployed environment, addressed only through its endpoint and SSM.

The suite runs in a child process with nothing of the local stack but ``AWS_ENDPOINT_URL``, dummy
credentials and the environment's name: ``MEDIA_STACK_DIR`` names an empty folder (no record to
read), no Terraform state or stack file is passed, and the read API is the session runtime's
gateway (the local stack's API Gateway). The tests that need the local stack's internals skip
there, saying so; every other one passes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.e2e.conftest import Deployment, Pipeline
from tools.localstack.record import REPO

pytestmark = pytest.mark.e2e

# What the deployed run must pass (public interfaces only) and what it must skip (internals).
PUBLIC = {
    "test_every_upload_reaches_its_expected_terminal_state",
    "test_indexed_records_carry_camera_dimensions_and_thumbnails_that_exist",
    "test_the_tail_saw_each_step_of_an_asset_and_cleaned_up_after_itself",
    "test_status_and_list_show_the_index",
    "test_the_owner_reads_the_indexed_upload_with_thumbnails_that_load",
    "test_the_owners_gallery_lists_it",
    "test_another_person_gets_a_404_for_it_and_an_unsigned_call_a_401",
}
INTERNAL = {
    "test_a_published_example_goes_on_the_bus",
    "test_dlq_list_shows_a_parked_message_and_redrive_sends_it_back",
    "test_the_runtime_logged_every_invocation_of_every_service",
    "test_a_stopped_stack_starts_warm_with_its_objects_items_messages_and_state",
}


def test_the_e2e_suite_passes_against_the_stack_addressed_only_by_endpoint_and_ssm(
    pipeline: Pipeline, deployment: Deployment, tmp_path: Path
) -> None:
    # Given only what any environment offers: an endpoint, credentials, its name
    empty = tmp_path / "no-stack-here"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MEDIA_", "TF_"))}
    env.update(
        AWS_ENDPOINT_URL=pipeline.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=pipeline.region,
        MEDIA_STACK_DIR=str(empty),
    )
    report = tmp_path / "deployed.xml"
    # When `make test-deployed` runs against it
    command = ["make", "-o", ".venv/bin/.installed", "-o", ".tools/checkov/.installed"]
    command += ["test-deployed", f"ENV={pipeline.environment}"]
    command += [f"READ_API_URL={deployment.read_api()}", f"PYTEST_ARGS=--junitxml={report}"]
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    # Then it passes: every public-interface test ran and passed, the internal ones skipped
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    cases = {case.get("name"): case for case in ElementTree.parse(report).iter("testcase")}
    for name in PUBLIC:
        assert name in cases, name
        assert list(cases[name]) == [], f"{name}: {ElementTree.tostring(cases[name], 'unicode')}"
    for name in INTERNAL:
        (skipped,) = cases[name].findall("skipped")
        assert "not run against a deployed environment" in (skipped.get("message") or "")
    assert not list(empty.iterdir())  # nothing looked for, or left, a local stack there
