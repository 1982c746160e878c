"""Faults and duplicate deliveries for the local stack: what AWS does now and then, on demand.

Nothing here is part of what is deployed; it is test and soak machinery for the local stack
(``tests/reliability``, ``tools/soak.py``), and it needs nothing of the rest of the runtime.
What is public is below; the modules behind it are this package's own
(``tests/unit/test_runtime_layout.py``):

* :class:`FaultProxy` (``proxy.py``): a loopback proxy between the workers and moto, one port per
  function (``RuntimeOptions.function_endpoint``), that fails what its rules say.
* :class:`Rule` (``rules.py``): which calls fail, how (:data:`ERROR_KINDS`), how often.
* :class:`Call`, :func:`service_of`, :func:`operation_of`, :func:`s3_operation`,
  :func:`error_for`, :func:`error_response` (``protocol.py``): what a request is and how AWS
  answers one that fails.
* :class:`DuplicateDeliveries`, :func:`sampled` (``duplicates.py``): EventBridge delivering
  every event (or a share of them) more than once, by cloning the rules that feed the queues.
"""

from tools.runtime.faults.duplicates import (
    DUPLICATE_MARK,
    ClonedRule,
    DuplicateDeliveries,
    sampled,
)
from tools.runtime.faults.protocol import (
    ERROR_KINDS,
    Call,
    error_for,
    error_response,
    operation_of,
    s3_operation,
    service_of,
)
from tools.runtime.faults.proxy import FaultProxy
from tools.runtime.faults.rules import Rule

__all__ = [
    "DUPLICATE_MARK",
    "ERROR_KINDS",
    "Call",
    "ClonedRule",
    "DuplicateDeliveries",
    "FaultProxy",
    "Rule",
    "error_for",
    "error_response",
    "operation_of",
    "s3_operation",
    "sampled",
    "service_of",
]
