"""How ``make slow`` shares its tests between pytest-xdist workers: by module, the stack's together.

``make slow`` runs ``pytest -n 2 --dist loadscope``; the root conftest makes
:class:`StackScheduling` that run's scheduler. Each module is a unit of work (its module-scoped
fixtures, such as the least-privilege plans, are built once), except the modules in
:data:`STACK_MODULES`: they use the session's one local stack (``pipeline``, tests/conftest.py)
and form one unit, ``local-stack``, which one worker runs in collection order on one stack while
the other worker takes the rest.

xdist's own ``--dist loadgroup`` (the ``xdist_group`` marker) cannot do this here: pytest-xdist
3.8 marks a group by rewriting ``item._nodeid``, which pytest 9 no longer reads, so every test
stays in a group of its own. The workers send only node ids to the scheduler, so the stack's
modules are named here; tests/unit/test_tiers.py checks the list against what the tests use.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

__all__ = ["STACK_FIXTURES", "STACK_MODULES", "STACK_SCOPE", "StackScheduling", "scope_of"]

#: The fixtures that reach the session's stack (``deployment`` asks for ``pipeline`` at run time).
STACK_FIXTURES = frozenset({"pipeline", "deployment", "local_stack"})

#: The unit of work of every test on the session's stack.
STACK_SCOPE = "local-stack"

#: The test modules whose tests use the session's stack (all of their tests do).
STACK_MODULES = frozenset(
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
        "tests/infra/test_scaffold_deploys.py",
        "tests/infra/test_topology.py",
        "tests/reliability/test_concurrency.py",
        "tests/reliability/test_disorder.py",
        "tests/reliability/test_duplicates.py",
        "tests/reliability/test_faults.py",
        "tests/reliability/test_hostile_files.py",
        "tests/reliability/test_poison.py",
        "tests/reliability/test_reconcile.py",
        "tests/reliability/test_soak.py",
    }
)


def scope_of(nodeid: str) -> str:
    """The unit of work of a test: ``local-stack`` for the stack's modules, else its module."""
    module = nodeid.split("::", 1)[0]
    return STACK_SCOPE if module in STACK_MODULES else module


class StackScheduling(LoadScopeScheduling):
    """xdist's ``loadscope``, with the stack's modules as one scope."""

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)
