"""Section 3: each service's cold start against the floor, and its zipped artifact's size.

What runs is what Lambda runs: the service's zip, built by ``tools.package`` (into
``build/bench/lambda``, the same deterministic build as ``make package``), extracted, on the Lambda
runtime's interpreter (python3.12 in the local runtime's ``.local/lambda-venv``: boto3 only), with
the function's Lambda environment (``tools.runtime.awslambda.lambda_environment``: the variables the
service's Terraform sets, and Lambda's own). Tracing is Active as deployed, so Powertools' Tracer
loads the X-Ray SDK.

AWS behind it is a moto server on loopback (``tools.localstack.moto_server``, started here and
stopped at the end) holding what the first invocation touches: the bus, each service's DLQ,
the buckets (uploads versioned), the index table, Powertools' idempotency table, and the image
(a 320x240 camera JPEG) each event refers to.

Per service, alternately, ``reps`` fresh interpreters of each kind (``bench/coldchild.py``):

``handler``  import ``<pkg>.handler`` and invoke ``lambda_handler`` once on a minimal valid SQS
             batch of one record (ingest: an S3 "Object Created"; the others: AssetIngested).
``floor``    ``import boto3``, create the clients the service's loaded code creates
             (``boto3.client("...")`` calls, found in its source), import the Powertools modules
             that code imports (and the X-Ray SDK, which Tracer loads with tracing on).

The figure is the median wall time inside the interpreter, from the same starting point. A
service over 1.2x is profiled with ``python -X importtime``: the modules it loads that the floor
does not, by package, with their own import time.
"""

from __future__ import annotations

import ast
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.machine import BUILD, REPO, run_child
from bench.report import Row

ARTIFACTS = BUILD / "lambda"
CODE = BUILD / "code"
CHILD = Path(__file__).resolve().parent / "coldchild.py"
REGION = "us-east-1"
SERVICES = ("ingest", "thumbnailer", "metadata-extractor", "indexer")
MEMORY = {"ingest": 1024, "thumbnailer": 1536, "metadata-extractor": 512, "indexer": 256}
LAMBDA_ZIP_LIMIT_MIB = 50.0
GOAL = 1.2

BUS = "media-bench-bus"
UPLOADS, ORIGINALS, DERIVED = "media-bench-uploads", "media-bench-originals", "media-bench-derived"
INDEX_TABLE = "media-bench-index"


def package_name(service: str) -> str:
    return service.replace("-", "_")


# --------------------------------------------------------------------------------------------
# The account behind the functions
# --------------------------------------------------------------------------------------------


@contextmanager
def moto_server(directory: Path) -> Iterator[str]:
    """A moto server of our own on loopback; its endpoint. Stopped (by its pid) on the way out."""
    from tools.localstack import start_server, stop_server

    stack, _ = start_server(directory, restore=False)
    try:
        yield stack.endpoint
    finally:
        stop_server(stack, save=False)


@dataclass
class Account:
    endpoint: str
    dlqs: dict[str, str]
    idempotency_tables: dict[str, str]

    def clients(self) -> Any:
        import boto3

        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        return {
            name: session.client(name, endpoint_url=self.endpoint)
            for name in ("s3", "sqs", "events", "dynamodb")
        }


def prepare_account(endpoint: str) -> Account:
    account = Account(endpoint, {}, {})
    c = account.clients()
    c["events"].create_event_bus(Name=BUS)
    for bucket in (UPLOADS, ORIGINALS, DERIVED):
        c["s3"].create_bucket(Bucket=bucket)
    c["s3"].put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
    c["dynamodb"].create_table(
        TableName=INDEX_TABLE,
        KeySchema=[{"AttributeName": "asset_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "asset_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for service in SERVICES:
        account.dlqs[service] = c["sqs"].create_queue(QueueName=f"media-bench-{service}-dlq")[
            "QueueUrl"
        ]
        table = f"media-bench-{service}-idempotency"
        c["dynamodb"].create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        account.idempotency_tables[service] = table
    return account


def _image() -> bytes:
    from tests.support import images

    return images.jpeg(320, 240, seed=5, exif=images.camera_exif())


def first_event(account: Account, service: str, run: int) -> dict[str, Any]:
    """A minimal valid SQS batch for ``service``, about an object that exists (new per run)."""
    from media_shared.ids import asset_id
    from tests.support import events, s3events

    c = account.clients()
    data = _image()
    key = f"incoming/cold-{service}-{run}.jpg"
    put = c["s3"].put_object(Bucket=UPLOADS, Key=key, Body=data, ContentType="image/jpeg")
    version = put.get("VersionId")
    asset = asset_id(UPLOADS, key, version)
    if service == "ingest":
        body = s3events.object_created(UPLOADS, key, size=len(data), version_id=version)
    else:
        original = f"originals/{asset}"
        c["s3"].put_object(Bucket=ORIGINALS, Key=original, Body=data)
        body = events.example("AssetIngested")
        body["detail"]["metadata"]["correlation_id"] = asset
        body["detail"]["data"].update(
            {
                "asset_id": asset,
                "upload": {"bucket": UPLOADS, "key": key, "version_id": version},
                "original": {"bucket": ORIGINALS, "key": original, "version_id": None},
                "filename": key.rsplit("/", 1)[-1],
                "size_bytes": len(data),
                "content_type": "image/jpeg",
            }
        )
    return events.sqs_batch(
        body, queue_arn=f"arn:aws:sqs:{REGION}:123456789012:media-bench-{service}"
    )


def function_env(account: Account, service: str, task_root: Path) -> dict[str, str]:
    from tools.runtime.awslambda import Function, lambda_environment

    name = f"media-bench-{service}"
    own = {
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "MediaPipeline",
        "EVENT_BUS_NAME": BUS,
        "DLQ_URL": account.dlqs[service],
        "IDEMPOTENCY_TABLE": account.idempotency_tables[service],
        "UPLOADS_BUCKET": UPLOADS,
        "ORIGINALS_BUCKET": ORIGINALS,
        "DERIVED_BUCKET": DERIVED,
        "INDEX_TABLE": INDEX_TABLE,
    }
    function = Function(
        name=name,
        arn=f"arn:aws:lambda:{REGION}:123456789012:function:{name}",
        runtime="python3.12",
        handler=f"{package_name(service)}.handler.lambda_handler",
        timeout=60,
        memory_size=MEMORY[service],
        code_sha256="",
        environment=own,
    )
    env = lambda_environment(
        function, task_root=task_root, endpoint=account.endpoint, region=REGION
    )
    env["_X_AMZN_TRACE_ID"] = (
        "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0"
    )
    return env


# --------------------------------------------------------------------------------------------
# What the floor imports: read from the code the handler really loaded
# --------------------------------------------------------------------------------------------


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def floor_spec(task_root: Path, modules: list[str]) -> dict[str, Any]:
    """The boto3 clients and Powertools imports of ``modules`` (the project's, as loaded)."""
    clients: set[str] = set()
    powertools: set[str] = set()
    names: set[str] = set()
    for module in modules:
        base = task_root / Path(*module.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if not path.is_file():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {
            id(child)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and _type_checking(node)
            for child in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "aws_lambda_powertools"
            ):
                powertools.add(str(node.module))
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                powertools.update(
                    a.name for a in node.names if a.name.startswith("aws_lambda_powertools")
                )
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "client"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "boto3"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                clients.add(str(node.args[0].value))
    imports = sorted(powertools)
    if "Tracer" in names:  # with tracing on, Tracer loads the X-Ray SDK when it is created
        imports.append("aws_xray_sdk.core")
    return {"clients": sorted(clients), "powertools": imports}


# --------------------------------------------------------------------------------------------
# Running and profiling
# --------------------------------------------------------------------------------------------


def _cold(
    python: Path,
    mode: str,
    spec: dict[str, Any],
    env: dict[str, str],
    *,
    importtime: bool = False,
    bytecode: bool = False,
) -> tuple[dict[str, Any], str]:
    """One fresh interpreter; ``bytecode`` lets it write __pycache__ (else -B: read only)."""
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as folder:
        spec_path, out_path = Path(folder) / "spec.json", Path(folder) / "out.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        flags = ["-X", "importtime"] if importtime else []
        if not bytecode:
            flags.append("-B")
        done = run_child(
            [str(python), "-I", *flags, str(CHILD), mode, str(spec_path), str(out_path)],
            env=env,
            cwd=Path(env["LAMBDA_TASK_ROOT"]),
            timeout=120,
        )
        if not out_path.is_file():
            raise RuntimeError(f"cold {mode} of {env['_HANDLER']} failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
        if not result.get("ok"):
            raise RuntimeError(
                f"cold {mode} of {env['_HANDLER']} did not succeed: {result.get('response')}\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
        return result, done.stderr


def _importtimes(stderr: str) -> dict[str, int]:
    """module -> its own import time in microseconds, from ``-X importtime`` output."""
    own: dict[str, int] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) == 3:
            own[parts[2].strip()] = int(parts[0])
    return own


def obstacle(python: Path, event: dict[str, Any], spec: dict[str, Any], env: dict[str, str]) -> str:
    """What the handler imports beyond the floor, by top-level package, heaviest first."""
    result, handler_err = _cold(python, "handler", {"event": event}, env, importtime=True)
    _, floor_err = _cold(python, "floor", spec, env, importtime=True)
    handler, floor = _importtimes(handler_err), _importtimes(floor_err)
    extra: dict[str, int] = {}
    for module, micros in handler.items():
        if module not in floor:
            top = module.split(".")[0]
            extra[top] = extra.get(top, 0) + micros
    heaviest = sorted(extra.items(), key=lambda item: -item[1])[:6]
    handler_module = env["_HANDLER"].rpartition(".")[0]
    profiled, _ = _cold(python, "profile", {"event": event}, env)
    parts = ", ".join(f"{label} {ms:.0f}" for label, ms in profiled["profile_ms"].items())
    return (
        f"profiled once with -X importtime (total {result['total_ms']:.0f} ms: import "
        f"{result['import_ms']:.0f}, first invocation {result['invoke_ms']:.0f}): modules the "
        f"floor does not load cost {sum(extra.values()) / 1000:.0f} ms of own import time ("
        + ", ".join(f"{name} {micros / 1000:.0f}" for name, micros in heaviest)
        + f" ms); the body of {handler_module} (clients, Powertools objects, schema catalog) "
        f"{handler.get(handler_module, 0) / 1000:.0f} ms; under cProfile (total "
        f"{profiled['total_ms']:.0f} ms, every part inflated alike): {parts} ms"
    )


def _lambda_python() -> Path | None:
    from tools.runtime.awslambda import InterpreterError, lambda_venv

    try:
        return lambda_venv("python3.12")
    except InterpreterError:
        return None


@dataclass
class Phase:
    handler_ms: list[float]
    floor_ms: list[float]
    handler: dict[str, Any]
    floor: dict[str, Any]

    @property
    def ratio(self) -> float:
        return statistics.median(self.handler_ms) / statistics.median(self.floor_ms)


def _phase(
    ctx: Context,
    python: Path,
    account: Account,
    service: str,
    env: dict[str, str],
    spec: dict[str, Any],
    first: int,
) -> tuple[Phase, dict[str, Any]]:
    """``reps`` alternating handler and floor cold starts; the floor spec found on the way."""
    phase = Phase([], [], {}, {})
    packages = [package_name(service), "media_shared"]
    for number in range(first, first + max(1, ctx.reps)):
        event = first_event(account, service, number)
        phase.handler, _ = _cold(python, "handler", {"event": event, "packages": packages}, env)
        phase.handler_ms.append(phase.handler["total_ms"])
        if not spec:
            spec = floor_spec(Path(env["LAMBDA_TASK_ROOT"]), phase.handler["project_modules"])
        phase.floor, _ = _cold(python, "floor", spec, env)
        phase.floor_ms.append(phase.floor["total_ms"])
    return phase, spec


def _service(ctx: Context, python: Path, account: Account, service: str) -> list[Row]:
    task_root = _extract(service)
    env = function_env(account, service, task_root)
    # As shipped: the zip carries no bytecode and /var/task is read-only, so every cold start
    # compiles what it imports from the zip (-B: nothing is written, every run is as the first).
    shipped, spec = _phase(ctx, python, account, service, env, {}, 0)
    found = ""
    if shipped.ratio > GOAL:
        found = obstacle(python, first_event(account, service, 2000), spec, env)
    # With bytecode: one run that may write __pycache__ into the task root, then the same again.
    _cold(python, "handler", {"event": first_event(account, service, 500)}, env, bytecode=True)
    _cold(python, "floor", spec, env, bytecode=True)
    compiled, _ = _phase(ctx, python, account, service, env, spec, 1000)
    h, f = shipped.handler, shipped.floor
    ctx.say(
        f"  cold {service:<19} handler {statistics.median(shipped.handler_ms):6.0f} ms "
        f"(import {h['import_ms']:.0f} + first call {h['invoke_ms']:.0f})  floor "
        f"{statistics.median(shipped.floor_ms):6.0f} ms  ratio {shipped.ratio:.2f}; "
        f"with bytecode {statistics.median(compiled.handler_ms):.0f} vs "
        f"{statistics.median(compiled.floor_ms):.0f} ms, ratio {compiled.ratio:.2f}"
    )
    ctx.notes.append(
        f"cold {service}: handler = import {h['import_ms']:.0f} ms + first invocation "
        f"{h['invoke_ms']:.0f} ms (last run, as shipped); floor = boto3 {f['boto3_ms']:.0f} + "
        f"clients ({', '.join(spec['clients'])}) {f['clients_ms']:.0f} + "
        f"{len(spec['powertools'])} Powertools/X-Ray imports {f['powertools_ms']:.0f} ms"
    )
    if found:
        ctx.notes.append(f"cold {service}: over {GOAL}x as shipped; {found}")
    return [
        Row(
            f"cold/{service} cold start vs floor",
            "ms",
            statistics.median(shipped.handler_ms),
            statistics.median(shipped.floor_ms),
            "boto3 + clients + Powertools imports",
        ),
        Row(
            f"cold/{service} cold start with bytecode vs floor",
            "ms",
            statistics.median(compiled.handler_ms),
            statistics.median(compiled.floor_ms),
            "the same floor, with bytecode",
        ),
    ]


def _extract(service: str) -> Path:
    import shutil
    import zipfile

    target = CODE / service
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(ARTIFACTS / f"{service}.zip") as archive:
        archive.extractall(target)
    return target


def run(ctx: Context) -> list[Row]:
    ctx.say("  building the Lambda zips (python -m tools.package --output-dir build/bench/lambda)")
    subprocess.run(
        [sys.executable, "-m", "tools.package", "--output-dir", str(ARTIFACTS)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    rows: list[Row] = []
    for service in SERVICES:
        size = (ARTIFACTS / f"{service}.zip").stat().st_size / 1024 / 1024
        rows.append(
            Row(
                f"cold/{service} zip size",
                "MiB",
                size,
                LAMBDA_ZIP_LIMIT_MIB,
                "Lambda zip upload limit",
            )
        )
    python = _lambda_python()
    if python is None:
        for service in SERVICES:
            rows.insert(
                0,
                Row(
                    f"cold/{service} cold start vs floor",
                    "ms",
                    None,
                    None,
                    "no python3.12 interpreter (LAMBDA_PYTHON): not measured",
                ),
            )
        return rows
    ctx.machine["lambda_python"] = str(python)
    timed: list[Row] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-moto-") as folder,
        moto_server(Path(folder)) as endpoint,
    ):
        account = prepare_account(endpoint)
        for service in SERVICES:
            timed += _service(ctx, python, account, service)
    return timed + rows
