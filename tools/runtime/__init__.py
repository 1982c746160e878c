"""The local runtime: the deployed functions run the way Lambda and API Gateway run them.

``python -m tools.runtime --endpoint http://127.0.0.1:PORT`` (or ``make runtime``); ``main`` and
``parse_args`` are that command line (``cli.py``). Four parts, each a package with its own
public API and importing nothing else from ``tools/`` (``tests/unit/test_runtime_layout.py``;
README.md describes them):

* ``tools.runtime.awslambda``: the Lambda emulation: event source mappings, warm workers, live
  code. Its :class:`LocalRuntime`, :class:`RuntimeOptions`, :class:`RuntimeSetupError` and
  :func:`run` are re-exported here.
* ``tools.runtime.apigateway``: the API Gateway emulation (HTTP APIs, JWT authorizer, CORS, the
  local issuer, the web page), invoking through the Lambda emulation's pools.
* ``tools.runtime.faults``: fault injection and duplicate deliveries (tests and the soak).
* ``tools.runtime.moto_patches``: the corrections the local moto server installs.
"""

from tools.runtime.awslambda import LocalRuntime, RuntimeOptions, RuntimeSetupError, run
from tools.runtime.cli import main, parse_args

__all__ = ["LocalRuntime", "RuntimeOptions", "RuntimeSetupError", "main", "parse_args", "run"]
