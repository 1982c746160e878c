"""Lambda, locally: the deployed functions run from their zips on warm python3.12 workers.

What is public here is what the rest of the runtime, the local stack, the soak, the bench and the
tests use; the modules behind it are this package's own (``tests/unit/test_runtime_layout.py``):

* :class:`LocalRuntime` (``service.py``): every SQS event source mapping of an endpoint polled
  the way the Lambda service polls it, one pool of warm workers per function, live code;
  :meth:`LocalRuntime.invoke` runs a function on that same pool for any other event source.
  :func:`run` is its loop, :class:`RuntimeOptions` its configuration.
* :class:`MappingPoller`, :class:`BatchOutcome`, :func:`failed_message_ids` (``poller.py``): one
  mapping's batches, partial failures and deletes.
* :class:`FunctionPool`, :class:`Invocation`, :func:`lambda_environment` (``invoker.py``): the
  execution environments (``worker.py`` is the process each one runs).
* :class:`Function`, :class:`Mapping`, :func:`read_function` (``discovery.py``): what was
  deployed, read back through the Lambda and SQS APIs.
* :class:`Overlay`, :class:`LiveCode` (``live.py``): source folders laid over the deployed zip.
* :func:`find_python`, :func:`lambda_venv` (``interpreter.py``): the Lambda runtime's Python.
* :func:`code_sha256`, :data:`DEFAULT_ARTIFACT_DIRS` (``artifacts.py``): which zip was deployed.
"""

from tools.runtime.awslambda.artifacts import (
    DEFAULT_ARTIFACT_DIRS,
    DEFAULT_CODE_ROOT,
    ArtifactError,
    code_sha256,
)
from tools.runtime.awslambda.discovery import (
    Function,
    Mapping,
    Queue,
    queue_url_from_arn,
    read_function,
)
from tools.runtime.awslambda.interpreter import (
    DEFAULT_VENV_ROOT,
    InterpreterError,
    find_python,
    lambda_venv,
)
from tools.runtime.awslambda.invoker import (
    LOCAL_CREDENTIALS,
    FunctionLog,
    FunctionPool,
    Invocation,
    lambda_environment,
)
from tools.runtime.awslambda.live import LiveCode, Overlay
from tools.runtime.awslambda.poller import (
    BatchOutcome,
    MappingPoller,
    failed_message_ids,
    sqs_record,
)
from tools.runtime.awslambda.service import (
    DEFAULT_CONCURRENCY,
    LocalRuntime,
    RuntimeOptions,
    RuntimeSetupError,
    run,
)

__all__ = [
    "DEFAULT_ARTIFACT_DIRS",
    "DEFAULT_CODE_ROOT",
    "DEFAULT_CONCURRENCY",
    "DEFAULT_VENV_ROOT",
    "LOCAL_CREDENTIALS",
    "ArtifactError",
    "BatchOutcome",
    "Function",
    "FunctionLog",
    "FunctionPool",
    "InterpreterError",
    "Invocation",
    "LiveCode",
    "LocalRuntime",
    "Mapping",
    "MappingPoller",
    "Overlay",
    "Queue",
    "RuntimeOptions",
    "RuntimeSetupError",
    "code_sha256",
    "failed_message_ids",
    "find_python",
    "lambda_environment",
    "lambda_venv",
    "queue_url_from_arn",
    "read_function",
    "run",
    "sqs_record",
]
