"""The record of the local stack: its folder and ``moto.json`` (pid, port, endpoint, region).

Every command, test and benchmark reads the local stack through :func:`read_stack`; only
:mod:`tools.localstack.server` writes the record (when it starts the server).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO / ".local"
DEFAULT_REGION = "us-east-1"
RECORD = "moto.json"
STATE_BUCKET = "media-local-terraform-state"
PARAMETER_ROOT = "/media-pipeline"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def stack_dir() -> Path:
    """Where the local stack keeps its files: ``$MEDIA_STACK_DIR``, else ``.local/``."""
    configured = os.environ.get("MEDIA_STACK_DIR")
    return Path(configured).resolve() if configured else LOCAL_DIR


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_moto_process(pid: int) -> bool:
    """Whether process ``pid`` is a moto server (ours or a plain ``moto_server``)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"moto_server" in cmdline


def is_patched(pid: int) -> bool:
    """Whether process ``pid`` is the local stack's server (not a plain ``moto_server``)."""
    try:
        return b"tools.localstack.moto_server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def answers(endpoint: str, timeout: float = 5) -> bool:
    """Whether an HTTP server answers there (any status: /moto-api/data.json can fail with 500
    once some resources exist, and it serialises everything, so it is no liveness probe)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def stack_env(directory: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a child process acting on the stack in ``directory``: ours without
    AWS_*, TF_VAR_* and TF_DATA_DIR (nothing of a shell's AWS session leaks in), and
    ``MEDIA_STACK_DIR`` naming the folder."""
    source = dict(os.environ) if base is None else base
    env = {k: v for k, v in source.items() if not k.startswith(("AWS_", "TF_VAR_"))}
    env.pop("TF_DATA_DIR", None)
    env["MEDIA_STACK_DIR"] = str(directory)
    return env


@dataclass(frozen=True)
class Stack:
    """One local stack: its folder and the moto server recorded there."""

    directory: Path
    endpoint: str
    region: str = DEFAULT_REGION
    pid: int | None = None
    environment: str = "local"

    @property
    def record(self) -> Path:
        return self.directory / RECORD

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    @property
    def running(self) -> bool:
        """Whether the recorded server process still exists (True when no pid was recorded)."""
        return self.pid is None or _pid_alive(self.pid)

    @property
    def serving(self) -> bool:
        """Whether the recorded process is a moto server and answers at the endpoint."""
        if self.pid is not None and not is_moto_process(self.pid):
            return False
        return answers(self.endpoint, timeout=2)

    def env(self) -> dict[str, str]:
        """An environment for a child process acting on this stack (see :func:`stack_env`)."""
        return stack_env(self.directory)

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this stack, with dummy credentials."""
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def state(self, root: str) -> dict[str, Any]:
        """The Terraform state of one root, read from the S3 backend on the moto server."""
        body = self.client("s3").get_object(Bucket=STATE_BUCKET, Key=f"{root}/terraform.tfstate")
        document: dict[str, Any] = json.load(body["Body"])
        return document

    def parameter(self, path: str) -> str:
        """``/media-pipeline/<environment>/<path>`` from the stack's SSM."""
        name = f"{PARAMETER_ROOT}/{self.environment}/{path}"
        value: str = self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        return value


def read_stack(directory: Path | None = None) -> Stack | None:
    """What the server's start recorded in ``directory`` (default :func:`stack_dir`), or None.

    ValueError when the record is there but unreadable (it names the file).
    """
    directory = (directory if directory is not None else stack_dir()).resolve()
    path = directory / RECORD
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path} is not a stack record: {error}") from None
    endpoint = state.get("endpoint") if isinstance(state, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError(f"{path} names no endpoint")
    pid = state.get("pid")
    return Stack(
        directory=directory,
        endpoint=endpoint,
        region=str(state.get("region") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION),
        pid=int(pid) if isinstance(pid, int | str) and str(pid).isdigit() else None,
    )
