"""The end-to-end fixture: a fresh local stack (moto + the real Terraform) and the local runtime.

One per session, in a temporary directory (``MEDIA_STACK_DIR``), never the developer's
``.local/`` stack: the moto server of ``tools.runtime.moto_server``, every root applied by the
same driver as ``make up`` (which builds the Lambda zips), then the runtime running the deployed
functions from those zips. Brought down at the end of the session, whatever happened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.cli.target import Target, resolve_target
from tools.runtime import LocalRuntime, RuntimeOptions, moto_server
from tools.runtime.poller import BatchOutcome

REPO = Path(__file__).resolve().parents[2]
SERVICES = {"ingest", "thumbnailer", "metadata-extractor", "indexer"}
UP_TIMEOUT = 900

pytestmark = pytest.mark.e2e


@dataclass
class Pipeline:
    directory: Path
    endpoint: str
    target: Target
    runtime: LocalRuntime
    outcomes: list[BatchOutcome] = field(default_factory=list)

    def logs(self, service: str) -> str:
        path = self.directory / "logs" / f"media-local-{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _driver(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.stack", command],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=UP_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    if shutil.which("terraform") is None:
        pytest.skip("the terraform CLI is not on PATH")
    directory = tmp_path_factory.mktemp("e2e-stack")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    env["MEDIA_STACK_DIR"] = str(directory)
    runtime: LocalRuntime | None = None
    try:
        record = moto_server.start(directory)
        up = _driver("up", env)
        if up.returncode != 0:
            pytest.fail(f"`tools.stack up` failed (exit {up.returncode}):\n{up.stdout}{up.stderr}")
        endpoint = str(record["endpoint"])
        outcomes: list[BatchOutcome] = []
        runtime = LocalRuntime(
            RuntimeOptions(
                endpoint=endpoint,
                log_dir=directory / "logs",
                code_root=directory / "code",
            ),
            on_batch=outcomes.append,
        )
        problems = runtime.refresh()
        assert problems == []
        assert {p.service for p in runtime.pollers} == SERVICES
        target = resolve_target(endpoint=endpoint, environment="local")
        yield Pipeline(directory, endpoint, target, runtime, outcomes)
    finally:
        if runtime is not None:
            runtime.stop()
        _driver("down", env)


@pytest.fixture
def wait() -> Callable[[Callable[[], bool], float, str], None]:
    from tests.runtime.conftest import wait_until

    return wait_until
