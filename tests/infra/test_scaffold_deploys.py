"""A service made by ``make new-service`` deploys alone to the running local stack and works there.

In a temporary copy of the repository (``tests.support.repocopy``) the test generates a service
that consumes AssetIndexed (which no other service consumes, so nothing else reacts to the event
it publishes) and produces AssetTagged, writes the one line of logic its team would write (the
stub raises until then), and does what that team does: ``python -m tools.localstack deploy
<name> --local`` from the copy, against the session's stack, which packages the service and
applies its root alone (deploy gate included). A local runtime of its own then runs the new
function from the zip the deploy built (the session's runtime was started before the function
existed and runs the four services' zips only). An AssetIndexed published on the bus comes back
as an AssetTagged on a bus tail, valid against the schema the scaffold wrote. ``destroy``
removes the root afterwards, whatever happened, so the session's stack is left as it was found.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from media_shared import SchemaCatalog
from tests.support.repocopy import copy_repository
from tests.support.stack import Pipeline
from tools.cli import publish
from tools.cli.tail import BusTail
from tools.package import REPO
from tools.runtime import LocalRuntime, RuntimeOptions

pytestmark = [pytest.mark.infra, pytest.mark.e2e]

NAME = "asset-tagger"
PACKAGE = "asset_tagger"
CONSUMES = "AssetIndexed"
PRODUCES = "AssetTagged"
ROOTS = ["platform", "ingest", "thumbnailer", "metadata-extractor", "indexer"]
# What the team writes in place of the stub's `raise NotImplementedError(...)`.
FACTS = '    return {"asset_id": inbound.data["asset_id"]}\n'
ARRIVAL_TIMEOUT = 90


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _serials(stack: Pipeline) -> dict[str, int]:
    return {root: int(stack.state(root)["serial"]) for root in ROOTS}


def _write_the_logic(repo: Path) -> None:
    logic = repo / "services" / NAME / PACKAGE / "logic.py"
    text = logic.read_text(encoding="utf-8")
    written, count = re.subn(r"    raise NotImplementedError\(\n(?:.*\n)*?    \)\n", FACTS, text)
    assert count == 1, "the generated facts() stub is not where the skeleton puts it"
    logic.write_text(written, encoding="utf-8")


def _generated_service(tmp_path: Path) -> Path:
    repo = copy_repository(tmp_path / "repo")
    command = [sys.executable, "-m", "tools.scaffold", NAME, "--consumes", CONSUMES]
    made = _run([*command, "--produces", PRODUCES], repo, dict(os.environ))
    assert made.returncode == 0, made.stdout + made.stderr
    _write_the_logic(repo)
    # The Lambda dependencies the session's stack already built (a cache keyed by content).
    (repo / "build").mkdir(exist_ok=True)
    (repo / "build" / "cache").symlink_to(REPO / "build" / "cache")
    return repo


def test_a_new_service_deploys_alone_receives_what_it_consumes_and_publishes_its_own(
    local_stack: Pipeline, tmp_path: Path
) -> None:
    # Given a new service, generated in a copy of the repository, its logic written
    repo = _generated_service(tmp_path)
    env = dict(local_stack.env)
    env["TF_PLUGIN_CACHE_DIR"] = str(REPO / ".local" / "plugin-cache")  # the providers, once
    driver = [sys.executable, "-m", "tools.localstack"]
    function = f"media-{local_stack.environment}-{NAME}"
    lam, ssm = local_stack.client("lambda"), local_stack.client("ssm")
    contract = f"/media-pipeline/{local_stack.environment}/{NAME}/contract"
    before = _serials(local_stack)
    try:
        # When its team deploys it alone to the running stack
        deployed = _run([*driver, "deploy", NAME, "--local"], repo, env)
        assert deployed.returncode == 0, deployed.stdout[-4000:] + deployed.stderr[-4000:]
        # then its root was applied and no other root's state moved
        assert _serials(local_stack) == before
        assert NAME in ssm.get_parameter(Name=contract)["Parameter"]["Value"]

        # and a runtime runs its function from the zip that deploy built
        runtime = LocalRuntime(
            RuntimeOptions(
                endpoint=local_stack.endpoint,
                region=local_stack.region,
                artifact_dirs=(repo / "build" / "lambda",),
                code_root=tmp_path / "code",
                log_dir=tmp_path / "logs",
                functions=(function,),
                retry_visibility=2,
            )
        )
        try:
            assert runtime.refresh() == []
            assert [poller.service for poller in runtime.pollers] == [NAME]

            # When an AssetIndexed goes on the bus
            asset = uuid.uuid4().hex
            event = publish.refresh_ids(publish.load_event(f"{CONSUMES}/valid-basic")[0])
            event["detail"]["metadata"]["correlation_id"] = asset
            event["detail"]["data"]["asset_id"] = asset
            cause = event["detail"]["metadata"]["event_id"]
            with BusTail(local_stack.target, [PRODUCES]) as tail:
                publish.publish(local_stack.target, event)
                arrived = next(
                    (
                        seen
                        for seen in tail.events(timeout=ARRIVAL_TIMEOUT)
                        if seen["detail"]["metadata"].get("causation_id") == cause
                    ),
                    None,
                )
        finally:
            runtime.stop()
        log = (tmp_path / "logs" / f"{function}.log").read_text(errors="replace")

        # Then the new service published its own event, caused by the one it consumed
        assert arrived is not None, f"no {PRODUCES} within {ARRIVAL_TIMEOUT}s; its log:\n{log}"
        assert arrived["source"] == f"media.{NAME}"
        assert arrived["detail"]["metadata"]["producer"] == NAME
        assert arrived["detail"]["data"] == {"asset_id": asset}
        # valid against the v1 schema the scaffold wrote for it
        schema = SchemaCatalog(repo / "schemas").validate(arrived)
        assert (schema.name, schema.major) == (PRODUCES, 1)
    finally:
        destroyed = _run([*driver, "destroy", NAME, "--local"], repo, env)
    assert destroyed.returncode == 0, destroyed.stdout[-4000:] + destroyed.stderr[-4000:]

    # And the session's stack is left as it was found: the service is gone, the rest untouched
    with pytest.raises(ClientError, match="ResourceNotFound"):
        lam.get_function(FunctionName=function)
    assert not [
        m
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"].endswith(f":{function}")
    ]
    with pytest.raises(ClientError, match="ParameterNotFound"):
        ssm.get_parameter(Name=contract)
    assert _serials(local_stack) == before
    assert not list((local_stack.directory / "terraform").rglob(f"*{NAME}*"))
