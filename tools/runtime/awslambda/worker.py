"""One Lambda execution environment: a warm process that imports a handler once, runs it per event.

Started by the local runtime with the function's Lambda interpreter (python3.12 for the
python3.12 runtime) in isolated mode, so nothing of the repository or the developer's virtualenv
leaks in: ``sys.path`` is the extracted artifact (``LAMBDA_TASK_ROOT``, like ``/var/task``), then
what the Lambda runtime itself provides (the interpreter's site-packages: boto3), then the stdlib.
This file therefore uses the standard library only.

Protocol: one JSON request per line on stdin (``{"request_id", "deadline_ms", "trace_id",
"event"}``); one JSON reply per line on the file descriptor given as the first argument. Whatever
the handler prints (Powertools' structured logs) goes to stdout/stderr, which the runtime keeps as
the function's log. The first reply is ``{"type": "ready"}`` (or ``"init_error"``) after the cold
start; then one ``{"type": "result"}`` per request.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """What the Lambda Python runtime passes as ``context``."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = str(request["invoked_function_arn"])
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.aws_request_id = str(request["request_id"])
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": traceback.format_exception(type(error), error, error.__traceback__),
    }


def _load_handler(task_root: str, handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        raise ValueError(f"Bad handler {handler!r}: expected <module>.<function>")
    module = importlib.import_module(module_name.replace("/", "."))
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"Handler {function_name!r} missing on module {module_name!r}")
    return function


def _max_memory_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> int:
    replies = os.fdopen(int(sys.argv[1]), "w", buffering=1, encoding="utf-8")
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)

    def reply(message: dict[str, Any]) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    started = time.perf_counter()
    try:
        handler = _load_handler(task_root, os.environ["_HANDLER"])
    except Exception as error:  # what Lambda reports as Runtime.ImportModuleError and friends
        kind = "Runtime.ImportModuleError" if isinstance(error, ImportError) else None
        reply({"type": "init_error", **_error(error, kind)})
        return 1
    reply({"type": "ready", "init_ms": round((time.perf_counter() - started) * 1000, 1)})

    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        os.environ["_X_AMZN_TRACE_ID"] = str(request.get("trace_id", ""))
        context = LambdaContext(request)
        began = time.perf_counter()
        try:
            result = handler(request["event"], context)
            payload = json.dumps(result)
        except Exception as error:
            outcome: dict[str, Any] = {"ok": False, **_error(error)}
        else:
            outcome = {"ok": True, "payload": payload}
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        outcome.update(
            type="result",
            request_id=context.aws_request_id,
            duration_ms=round((time.perf_counter() - began) * 1000, 1),
            max_memory_mb=_max_memory_mb(),
        )
        reply(outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
