"""Terraform roots, and the environment each Terraform run gets (AWS or the local moto stack).

The same ``.tf`` files serve AWS and the local stack; only configuration differs:

* provider installation: with a filesystem mirror (``$TF_PROVIDER_MIRROR`` or /opt/tf-plugins)
  a CLI config (.local/terraformrc) installs hashicorp/aws from it and everything else directly;
  ``TF_PLUGIN_CACHE_DIR`` (.local/plugin-cache) makes every root link the same provider instead
  of copying ~700 MB into each. Filling that cache is not safe concurrently (two inits unpacking
  the provider fail with "failed to create directory ... file exists"), so an init that may fill
  it holds a lock on it (:func:`plugin_cache_lock`), across processes: the stack's bring-up, the
  least-privilege plans and the test workers may init at the same time;
* the local stack: ``AWS_ENDPOINT_URL`` and dummy credentials for the provider, ``TF_VAR_*`` for
  the local environment, and the roots' own S3 backend pointed at the moto server;
* AWS: the caller's credentials and ``infra/backends/<env>.s3.tfbackend``.

Terraform runs through python-terraform (0.10.1, written for Terraform 0.12). What it gets wrong
for Terraform 1.x, and how each is handled here (no call needed a subprocess fallback):

* no per-call environment: it copies ``os.environ`` at call time, so a run swaps ``os.environ``
  for the run's own (:func:`environment`) and parallel runs happen in separate processes
  (tools.localstack.driver), never threads;
* its default ``variables={}`` becomes ``-var-file=<temp file with {}>`` on every command, which
  ``apply <planfile>`` rejects: every call passes ``var=None`` (variables come as ``TF_VAR_*``);
* ``apply`` says ``-auto-approve=false`` unless ``skip_plan=True``, and with ``-input=false`` that
  apply cannot be approved: every apply passes ``skip_plan=True``;
* ``destroy`` sends ``-force`` (removed in Terraform 0.15) and ``synchronous=False`` leaks into
  the command line as ``-synchronous=false``: neither is used (``down`` just stops moto;
  :meth:`RootRunner.destroy` runs ``destroy -auto-approve`` through ``cmd``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from tools.localstack.errors import StackError
from tools.localstack.record import DUMMY_CREDENTIALS, LOCAL_DIR, STATE_BUCKET
from tools.package import REPO, service_names
from tools.runtime.apigateway import LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER

DEFAULT_MIRROR = Path("/opt/tf-plugins")
MIRRORED_PROVIDER = "registry.terraform.io/hashicorp/aws"
LOCAL_REGION = "us-east-1"
LOCAL_ENVIRONMENT = "local"
# The scope with which the local read API reads every owner's assets (see services/indexer).
LOCAL_OPERATOR_SCOPE = "media/operator"
# Variables every local run sets; roots that do not declare one ignore it (TF_VAR_ is lenient).
LOCAL_VARIABLES = {
    "TF_VAR_environment": LOCAL_ENVIRONMENT,
    "TF_VAR_aws_region": LOCAL_REGION,
    "TF_VAR_s3_use_path_style": "true",
    "TF_VAR_enable_schema_registry": "false",
    # The runtime serves the web page on loopback (any port): it may POST to the uploads bucket.
    "TF_VAR_upload_allowed_origins": '["http://localhost:*", "http://127.0.0.1:*"]',
    # The local stack's identity provider for the browser APIs (ingest's upload API, the indexer's
    # read API): the runtime's HTTP gateway issues and checks its tokens (tools.runtime.apigateway).
    # On AWS, the roots' http_api variable names a real one (a Cognito user pool, ...).
    "TF_VAR_http_api": json.dumps(
        {"jwt_issuer": LOCAL_JWT_ISSUER, "jwt_audience": [LOCAL_JWT_AUDIENCE]}
    ),
    "TF_VAR_read_api_operator_scope": LOCAL_OPERATOR_SCOPE,
}
# Credentials from the caller's shell must not leak into a local run (nor a profile override them).
_CLEARED_FOR_LOCAL = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


@dataclass(frozen=True)
class Root:
    """One Terraform root: the platform, or one service's."""

    id: str
    directory: Path
    service: str | None = None

    @property
    def state_key(self) -> str:
        return f"{self.id}/terraform.tfstate"

    def exists(self) -> bool:
        return any(self.directory.glob("*.tf"))


def platform_root(repo: Path = REPO) -> Root:
    return Root(id="platform", directory=repo / "infra" / "platform")


def service_root(name: str, repo: Path = REPO) -> Root:
    known = service_names(repo)
    if name not in known:
        raise StackError(f"unknown service {name!r}; the services are: {', '.join(known)}")
    return Root(id=name, directory=repo / "services" / name / "infra", service=name)


def all_roots(repo: Path = REPO) -> list[Root]:
    return [platform_root(repo), *(service_root(name, repo) for name in service_names(repo))]


# --- provider installation -------------------------------------------------------------------


def provider_mirror() -> Path | None:
    configured = os.environ.get("TF_PROVIDER_MIRROR")
    mirror = Path(configured) if configured else DEFAULT_MIRROR
    return mirror if mirror.is_dir() else None


def write_cli_config(mirror: Path, local_dir: Path = LOCAL_DIR) -> Path:
    """A terraformrc that installs hashicorp/aws from the mirror and the rest as usual."""
    path = local_dir / "terraformrc"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by tools/localstack/terraform.py: hashicorp/aws from the mirror, the rest "
        "direct.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f'    include = ["{MIRRORED_PROVIDER}"]\n'
        "  }\n"
        "  direct {\n"
        f'    exclude = ["{MIRRORED_PROVIDER}"]\n'
        "  }\n"
        "}\n"
    )
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def terraform_settings(base: Mapping[str, str], local_dir: Path = LOCAL_DIR) -> dict[str, str]:
    """``base`` plus where providers come from and are cached; no prompts, no colour codes."""
    env = dict(base)
    mirror = provider_mirror()
    if mirror is not None:
        env["TF_CLI_CONFIG_FILE"] = str(write_cli_config(mirror, local_dir))
    cache = Path(env.get("TF_PLUGIN_CACHE_DIR") or local_dir / "plugin-cache")
    cache.mkdir(parents=True, exist_ok=True)
    env["TF_PLUGIN_CACHE_DIR"] = str(cache)
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_INPUT"] = "0"
    return env


def local_settings(base: Mapping[str, str], endpoint: str) -> dict[str, str]:
    """``base`` pointed at the moto server: endpoint, dummy credentials, local variables."""
    env = {k: v for k, v in base.items() if k not in _CLEARED_FOR_LOCAL}
    env.update(DUMMY_CREDENTIALS)
    env.update(LOCAL_VARIABLES)
    env["AWS_ENDPOINT_URL"] = endpoint
    env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = LOCAL_REGION
    return env


def local_backend_config(endpoint: str, root: Root, directory: Path) -> Path:
    """The roots' own S3 backend, pointed at the state bucket on the moto server."""
    path = directory / f"{root.id}.s3.tfbackend"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by tools/localstack/driver.py for the local stack; regenerated on every run.\n"
        f'bucket                      = "{STATE_BUCKET}"\n'
        f'key                         = "{root.state_key}"\n'
        f'region                      = "{LOCAL_REGION}"\n'
        "use_path_style              = true\n"
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id  = true\n"
        "skip_metadata_api_check     = true\n"
        "skip_region_validation      = true\n"
        f"endpoints = {{\n  s3 = {json.dumps(endpoint)}\n}}\n",
        encoding="utf-8",
    )
    return path


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Run the block with exactly ``env`` as os.environ (python-terraform reads it per call)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- running terraform -------------------------------------------------------------------------


@contextmanager
def plugin_cache_lock(env: Mapping[str, str], root: Root) -> Iterator[None]:
    """Hold the plugin cache's lock around an init that may fill the cache.

    An init links from the cache what the root's lock file names once some init with the same
    lock file has succeeded (a marker in the cache, named by the lock file's digest, says so);
    until then, and for a root with no lock file, the init may unpack the provider into the cache,
    and runs alone (``flock``: other processes wait, their inits then only link).
    """
    configured = env.get("TF_PLUGIN_CACHE_DIR")
    if not configured:
        yield
        return
    cache = Path(configured)
    lock_file = root.directory / ".terraform.lock.hcl"
    marker = None
    if lock_file.is_file():
        digest = hashlib.sha256(lock_file.read_bytes()).hexdigest()[:16]
        marker = cache / f".filled-{digest}"
        if marker.is_file():
            yield
            return
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
            if marker is not None:
                marker.touch()  # only after a successful init: the cache holds what it names
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class Run:
    """What one terraform command did."""

    command: str
    code: int
    seconds: float
    out: str = ""
    err: str = ""


@dataclass
class RootRunner:
    """Terraform commands on one root, through python-terraform, in ``env``.

    ``data_dir`` (TF_DATA_DIR) keeps each target's initialisation (backend, providers, modules)
    apart, so the local stack, the test suite's throwaway stacks and AWS environments never
    reconfigure each other's working directories.
    """

    root: Root
    env: Mapping[str, str]
    data_dir: Path
    stream: bool = False
    runs: list[Run] = field(default_factory=list)

    def _terraform(self) -> Terraform:
        binary = shutil.which("terraform", path=self.env.get("PATH"))
        if binary is None:
            raise StackError("terraform is not on PATH (the project needs Terraform >= 1.6)")
        return Terraform(working_dir=str(self.root.directory), terraform_bin_path=binary)

    def _run(self, command: str, *args: str, stream: bool | None = None, **options: Any) -> Run:
        live = self.stream if stream is None else stream
        env = {**self.env, "TF_DATA_DIR": str(self.data_dir)}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with environment(env):
            tf = self._terraform()
            # var=None: python-terraform otherwise adds -var-file with its (empty) default
            # variables, which `apply <planfile>` rejects; every variable comes as TF_VAR_*.
            if command == "apply":
                code, out, err = tf.apply(*args, skip_plan=True, var=None, capture_output=not live)
            elif command == "plan":
                code, out, err = tf.plan(*args, var=None, capture_output=not live, **options)
            elif command == "init":
                code, out, err = tf.init(*args, var=None, capture_output=not live, **options)
            else:
                code, out, err = tf.cmd(command, *args, capture_output=not live, **options)
        run = Run(f"{command} {' '.join(args)}".strip(), code, time.monotonic() - started)
        run.out, run.err = out or "", err or ""
        self.runs.append(run)
        return run

    def _check(self, run: Run) -> Run:
        if run.code != 0:
            detail = (run.err or run.out).strip()
            raise StackError(
                f"terraform {run.command} failed in {self.root.directory} "
                f"(exit {run.code}){':' if detail else ''}\n{detail}"
            )
        return run

    def init(self, backend_config: Sequence[str]) -> Run:
        # -reconfigure (python-terraform's default): the backend file is regenerated per stack.
        with plugin_cache_lock(self.env, self.root):
            return self._check(self._run("init", backend_config=list(backend_config), stream=False))

    def apply(self, plan_file: Path | None = None) -> Run:
        args = (str(plan_file),) if plan_file else ()
        return self._check(self._run("apply", *args))

    def destroy(self) -> Run:
        """``terraform destroy -auto-approve`` of the root (python-terraform's own ``destroy``
        sends the removed ``-force``, so this goes through ``cmd``)."""
        return self._check(self._run("destroy", auto_approve=IsFlagged, input=False))

    def plan(self, plan_file: Path) -> tuple[Run, bool]:
        """The plan saved to ``plan_file``; True when it changes something."""
        plan_file.parent.mkdir(parents=True, exist_ok=True)
        run = self._run("plan", out=str(plan_file))  # -detailed-exitcode: 2 means changes
        if run.code not in (0, 2):
            self._check(run)
        return run, run.code == 2

    def show_plan(self, plan_file: Path) -> dict[str, Any]:
        run = self._check(self._run("show", str(plan_file), stream=False, json=IsFlagged))
        document: dict[str, Any] = json.loads(run.out)
        return document


def changed_addresses(plan: Mapping[str, Any]) -> dict[str, list[str]]:
    """Address -> actions for every resource the plan creates, updates, replaces or deletes."""
    changes: dict[str, list[str]] = {}
    for change in plan.get("resource_changes", []):
        actions = list(change.get("change", {}).get("actions", []))
        if actions and actions not in (["no-op"], ["read"]):
            changes[str(change["address"])] = actions
    return changes


def planned_parameter_names(plan: Mapping[str, Any]) -> list[str]:
    """Names of the SSM parameters a saved plan's root will have (created or kept)."""
    names: list[str] = []
    modules = [plan.get("planned_values", {}).get("root_module", {})]
    while modules:
        module = modules.pop()
        modules.extend(module.get("child_modules", []))
        for resource in module.get("resources", []):
            if resource.get("type") == "aws_ssm_parameter" and resource.get("mode") == "managed":
                name = resource.get("values", {}).get("name")
                if isinstance(name, str):
                    names.append(name)
    return sorted(names)
