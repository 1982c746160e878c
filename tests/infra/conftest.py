"""A throwaway local stack for the infrastructure tests: its own moto server, everything applied.

The session fixture runs the same driver as ``make up`` (``python -m tools.stack up``) with
``MEDIA_STACK_DIR`` in a temporary directory, so it never touches a developer's ``.local/``
stack: its own moto server on a free loopback port, its own Terraform data and state. It is
brought down (moto stopped) at the end of the session, whatever happened.

To iterate on these tests without re-applying everything each run, bring a stack up once with
``MEDIA_STACK_DIR=/tmp/s python -m tools.stack up`` and run pytest with
``MEDIA_INFRA_TEST_STACK=/tmp/s``: the session then uses that stack and leaves it running.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tools.package import REPO, service_names

UP_TIMEOUT = 900
ROOTS = ["platform", *service_names()]


@dataclass(frozen=True)
class LocalStack:
    directory: Path
    endpoint: str
    env: dict[str, str]
    up_output: str
    environment: str = "local"
    region: str = "us-east-1"

    def client(self, service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def state(self, root: str) -> dict[str, Any]:
        """The Terraform state of one root, read from the S3 backend on the moto server."""
        body = self.client("s3").get_object(
            Bucket="media-local-terraform-state", Key=f"{root}/terraform.tfstate"
        )["Body"]
        document: dict[str, Any] = json.load(body)
        return document

    def parameter(self, path: str) -> str:
        name = f"/media-pipeline/{self.environment}/{path}"
        value: str = self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        return value


def run_driver(
    command: str, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.stack", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    if shutil.which("terraform") is None:
        pytest.skip("the terraform CLI is not on PATH")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TF_VAR_")) and key != "TF_DATA_DIR"
    }
    existing = os.environ.get("MEDIA_INFRA_TEST_STACK")
    if existing:
        directory = Path(existing).resolve()
        env["MEDIA_STACK_DIR"] = str(directory)
        record = json.loads((directory / "moto.json").read_text(encoding="utf-8"))
        yield LocalStack(directory, record["endpoint"], env, up_output=" ".join(ROOTS))
        return
    directory = tmp_path_factory.mktemp("stack")
    env["MEDIA_STACK_DIR"] = str(directory)
    try:
        up = run_driver("up", env, UP_TIMEOUT)
        if up.returncode != 0:
            pytest.fail(f"`tools.stack up` failed (exit {up.returncode}):\n{up.stdout}{up.stderr}")
        record = json.loads((directory / "moto.json").read_text(encoding="utf-8"))
        yield LocalStack(directory, record["endpoint"], env, up_output=up.stdout)
    finally:
        run_driver("down", env, 60)
