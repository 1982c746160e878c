"""One cold start, in a fresh Lambda interpreter: the handler's, or the floor's.

Run by ``bench.coldstart`` as ``<lambda python> -I coldchild.py MODE SPEC OUT`` with the function's
Lambda environment (``LAMBDA_TASK_ROOT`` is the extracted artifact, put first on ``sys.path`` as
Lambda does). Standard library only: nothing but the artifact and the runtime's boto3 may load.

``handler``  import ``$_HANDLER``'s module, then invoke it once on the event in SPEC.
``floor``    ``import boto3``, create the clients the service creates, import the Powertools
             modules its code imports. Nothing else.

Both clocks start at the same point, after the interpreter and this file's standard-library
imports; the result (JSON) goes to OUT.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402


class LambdaContext:
    """What the Lambda Python runtime passes as ``context`` (as the local runtime's worker)."""

    def __init__(self, request_id: str) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{self.function_name}"
        )
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(time.time() * 1000) + 60_000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def handler(spec: dict[str, Any]) -> dict[str, Any]:
    began = time.perf_counter()
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    __import__(module_name)  # the import statement's path (what -X importtime reports)
    function = getattr(sys.modules[module_name], function_name)
    imported = time.perf_counter()
    response = function(spec["event"], LambdaContext("bench-cold-start"))
    finished = time.perf_counter()
    packages = set(spec.get("packages", []))
    return {
        "project_modules": [m for m in sys.modules if m.split(".")[0] in packages],
        "ok": not (response or {}).get("batchItemFailures"),
        "response": response,
        "import_ms": (imported - began) * 1000,
        "invoke_ms": (finished - imported) * 1000,
        "total_ms": (finished - began) * 1000,
        "since_start_ms": (finished - STARTED) * 1000,
    }


# (path suffix, function name, label): the parts of a cold start worth naming in a profile.
PROFILED = (
    ("/media_shared/service.py", "from_settings", "Service.from_settings (all of it)"),
    ("/media_shared/schemas.py", "__init__", "SchemaCatalog (load + compile the schemas)"),
    ("/aws_lambda_powertools/tracing/tracer.py", "__init__", "Powertools Tracer()"),
    ("/aws_lambda_powertools/logging/logger.py", "__init__", "Powertools Logger()"),
    ("/aws_lambda_powertools/metrics/metrics.py", "__init__", "Powertools Metrics()"),
    ("/boto3/__init__.py", "client", "boto3.client() calls"),
    ("/media_shared/service.py", "lambda_handler", "the first invocation"),
)


def profile(spec: dict[str, Any]) -> dict[str, Any]:
    """``handler`` under cProfile: cumulative times of the PROFILED callables (inflated alike)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    result = handler(spec)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    parts: dict[str, float] = {}
    for (path, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        for suffix, function, label in PROFILED:
            if path.endswith(suffix) and name == function:
                parts[label] = parts.get(label, 0.0) + cumulative * 1000
    result["profile_ms"] = parts
    return result


def floor(spec: dict[str, Any]) -> dict[str, Any]:
    began = time.perf_counter()
    import boto3

    boto3_done = time.perf_counter()
    clients = [boto3.client(name) for name in spec["clients"]]
    clients_done = time.perf_counter()
    for module in spec["powertools"]:
        __import__(module)
    finished = time.perf_counter()
    return {
        "ok": len(clients) == len(spec["clients"]),
        "boto3_ms": (boto3_done - began) * 1000,
        "clients_ms": (clients_done - boto3_done) * 1000,
        "powertools_ms": (finished - clients_done) * 1000,
        "total_ms": (finished - began) * 1000,
        "since_start_ms": (finished - STARTED) * 1000,
    }


def main() -> int:
    mode, spec_path, out_path = sys.argv[1:4]
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    modes = {"handler": handler, "floor": floor, "profile": profile}
    result = modes[mode](spec)
    result["modules"] = len(sys.modules)
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
