"""The local stack: one owner for its record, its folder, its server and everything built on it.

A local stack is a folder (``$MEDIA_STACK_DIR``, default ``.local/``) and the moto server
recorded in its ``moto.json``, with every Terraform root applied to that server. This package is
the only code that reads or writes that record; every command (``make up``/``stop``/``down``/
``status``/``deploy``, ``mediactl``, the demo, the runtime's launcher), the soak, the benchmarks
and the tests go through it:

* :func:`stack_dir`, :func:`read_stack`, :class:`Stack`: where the stack lives, what is recorded,
  whether it runs, clients, Terraform state and SSM parameters on it;
* :func:`start_server`, :func:`ensure_running`, :func:`stop_server`: its moto server
  (``tools.localstack.moto_server``), started warm from its snapshot when there is one;
* :func:`up`, :func:`stop`, :func:`down`, :func:`status`, :func:`plan_or_deploy`: ``make up`` and
  friends (``python -m tools.localstack``);
* :func:`resolve_target`, :class:`Target`: where a command acts, the local stack or AWS;
* :func:`start_pipeline`, :class:`LocalPipeline`: a stack with the runtime running on it (the
  test session's fixture, the soak's stack).

Errors are :class:`StackError`, whose message says what to do.
"""

from __future__ import annotations

from tools.localstack.driver import down, plan_or_deploy, status, stop, up
from tools.localstack.errors import StackError
from tools.localstack.pipeline import LocalPipeline, start_pipeline
from tools.localstack.record import (
    DEFAULT_REGION,
    LOCAL_DIR,
    STATE_BUCKET,
    Stack,
    answers,
    is_patched,
    read_stack,
    stack_dir,
    stack_env,
)
from tools.localstack.server import ensure_running
from tools.localstack.server import start as start_server
from tools.localstack.server import stop as stop_server
from tools.localstack.target import Target, resolve_target, stack_target

__all__ = [
    "DEFAULT_REGION",
    "LOCAL_DIR",
    "STATE_BUCKET",
    "LocalPipeline",
    "Stack",
    "StackError",
    "Target",
    "answers",
    "down",
    "ensure_running",
    "is_patched",
    "plan_or_deploy",
    "read_stack",
    "resolve_target",
    "stack_dir",
    "stack_env",
    "stack_target",
    "start_pipeline",
    "start_server",
    "status",
    "stop",
    "stop_server",
    "up",
]
