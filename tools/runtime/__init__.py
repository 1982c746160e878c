"""The local runtime: runs the deployed functions against their queues the way Lambda does.

``python -m tools.runtime --endpoint http://127.0.0.1:PORT`` (or ``make runtime``). See
``runtime.py`` for the whole, ``poller.py`` for the event source mapping semantics, ``invoker.py``
and ``worker.py`` for the execution environments.
"""

from tools.runtime.runtime import LocalRuntime, RuntimeOptions, RuntimeSetupError, run

__all__ = ["LocalRuntime", "RuntimeOptions", "RuntimeSetupError", "run"]
