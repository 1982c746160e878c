"""Bring the local stack up, stop it, take it down; plan or deploy one root (local or AWS).

    python -m tools.localstack up [--apply]   moto + every root applied (make up); warm if it can
    python -m tools.localstack stop       stop moto, keep its state for the next up (make stop)
    python -m tools.localstack down       stop moto, forget the local state (make down)
    python -m tools.localstack status     what is recorded, running and saved (make status)
    python -m tools.localstack runtime [OPTIONS]   the local runtime on the stack (make runtime)
    python -m tools.localstack deploy SERVICE [--env ENV | --local]    plan + apply one root
    python -m tools.localstack plan SERVICE [--env ENV | --local]      plan one root
    python -m tools.localstack destroy SERVICE [--local]     destroy one service root (local stack)

Where a deploy goes (:func:`tools.localstack.target.resolve_target`): ``--local`` (LOCAL=1) or
``--env local`` means the local stack; another ``--env`` means AWS with
``infra/backends/<env>.s3.tfbackend``; with neither, the local stack if ``make up`` is running,
else AWS ``dev``.

``up`` from nothing plans the platform, applies it, and starts the four service roots as soon as
the platform's SSM parameters exist (all a service root depends on), in parallel; artifacts are
built and the service roots initialised meanwhile. It prints a summary: endpoint, resources per
root, times. ``up`` on a stack whose Terraform and code are unchanged since its last ``up``
(:mod:`tools.localstack.warm`), running or stopped with its state saved
(:mod:`tools.localstack.snapshot`), applies nothing: the server is started with its snapshot
and the stack is ready in seconds. Otherwise it says what changed and applies.

Local stack files live in ``$MEDIA_STACK_DIR`` (default .local/): moto.json (pid, port, endpoint),
moto.log, warm.json (the fingerprint of the last up), snapshot/ (the server's saved state), and
terraform/: data/<root>/ (each root's TF_DATA_DIR), backends/, logs/ (each root's terraform
output), plans/ (the last deploy's plan, binary and JSON). Terraform state is the roots' own S3
backend, kept in a bucket on the moto server itself: the state lives and dies with the resources
it describes (and is saved and restored with them).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tools import contracts, package
from tools.localstack import server, snapshot, warm
from tools.localstack.errors import StackError
from tools.localstack.record import (
    DUMMY_CREDENTIALS,
    LOCAL_DIR,
    REPO,
    STATE_BUCKET,
    Stack,
    is_patched,
    read_stack,
    stack_dir,
)
from tools.localstack.target import Target, resolve_target
from tools.localstack.terraform import (
    LOCAL_REGION,
    LOCAL_VARIABLES,
    Root,
    RootRunner,
    all_roots,
    changed_addresses,
    local_backend_config,
    local_settings,
    planned_parameter_names,
    platform_root,
    service_root,
    terraform_settings,
)

BACKENDS = REPO / "infra" / "backends"
# What `down` removes from the stack directory (the provider cache and CLI config stay).
_STACK_FILES = ("moto.json", "moto.log", warm.FILE)
_STACK_DIRS = ("terraform", "snapshot")
SNAPSHOT_TIMEOUT = 60.0


def ensure_state_bucket(endpoint: str) -> None:
    s3 = _s3(endpoint)
    existing = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if STATE_BUCKET not in existing:
        s3.create_bucket(Bucket=STATE_BUCKET)
        s3.put_bucket_versioning(Bucket=STATE_BUCKET, VersioningConfiguration={"Status": "Enabled"})


# --- one root, as a job (runs in a worker process: python-terraform reads os.environ) ----------


@dataclass(frozen=True)
class Job:
    """What to do with one root: init, save a plan, apply (the saved plan when there is one)."""

    root: Root
    env: Mapping[str, str]
    data_dir: Path
    backend_config: tuple[str, ...]
    log: Path
    init: bool = True
    plan_file: Path | None = None
    plan: bool = False
    show: bool = False
    apply: bool = True


@dataclass
class Result:
    root: str
    ok: bool
    seconds: dict[str, float] = field(default_factory=dict)
    resources: int = 0
    #: With Job.show: the names of the SSM parameters the plan creates or keeps.
    parameters: list[str] = field(default_factory=list)
    error: str = ""


def run_job(job: Job) -> Result:
    runner = RootRunner(job.root, job.env, job.data_dir)
    result = Result(root=job.root.id, ok=False)
    try:
        if job.init:
            result.seconds["init"] = runner.init(job.backend_config).seconds
        if job.plan and job.plan_file is not None:
            run, _ = runner.plan(job.plan_file)
            result.seconds["plan"] = run.seconds
        if job.show and job.plan_file is not None:
            result.parameters = planned_parameter_names(runner.show_plan(job.plan_file))
        if job.apply:
            result.seconds["apply"] = runner.apply(job.plan_file).seconds
        result.ok = True
    except StackError as error:
        result.error = str(error)
    finally:
        job.log.parent.mkdir(parents=True, exist_ok=True)
        with job.log.open("a", encoding="utf-8") as log:
            for run in runner.runs:
                log.write(f"$ terraform {run.command}  (exit {run.code}, {run.seconds:.1f} s)\n")
                log.write(run.out)
                log.write(run.err)
    return result


def run_jobs(jobs: Sequence[Job]) -> list[Result]:
    """Jobs one after the other, stopping at the first failure."""
    results: list[Result] = []
    for job in jobs:
        results.append(run_job(job))
        if not results[-1].ok:
            break
    return results


# --- up / down -------------------------------------------------------------------------------


def _local_job(
    root: Root, env: Mapping[str, str], moto: Stack, directory: Path, **flags: Any
) -> Job:
    backend = local_backend_config(moto.endpoint, root, directory / "terraform" / "backends")
    return Job(
        root=root,
        env=env,
        data_dir=directory / "terraform" / "data" / root.id,
        backend_config=(str(backend),),
        log=directory / "terraform" / "logs" / f"{root.id}.log",
        **flags,
    )


def _raise_failures(results: Sequence[Result]) -> None:
    failed = [r for r in results if not r.ok]
    if failed:
        detail = "\n\n".join(f"[{r.root}] {r.error}" for r in failed)
        raise StackError(f"{len(failed)} root(s) failed:\n{detail}")


def up(*, apply: bool = False) -> int:
    """Bring the stack up; warm (nothing applied) when nothing changed, unless ``apply``."""
    started = time.monotonic()
    directory = stack_dir()
    roots = [root for root in all_roots() if root.exists()]
    missing = [root.id for root in all_roots() if not root.exists()]
    if not roots or roots[0].id != "platform":
        raise StackError("infra/platform has no Terraform yet: nothing to bring up")
    platform, services = roots[0], roots[1:]
    moto, how = server.ensure_running(directory, LOCAL_REGION)
    print(f"moto: {moto.endpoint} (pid {moto.pid}, {how})")
    marks: list[tuple[str, float]] = [("moto up", time.monotonic() - started)]
    current = warm.fingerprint([r.id for r in services], LOCAL_VARIABLES)
    reason = _why_apply(directory, moto, how, current, [r.id for r in roots], apply)
    if reason is None:
        print(
            "warm: the Terraform and the code are unchanged since the last `make up`: "
            "nothing to build or apply"
        )
        _print_warm_summary(moto, [r.id for r in roots], time.monotonic() - started, directory)
        return 0
    print(f"apply: {reason}")
    ensure_state_bucket(moto.endpoint)
    for name in ("logs", "plans"):
        shutil.rmtree(directory / "terraform" / name, ignore_errors=True)  # of the last run
    env = terraform_settings(local_settings(os.environ, moto.endpoint))

    results: dict[str, Result] = {}
    artifacts: dict[str, package.Artifact] = {}
    # A root without .terraform.lock.hcl makes init (re)install the provider into the shared
    # plugin cache, which is not safe concurrently: init those one by one first (this writes
    # their lock files). With a lock file, init only links from the cache, so those inits run
    # in parallel, alongside the platform.
    # An empty cache (a fresh checkout) is filled by the first init, so that one runs alone too.
    inited: dict[str, Result] = {}
    cache = Path(env["TF_PLUGIN_CACHE_DIR"])
    for root in roots:
        cache_empty = not any(cache.glob("registry.terraform.io/*/*/*/*/*"))
        if cache_empty or not (root.directory / ".terraform.lock.hcl").is_file():
            inited[root.id] = run_job(_local_job(root, env, moto, directory, apply=False))
            _raise_failures([inited[root.id]])
    plan_file = directory / "terraform" / "plans" / "platform.tfplan"
    with ProcessPoolExecutor(max_workers=len(roots) + 3) as pool:
        # The platform is planned first, so we know which SSM parameters it publishes.
        planning = pool.submit(
            run_job,
            _local_job(
                platform,
                env,
                moto,
                directory,
                init=platform.id not in inited,
                plan=True,
                plan_file=plan_file,
                apply=False,
            ),
        )
        # Init hashes the ~700 MB provider: CPU-bound. Chains of inits, one per spare core, leave
        # a core to the platform's init and plan, which are on the critical path.
        pending = [root for root in services if root.id not in inited]
        chains = max(1, (os.cpu_count() or 2) - 1)
        inits = [
            pool.submit(run_jobs, [_local_job(r, env, moto, directory, apply=False) for r in chain])
            for chain in (pending[i::chains] for i in range(chains))
            if chain
        ]
        # Meanwhile, on a thread: build the artifacts (nothing needs them until the services
        # apply; an unchanged one is not built again), while the platform's apply starts.
        builder = ThreadPoolExecutor(max_workers=1)
        building = builder.submit(_build_artifacts, services, marks, started)
        builder.shutdown(wait=False)
        planned = planning.result()
        inited.setdefault(platform.id, planned)
        _raise_failures([planned])
        marks.append(("platform planned", time.monotonic() - started))
        platform_apply = pool.submit(
            run_job, _local_job(platform, env, moto, directory, init=False, plan_file=plan_file)
        )
        # Reading the plan (`show -json` loads the provider's schema) runs beside the apply.
        reading = _local_job(
            platform, env, moto, directory, init=False, show=True, plan_file=plan_file, apply=False
        )
        shown = pool.submit(run_job, replace(reading, log=reading.log.with_suffix(".show.log")))
        parameters = shown.result()
        _raise_failures([parameters])
        inited.update({result.root: result for chain in inits for result in chain.result()})
        _raise_failures(list(inited.values()))
        marks.append(("service roots initialised", time.monotonic() - started))
        # A service root depends on nothing but the platform's published parameters (that is
        # the design): start the services once those exist, not when the whole platform is done
        # (its slowest resources, e.g. lifecycle rules, concern no service).
        _await_parameters(moto.endpoint, parameters.parameters, platform_apply)
        marks.append(("platform parameters published", time.monotonic() - started))
        artifacts.update(building.result())
        applies: dict[str, Future[Result]] = {
            root.id: pool.submit(
                run_job,
                # artifact_path stays the roots' default: build/lambda/<service>.zip, as built.
                _local_job(root, env, moto, directory, init=False),
            )
            for root in services
        }
        results["platform"] = platform_apply.result()
        results.update({root_id: future.result() for root_id, future in applies.items()})
    for root_id, result in results.items():
        if result.ok:
            result.resources = _count_resources(moto.endpoint, root_id)
        result.seconds["init"] = inited[root_id].seconds.get("init", 0.0)
        plan_seconds = inited[root_id].seconds.get("plan", 0.0)
        result.seconds["apply"] = result.seconds.get("apply", 0.0) + plan_seconds
    _raise_failures(list(results.values()))
    _remove_stray_mappings(moto, [r.id for r in services])
    # What the stack is now built from (the zips as just built), and its state saved with it.
    warm.record(directory, warm.fingerprint([r.id for r in services], LOCAL_VARIABLES))
    saved = request_snapshot(moto)
    marks.append(("state saved", time.monotonic() - started))
    _print_up_summary(moto, results, artifacts, missing, time.monotonic() - started, directory)
    if saved is not None:
        print(
            f"  snapshot   {saved['bytes'] / 1e6:.1f} MB in {saved['seconds']:.1f} s "
            "(`make stop` then `make up` starts warm)"
        )
    print(
        "\n  timeline: "
        + ", ".join(f"{label} {at:.1f} s" for label, at in sorted(marks, key=lambda m: m[1]))
    )
    print("  (service roots are applied once the platform's SSM parameters exist)")
    return 0


def _build_artifacts(
    services: Sequence[Root], marks: list[tuple[str, float]], started: float
) -> dict[str, package.Artifact]:
    built = {}
    for root in services:
        assert root.service is not None
        built[root.id] = package.build(root.service)
    marks.append(("artifacts built", time.monotonic() - started))
    return built


def _why_apply(
    directory: Path,
    moto: Stack,
    how: str,
    current: warm.Fingerprint,
    roots: Sequence[str],
    forced: bool,
) -> str | None:
    """Why ``up`` must apply (None: it need not: the stack is as its last ``up`` left it)."""
    if forced:
        return "asked for (--apply)"
    last = warm.recorded(directory)
    if last is None:
        return "no earlier `make up` in this folder"
    if how == "started":
        return "the server started empty (no snapshot of its state): everything from nothing"
    changes = current.changes(last)
    if changes:
        return f"changed since the last `make up`: {warm.describe(changes)}"
    states = (
        {
            obj["Key"].split("/")[0]
            for obj in _s3(moto.endpoint).list_objects_v2(Bucket=STATE_BUCKET).get("Contents", [])
        }
        if _state_bucket_exists(moto.endpoint)
        else set()
    )
    absent = [root for root in roots if root not in states]
    if absent:
        return f"no Terraform state for {', '.join(absent)} on the server"
    return None


def _state_bucket_exists(endpoint: str) -> bool:
    names = {bucket["Name"] for bucket in _s3(endpoint).list_buckets().get("Buckets", [])}
    return STATE_BUCKET in names


def request_snapshot(moto: Stack, timeout: float = SNAPSHOT_TIMEOUT) -> dict[str, Any] | None:
    """Ask the server to save its state now (SIGUSR1); what it saved, or None if it did not."""
    if moto.pid is None or not is_patched(moto.pid):
        print("  snapshot   none: the running server is not tools.localstack.moto_server")
        return None
    report = snapshot.folder(moto.directory) / snapshot.SAVED
    asked = time.time()
    os.kill(moto.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            saved: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
            if float(saved.get("saved_at", 0)) >= asked:
                if "error" in saved:
                    print(
                        f"  snapshot   not saved: {saved['error']} (see {moto.directory}/moto.log)"
                    )
                    return None
                return saved
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    print(f"  snapshot   not saved within {timeout:.0f} s (see {moto.directory / 'moto.log'})")
    return None


def _print_warm_summary(moto: Stack, roots: Sequence[str], seconds: float, directory: Path) -> None:
    print(f"\nlocal stack up in {seconds:.1f} s (warm)")
    print(f"  endpoint   {moto.endpoint}   (export AWS_ENDPOINT_URL={moto.endpoint})")
    print(f"  state      s3://{STATE_BUCKET}/<root>/terraform.tfstate on the moto server")
    print(f"\n  {'root':<20}{'resources':>10}")
    total = 0
    for root_id in roots:
        count = _count_resources(moto.endpoint, root_id)
        total += count
        print(f"  {root_id:<20}{count:>10}")
    print(f"  {'total':<20}{total:>10}")


def _s3(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def stray_mappings(
    states: Sequence[Mapping[str, Any]], mappings: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The event source mappings no state holds that repeat one a state holds.

    ``CreateEventSourceMapping`` is not idempotent: a create the provider sends again (its SDK
    retries a request whose answer it did not get, which a loaded machine has made happen during
    a bring-up and during a new service's local deploy) leaves a second mapping of the same
    queue and function that no state knows, and the function then has two pollers. AWS refuses
    such a second mapping; moto makes it. Mappings of other pairs (made by hand, or by a root
    outside this stack) are not strays.
    """
    known: dict[str, tuple[str, str]] = {}
    for state in states:
        for resource in state.get("resources", []):
            if resource.get("mode") != "managed":
                continue
            if resource.get("type") != "aws_lambda_event_source_mapping":
                continue
            for instance in resource.get("instances", []):
                values = instance.get("attributes", {})
                pair = (values.get("function_arn", ""), values.get("event_source_arn", ""))
                known[values.get("uuid") or values.get("id", "")] = pair
    pairs = set(known.values())
    return [
        mapping
        for mapping in mappings
        if mapping["UUID"] not in known
        and (mapping.get("FunctionArn"), mapping.get("EventSourceArn")) in pairs
    ]


def _remove_stray_mappings(moto: Stack, roots: Sequence[str]) -> None:
    """Delete the :func:`stray_mappings` of the stack, saying which."""
    lam = moto.client("lambda")
    states = [moto.state(root) for root in roots]
    mappings = [
        mapping
        for page in lam.get_paginator("list_event_source_mappings").paginate()
        for mapping in page["EventSourceMappings"]
    ]
    for stray in stray_mappings(states, mappings):
        lam.delete_event_source_mapping(UUID=stray["UUID"])
        print(
            f"  repaired   removed a second event source mapping of "
            f"{stray['FunctionArn'].rsplit(':', 1)[-1]} on {stray['EventSourceArn']} that no "
            "Terraform state holds (most likely a create sent twice)"
        )


def _count_resources(endpoint: str, root_id: str) -> int:
    """Managed resource instances in a root's state (what `terraform state list` counts)."""
    body = _s3(endpoint).get_object(Bucket=STATE_BUCKET, Key=f"{root_id}/terraform.tfstate")
    state = json.load(body["Body"])
    return sum(
        len(resource.get("instances", []))
        for resource in state.get("resources", [])
        if resource.get("mode") == "managed"
    )


def _await_parameters(endpoint: str, names: Sequence[str], platform: Future[Result]) -> None:
    """Return once every parameter in ``names`` exists, or the platform's apply has ended."""
    import boto3

    ssm = boto3.client(
        "ssm",
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    pending = list(names)
    while pending and not platform.done():
        found: set[str] = set()
        for start in range(0, len(pending), 10):  # GetParameters takes 10 names at most
            response = ssm.get_parameters(Names=pending[start : start + 10])
            found.update(parameter["Name"] for parameter in response["Parameters"])
        pending = [name for name in pending if name not in found]
        if pending:
            time.sleep(0.25)
    if platform.done():
        _raise_failures([platform.result()])


def _print_up_summary(
    moto: Stack,
    results: Mapping[str, Result],
    artifacts: Mapping[str, package.Artifact],
    missing: Sequence[str],
    seconds: float,
    directory: Path,
) -> None:
    print(f"\nlocal stack up in {seconds:.1f} s")
    print(f"  endpoint   {moto.endpoint}   (export AWS_ENDPOINT_URL={moto.endpoint})")
    print(f"  state      s3://{STATE_BUCKET}/<root>/terraform.tfstate on the moto server")
    print(f"  logs       {directory / 'terraform' / 'logs'}")
    print(f"\n  {'root':<20}{'resources':>10}{'init':>8}{'apply':>8}  artifact")
    for root_id, result in results.items():
        artifact = artifacts.get(root_id)
        size = f"{artifact.size / 1024 / 1024:.1f} MiB" if artifact else ""
        print(
            f"  {root_id:<20}{result.resources:>10}"
            f"{result.seconds.get('init', 0):>7.1f}s{result.seconds.get('apply', 0):>7.1f}s  {size}"
        )
    total = sum(result.resources for result in results.values())
    print(f"  {'total':<20}{total:>10}")
    if missing:
        print(f"\n  not applied (no Terraform yet): {', '.join(missing)}")


def down() -> int:
    """Stop the server (its state is not saved) and remove the stack's files."""
    directory = stack_dir()
    try:
        moto = read_stack(directory)
    except ValueError:
        moto = None
    if moto is None:
        print(f"no local stack recorded in {directory}")
    elif server.stop(moto, save=False):
        print(f"moto stopped (pid {moto.pid}, port {moto.port})")
    else:
        print(f"moto (pid {moto.pid}) was not running")
    for name in _STACK_FILES:
        (directory / name).unlink(missing_ok=True)
    for name in _STACK_DIRS:
        shutil.rmtree(directory / name, ignore_errors=True)
    print(f"local state removed from {directory}")
    return 0


def stop() -> int:
    """Stop the server; it saves its state first, for the next ``up`` to start warm."""
    directory = stack_dir()
    moto = read_stack(directory)
    if moto is None:
        print(f"no local stack recorded in {directory}")
        return 0
    if not server.stop(moto, save=True):
        print(f"moto (pid {moto.pid}) was not running")
        return 0
    saved = _saved(directory)
    print(f"moto stopped (pid {moto.pid}, port {moto.port})")
    if saved and "error" in saved:
        print(f"state NOT saved: {saved['error']}: the next `make up` applies from nothing")
    elif saved:
        print(
            f"state saved: {saved['bytes'] / 1e6:.1f} MB in {saved['seconds']:.1f} s "
            f"({snapshot.folder(directory)}); `make up` starts it again warm"
        )
    return 0


def _saved(directory: Path) -> dict[str, Any] | None:
    try:
        report: dict[str, Any] = json.loads(
            (snapshot.folder(directory) / snapshot.SAVED).read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    return report


def status() -> int:
    """What is recorded, whether it runs, what is saved, whether ``up`` would apply."""
    directory = stack_dir()
    moto = read_stack(directory)
    print(f"folder     {directory}")
    if moto is None:
        print("server     none recorded (`make up` starts one)")
    else:
        state = "serving" if moto.serving else "not running"
        print(f"server     {moto.endpoint} (pid {moto.pid}): {state}")
    saved = _saved(directory)
    if saved and "error" in saved:
        print(f"snapshot   none: the last save failed: {saved['error']}")
    elif saved:
        at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(saved["saved_at"])))
        print(f"snapshot   {saved['bytes'] / 1e6:.1f} MB, saved {at} ({saved['reason']})")
    else:
        print("snapshot   none")
    last = warm.recorded(directory)
    if last is None:
        print("last up    none: `make up` applies everything")
    else:
        services = [root.id for root in all_roots() if root.service and root.exists()]
        changes = warm.fingerprint(services, LOCAL_VARIABLES).changes(last)
        print(
            "last up    "
            + (f"changed since: {warm.describe(changes)}" if changes else "nothing changed since")
        )
    return 0


# --- deploy / plan one service ------------------------------------------------------------


def backend_file(environment: str) -> Path:
    return BACKENDS / f"{environment}.s3.tfbackend"


def deploy_target(environment: str | None, local: bool) -> Target:
    """Where a deploy goes: :func:`resolve_target`, and on AWS a backend file that is filled in."""
    target = resolve_target(local=local, environment=environment)
    if target.local:
        if target.stack is None:
            raise StackError("a deploy goes to the recorded local stack or to AWS")
        return target
    environment = target.environment
    if not backend_file(environment).is_file():
        known = sorted(p.name.split(".")[0] for p in BACKENDS.glob("*.s3.tfbackend"))
        raise StackError(
            f"no backend configuration for environment {environment!r}: "
            f"{backend_file(environment)} does not exist "
            f"(environments with one: {', '.join(known) or 'none'})"
        )
    settings = [
        line
        for line in backend_file(environment).read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith(("#", "//"))
    ]
    placeholder = re.search(r"\b[A-Z][A-Z0-9]*_ID\b", "\n".join(settings))
    if placeholder:
        raise StackError(
            f"{backend_file(environment)} still holds the placeholder {placeholder[0]}: "
            "put your state bucket's real name there first"
        )
    return target


def describe_target(target: Target) -> str:
    if target.local:
        return f"the local stack at {target.endpoint}"
    return f"AWS, environment {target.environment!r} ({backend_file(target.environment)})"


def _runner_for(root: Root, target: Target) -> tuple[RootRunner, Job]:
    if target.stack is not None:
        directory = target.stack.directory
        env = terraform_settings(local_settings(os.environ, target.stack.endpoint))
        job = _local_job(root, env, target.stack, directory)
    else:
        if endpoint := os.environ.get("AWS_ENDPOINT_URL"):
            print(f"warning: AWS_ENDPOINT_URL={endpoint} is set in this shell")
        env = terraform_settings(os.environ)
        env["TF_VAR_environment"] = target.environment
        job = Job(
            root=root,
            env=env,
            data_dir=LOCAL_DIR / "aws" / target.environment / root.id,
            backend_config=(str(backend_file(target.environment)), f"key={root.state_key}"),
            log=LOCAL_DIR / "aws" / target.environment / f"{root.id}.log",
        )
    return RootRunner(root, job.env, job.data_dir, stream=True), job


def plan_or_deploy(service: str | None, environment: str | None, local: bool, apply: bool) -> int:
    verb = "deploy" if apply else "plan"
    if not service:
        raise StackError(
            f"which service? make {verb} SERVICE=<name>; the roots are: platform, "
            + ", ".join(package.service_names())
        )
    # The platform root (bus, buckets, SSM parameters) is applied the same way, once per
    # environment and before any service; it has no Lambda artifact.
    root = platform_root() if service == "platform" else service_root(service)
    if not root.exists():
        raise StackError(f"{root.directory} has no Terraform yet")
    target = deploy_target(environment, local)
    print(f"{verb} {service} to {describe_target(target)}")
    if root.service:
        artifact = package.build(service)
        print(f"artifact: {artifact.describe()}")
    runner, job = _runner_for(root, target)
    runner.init(job.backend_config)
    plans = (stack_dir() / "terraform" if target.local else job.data_dir) / "plans"
    plan_file = plans / f"{root.id}.tfplan"
    _, changes = runner.plan(plan_file)
    document = runner.show_plan(plan_file)
    changed = changed_addresses(document)
    (plans / f"{root.id}.plan.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    print(f"\n{len(changed)} resource(s) to change in {root.id}:")
    for address, actions in sorted(changed.items()):
        print(f"  {'/'.join(actions):<16} {address}")
    if apply and root.service:  # the deploy gate (tools/contracts.py, `mediactl can-deploy`)
        endpoint = target.stack.endpoint if target.stack else None
        refusals = contracts.gate([root.service], target.environment, endpoint)
        if refusals:
            raise StackError("can-deploy refused:\n" + "\n".join(f"  - {r}" for r in refusals))
    if apply and changes:
        if target.stack is not None:
            # The stack no longer is what the last `make up` built: the next one applies.
            warm.forget(target.stack.directory)
        runner.apply(plan_file)
        if target.stack is not None and root.service:
            _remove_stray_mappings(target.stack, [root.id])  # as `make up` does
    elif apply:
        print("nothing to apply")
    return 0


def destroy(service: str | None, environment: str | None, local: bool) -> int:
    """``terraform destroy`` of one service root on the local stack (``make destroy``): a team
    removing its service alone; the platform and the other roots are left as they are."""
    if not service or service == "platform":
        raise StackError(
            "which service? make destroy SERVICE=<name> (a service root; the platform goes "
            "with `make down`); the services are: " + ", ".join(package.service_names())
        )
    root = service_root(service)
    target = deploy_target(environment, local)
    if target.stack is None:
        raise StackError(
            "destroy acts on the local stack only (LOCAL=1, or `make up` running): on AWS, "
            "remove a service through its team's reviewed change, not from a laptop"
        )
    print(f"destroy {service} on {describe_target(target)}")
    runner, job = _runner_for(root, target)
    runner.init(job.backend_config)
    warm.forget(target.stack.directory)  # the stack no longer is what the last `up` built
    runner.destroy()
    # What the stack folder kept of the root (its initialisation, backend file, last plan) goes too.
    shutil.rmtree(job.data_dir, ignore_errors=True)
    plans = target.stack.directory / "terraform" / "plans"
    leftovers = [Path(path) for path in job.backend_config]
    leftovers += [plans / f"{root.id}.tfplan", plans / f"{root.id}.plan.json"]
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    print(f"{service} destroyed; the platform and the other roots are unchanged")
    return 0


# --- command line ------------------------------------------------------------------------


def live_overlays(repo: Path = REPO) -> list[str]:
    """``--live`` options for every package the zips carry from the source tree (what
    tools.package puts there): each service's package, ``media_shared``, the schemas in it."""
    overlays = [
        f"{repo / 'shared' / 'media_shared'}=media_shared",
        f"{repo / 'schemas'}=media_shared/schemas",
    ]
    for name in package.service_names(repo):
        source = package.get_service(name, repo).source
        overlays.append(f"{source}={source.name}")
    return overlays


def runtime(argv: Sequence[str]) -> int:
    """``make runtime``: ``python -m tools.runtime`` on the running local stack, its files in the
    stack's folder (logs/, runtime.json, http/), with live code unless ``--no-live``; the rest of
    ``argv`` goes to the runtime as it is."""
    directory = stack_dir()
    target = resolve_target(local=True)
    assert target.stack is not None
    from tools.runtime import main as runtime_main

    rest = [arg for arg in argv if arg != "--no-live"]
    live = [] if "--no-live" in argv else [f"--live={overlay}" for overlay in live_overlays()]
    return runtime_main(
        [
            *live,
            "--endpoint",
            target.stack.endpoint,
            "--region",
            target.stack.region,
            "--log-dir",
            str(directory / "logs"),
            "--state-file",
            str(directory / "runtime.json"),
            *rest,
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["runtime"]:  # everything after it is the runtime's own options
        try:
            return runtime(arguments[1:])
        except StackError as error:
            print(f"runtime: {error}", file=sys.stderr)
            return 1
    parser = argparse.ArgumentParser(
        prog="python -m tools.localstack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up_command = commands.add_parser(
        "up", help="start moto and apply every root to it (warm: nothing, if nothing changed)"
    )
    up_command.add_argument(
        "--apply", action="store_true", help="apply every root even when nothing changed"
    )
    commands.add_parser("stop", help="stop moto, keep its state for the next up")
    commands.add_parser("down", help="stop moto and remove the local state")
    commands.add_parser("status", help="what is recorded, running and saved")
    commands.add_parser("runtime", help="python -m tools.runtime on the local stack (make runtime)")
    for verb in ("deploy", "plan", "destroy"):
        sub = commands.add_parser(verb, help=f"{verb} one service root")
        sub.add_argument("service", nargs="?", help="service name, or platform")
        sub.add_argument("--env", default=None, help="AWS environment (default dev)")
        sub.add_argument("--local", action="store_true", help="the local stack (make up)")
    args = parser.parse_args(arguments)
    # Our lines and terraform's streamed output share the terminal: keep them in order.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    try:
        if args.command == "up":
            return up(apply=args.apply)
        if args.command == "stop":
            return stop()
        if args.command == "down":
            return down()
        if args.command == "status":
            return status()
        if args.command == "destroy":
            return destroy(args.service, args.env, args.local)
        return plan_or_deploy(args.service, args.env, args.local, apply=args.command == "deploy")
    except (StackError, package.PackagingError, contracts.ContractError) as error:
        print(f"{args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
