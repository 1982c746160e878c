"""How ``make slow`` shares its tests between pytest-xdist workers: by module, a stack's together.

``make slow`` runs ``pytest -n $(SLOW_WORKERS) --dist loadscope``; the root conftest makes
:class:`StackScheduling` that run's scheduler. Each module is a unit of work (its module-scoped
fixtures, such as the least-privilege plans, are built once), except the modules whose tests use
the session's local stack (``pipeline``, tests/conftest.py, per worker process):

* on two workers they form one unit, ``local-stack``, which one worker runs in collection order
  on the run's one stack while the other worker takes every other module;
* on three workers or more (the default, on this machine's two cores: the stacks' tests mostly
  wait), the deploys (:data:`STACK_SCOPES`) are a unit of their own, on a second stack brought
  up by the worker that takes them: they spend most of their time in the AWS provider's waits,
  beside the rest instead of after it.

The stacks' units are queued first (they are the longest). xdist's own ``--dist loadgroup`` (the
``xdist_group`` marker) cannot do this here: pytest-xdist 3.8 marks a group by rewriting
``item._nodeid``, which pytest 9 no longer reads, so every test stays in a group of its own. The
workers send only node ids to the scheduler, so the stack's modules are named here;
tests/unit/test_tiers.py checks the list against what the tests use.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from xdist.scheduler import LoadScopeScheduling

__all__ = [
    "SEPARATE_STACKS_FROM",
    "STACK_FIXTURES",
    "STACK_MODULES",
    "STACK_SCOPE",
    "STACK_SCOPES",
    "StackScheduling",
    "StacksFirst",
    "scope_of",
]

#: The fixtures that reach the session's stack (``deployment`` asks for ``pipeline`` at run time).
STACK_FIXTURES = frozenset({"pipeline", "deployment", "local_stack"})

#: The units of work of the tests on a stack when each gets a stack of its own (three workers or
#: more), each with its modules (all of whose tests use the stack), in the order they are queued.
STACK_SCOPES: dict[str, frozenset[str]] = {
    # a new service's root deployed, the thumbnailer's root applied again: 2.5 min, mostly waits
    "local-stack-deploys": frozenset(
        {
            "tests/infra/test_scaffold_deploys.py",
            "tests/infra/test_topology.py",
        }
    ),
    "local-stack": frozenset(
        {
            "tests/browser/test_deployed_apis.py",
            "tests/browser/test_gallery_page.py",
            "tests/browser/test_owners.py",
            "tests/e2e/test_deployed_mode.py",
            "tests/e2e/test_pipeline.py",
            "tests/e2e/test_read_api.py",
            "tests/e2e/test_warm_start.py",
            "tests/infra/test_deploy_gate.py",
            "tests/infra/test_reconciler_stack.py",
            "tests/reliability/test_concurrency.py",
            "tests/reliability/test_disorder.py",
            "tests/reliability/test_duplicates.py",
            "tests/reliability/test_faults.py",
            "tests/reliability/test_hostile_files.py",
            "tests/reliability/test_poison.py",
            "tests/reliability/test_reconcile.py",
            "tests/reliability/test_soak.py",
        }
    ),
}

#: The one unit of work of every test on the stack, on fewer than three workers.
STACK_SCOPE = "local-stack"

#: Every module whose tests use a session's stack.
STACK_MODULES = frozenset().union(*STACK_SCOPES.values())

#: The fewest workers on which each of STACK_SCOPES gets a stack of its own (one more worker
#: takes the modules that need no stack).
SEPARATE_STACKS_FROM = len(STACK_SCOPES) + 1

_SCOPE_OF_MODULE = {module: scope for scope, modules in STACK_SCOPES.items() for module in modules}


def scope_of(nodeid: str, workers: int = 2) -> str:
    """The unit of work of a test on ``workers`` workers: a stack's scope, else its module."""
    module = nodeid.split("::", 1)[0]
    if module not in STACK_MODULES:
        return module
    return _SCOPE_OF_MODULE[module] if workers >= SEPARATE_STACKS_FROM else STACK_SCOPE


class StacksFirst(OrderedDict[str, Any]):
    """xdist's queue of units of work, with the stacks' units at its head, in STACK_SCOPES order."""

    def __setitem__(self, scope: str, tests: Any) -> None:
        super().__setitem__(scope, tests)
        for first in reversed(STACK_SCOPES):
            if first in self:
                self.move_to_end(first, last=False)


class StackScheduling(LoadScopeScheduling):
    """xdist's ``loadscope``, with a stack's modules as one scope, queued first."""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        self.workqueue = StacksFirst()

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid, self.numnodes)
