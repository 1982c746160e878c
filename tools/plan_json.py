"""The plan of every Terraform root as JSON (``terraform show -json`` of a saved plan).

    python -m tools.plan_json [--out DIR] [--keep]

Checks that read a plan judge what a deploy *would* do, before anything exists: the document is
the one a reviewer approves. The plans are made against a throwaway moto server, with the same
configuration as the local stack (``tools.localstack``), in this order:

1. moto on loopback in a scratch stack directory (``tools.localstack.server``) and the state
   bucket;
2. every root initialised, in parallel (the provider comes from the shared plugin cache);
3. the platform planned from empty state: the plan of a first deploy, where everything is new;
4. of the platform, only the SSM parameters (and what their values are made of: the bus and the
   buckets) applied, with ``-target``: a service root reads those parameters and nothing else;
5. the service roots planned, in parallel, not applied: the plan of each service's first deploy.
   ``artifact_path`` is a stand-in zip (nothing in the plan but ``source_code_hash`` depends on
   the code), so no Lambda artifact has to be built;
6. moto stopped (unless ``--keep``) and the scratch directory left for inspection.

Each root's plan is written to ``<out>/<root>.plan.json``; ``--out`` defaults to
``.local/plan-json``. Terraform runs through tools.localstack.terraform.RootRunner
(python-terraform), one process per concurrent run, since python-terraform reads ``os.environ``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.localstack import driver, server
from tools.localstack.errors import StackError
from tools.localstack.record import LOCAL_DIR
from tools.localstack.terraform import (
    Root,
    RootRunner,
    all_roots,
    local_backend_config,
    local_settings,
    terraform_settings,
)

DEFAULT_OUT = LOCAL_DIR / "plan-json"
# What a service root reads of the platform; the rest of the platform is not applied.
PLATFORM_TARGETS = ("aws_ssm_parameter.this",)


@dataclass
class RootPlan:
    """One root's plan: its JSON document and what each step took (seconds)."""

    root: str
    document: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class PlanRun:
    plans: dict[str, RootPlan]
    #: Wall time from starting moto to the last plan shown.
    seconds: float
    #: (label, seconds since the start) for each stage.
    marks: list[tuple[str, float]]
    directory: Path
    endpoint: str


@dataclass(frozen=True)
class _Step:
    """What one worker process does with one root (picklable)."""

    root: Root
    env: Mapping[str, str]
    data_dir: Path
    backend: Path
    plan_file: Path | None = None


def _init(step: _Step) -> float:
    return RootRunner(step.root, step.env, step.data_dir).init([str(step.backend)]).seconds


def _plan(step: _Step) -> RootPlan:
    assert step.plan_file is not None
    runner = RootRunner(step.root, step.env, step.data_dir)
    run, _ = runner.plan(step.plan_file)
    started = time.monotonic()
    document = runner.show_plan(step.plan_file)
    return RootPlan(
        step.root.id, document, {"plan": run.seconds, "show": time.monotonic() - started}
    )


def _apply_parameters(step: _Step) -> float:
    """Apply only what a service root reads of the platform: its SSM parameters."""
    assert step.plan_file is not None
    # TF_CLI_ARGS_plan adds -target to this plan only (RootRunner passes variables as TF_VAR_*).
    targets = " ".join(f"-target={address}" for address in PLATFORM_TARGETS)
    runner = RootRunner(step.root, {**step.env, "TF_CLI_ARGS_plan": targets}, step.data_dir)
    started = time.monotonic()
    runner.plan(step.plan_file)
    runner.apply(step.plan_file)
    return time.monotonic() - started


def stand_in_artifact(path: Path) -> Path:
    """A small zip in place of a Lambda artifact: a plan needs only its hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        info = zipfile.ZipInfo("PLAN_ONLY.txt", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, "stand-in artifact for terraform plan; never deployed\n")
    return path


def plan_every_root(
    directory: Path, roots: Sequence[Root] | None = None, keep: bool = False
) -> PlanRun:
    """Plan every root against a moto server of its own in ``directory`` (see the module doc)."""
    started = time.monotonic()
    marks: list[tuple[str, float]] = []

    def mark(label: str) -> None:
        marks.append((label, time.monotonic() - started))

    roots = list(roots if roots is not None else [r for r in all_roots() if r.exists()])
    if not roots or roots[0].id != "platform":
        raise StackError("the platform root comes first: the service roots read its parameters")
    platform, services = roots[0], roots[1:]
    moto, _ = server.ensure_running(directory)
    try:
        driver.ensure_state_bucket(moto.endpoint)
        mark("moto up")
        env = terraform_settings(local_settings(os.environ, moto.endpoint))
        env["TF_VAR_artifact_path"] = str(stand_in_artifact(directory / "stand-in.zip"))
        terraform = directory / "terraform"

        def step(root: Root, plan_name: str | None = None) -> _Step:
            return _Step(
                root=root,
                env=env,
                data_dir=terraform / "data" / root.id,
                backend=local_backend_config(moto.endpoint, root, terraform / "backends"),
                plan_file=terraform / "plans" / f"{plan_name}.tfplan" if plan_name else None,
            )

        plans: dict[str, RootPlan] = {}
        with ProcessPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
            # The platform's init, plan and targeted apply are the critical path; the service
            # roots are initialised meanwhile, on the other worker(s). The platform's init goes
            # first, alone: on a fresh checkout it fills the shared plugin cache, which concurrent
            # inits must not race to fill.
            inits = {platform.id: pool.submit(_init, step(platform))}
            inits[platform.id].result()
            inits.update({root.id: pool.submit(_init, step(root)) for root in services})
            plans[platform.id] = pool.submit(_plan, step(platform, platform.id)).result()
            mark("platform planned")
            parameters = pool.submit(_apply_parameters, step(platform, "platform-parameters"))
            plans[platform.id].seconds["apply parameters"] = parameters.result()
            mark("platform parameters applied")
            futures = {}
            for root in services:
                inits[root.id].result()
                futures[root.id] = pool.submit(_plan, step(root, root.id))
            plans.update({root_id: future.result() for root_id, future in futures.items()})
            mark("services planned")
        for root_id, plan in plans.items():
            plan.seconds["init"] = inits[root_id].result()
        return PlanRun(plans, time.monotonic() - started, marks, directory, moto.endpoint)
    finally:
        if not keep:
            server.stop(moto, save=False)


def write_plans(run: PlanRun, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for root_id, plan in run.plans.items():
        path = out / f"{root_id}.plan.json"
        path.write_text(json.dumps(plan.document, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written


def read_plans(out: Path) -> dict[str, dict[str, Any]]:
    """Root id -> plan document, from a folder ``write_plans`` filled."""
    return {
        path.name.removesuffix(".plan.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(out.glob("*.plan.json"))
    }


def summary(run: PlanRun) -> str:
    lines = [f"plans of {len(run.plans)} roots in {run.seconds:.1f} s (wall)"]
    lines.append(f"  {'root':<20}{'init':>8}{'plan':>8}{'show':>8}  changes")
    for root_id, plan in run.plans.items():
        changes = sum(
            1
            for change in plan.document.get("resource_changes", [])
            if change.get("change", {}).get("actions") not in (["no-op"], ["read"])
        )
        seconds = plan.seconds
        lines.append(
            f"  {root_id:<20}{seconds.get('init', 0):>7.1f}s{seconds.get('plan', 0):>7.1f}s"
            f"{seconds.get('show', 0):>7.1f}s  {changes}"
        )
    if "apply parameters" in run.plans.get("platform", RootPlan("", {})).seconds:
        applied = run.plans["platform"].seconds["apply parameters"]
        lines.append(f"  platform parameters applied (-target) in {applied:.1f} s")
    lines.append("  timeline: " + ", ".join(f"{label} {at:.1f} s" for label, at in run.marks))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.plan_json", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument("--keep", action="store_true", help="leave the moto server running")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="media-plan-json-"))
    try:
        run = plan_every_root(scratch, keep=args.keep)
    except StackError as error:
        print(f"plan_json: {error}\n(terraform output in {scratch})", file=sys.stderr)
        return 1
    for path in write_plans(run, args.out):
        print(path)
    print(summary(run))
    if args.keep:
        print(f"moto left running at {run.endpoint}; its stack directory is {scratch}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
