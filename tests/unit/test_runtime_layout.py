"""The runtime is a component: its parts are used through their public APIs only, and it needs
nothing else of ``tools/``.

An AST walk over every Python file of the repository (``tools/``, ``bench/``, ``tests/``,
``services/``, ``shared/``) finds each import and checks two rules:

* a module of a package of ``tools/runtime`` (``tools/runtime/awslambda/poller.py``, or
  ``tools/runtime/cli.py`` of ``tools.runtime`` itself) is private to that package: code
  elsewhere imports the package (``from tools.runtime.awslambda import MappingPoller``), whose
  ``__init__`` and ``__all__`` are its public API;
* nothing under ``tools/runtime`` imports from the rest of ``tools/``;
* every module of ``tools.runtime`` that is imported exists (a lazy import inside a function of
  a module that moved fails only when that function runs).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNTIME = "tools.runtime"
SCANNED = ("tools", "bench", "tests", "services", "shared")
SKIPPED = {".venv", "build", ".terraform", "node_modules", ".local", "__pycache__"}


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(module: str, source: str, *, is_package: bool) -> Iterator[tuple[str, list[str]]]:
    """(module imported by name, the names taken from it) for every import in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            yield origin, [alias.name for alias in node.names if alias.name != "*"]


def imported(module: str, source: str, *, is_package: bool = False) -> Iterator[str]:
    """Every module name ``source`` (the text of ``module``) imports, and every ``from X import
    name`` as ``X.name`` too (which may be a submodule)."""
    for origin, names in _imports(module, source, is_package=is_package):
        yield origin
        yield from (f"{origin}.{name}" for name in names)


def modules_imported(module: str, source: str, *, is_package: bool = False) -> Iterator[str]:
    """The modules ``source`` imports by name: ``import X`` and ``from X import ...``'s X."""
    for origin, _names in _imports(module, source, is_package=is_package):
        yield origin


def violations(sources: Mapping[str, tuple[str, bool]]) -> list[str]:
    """Broken rules in ``sources``: module name -> (its text, whether it is a package)."""
    private = {
        name: name.rpartition(".")[0]  # the package it belongs to
        for name, (_, is_package) in sources.items()
        if (name == RUNTIME or name.startswith(RUNTIME + ".")) and not is_package
    }
    found: list[str] = []
    for module, (source, is_package) in sorted(sources.items()):
        inside = module == RUNTIME or module.startswith(RUNTIME + ".")
        own_package = module if is_package else module.rpartition(".")[0]
        for name in sorted(set(imported(module, source, is_package=is_package))):
            if name in private and private[name] != own_package:
                found.append(
                    f"{module} imports {name}, private to {private[name]}: "
                    f"import it from {private[name]} (its __all__)"
                )
            if inside and name.startswith("tools.") and name.split(".")[1] != "runtime":
                found.append(f"{module} imports {name}: {RUNTIME} needs nothing of tools/")
        for name in sorted(set(modules_imported(module, source, is_package=is_package))):
            if name.startswith(RUNTIME + ".") and name not in sources:
                found.append(f"{module} imports {name}, which is no module of {RUNTIME}")
    return found


def repository_sources() -> dict[str, tuple[str, bool]]:
    sources: dict[str, tuple[str, bool]] = {}
    for top in SCANNED:
        for path in (REPO / top).rglob("*.py"):
            if SKIPPED & set(path.relative_to(REPO).parts):
                continue
            text = path.read_text(encoding="utf-8")
            sources[module_name(path)] = (text, path.name == "__init__.py")
    return sources


# --- the repository as it is ------------------------------------------------------------------


def test_no_code_imports_a_private_module_of_the_runtime_and_the_runtime_needs_no_tools() -> None:
    # given every Python file of the repository
    sources = repository_sources()
    assert "tools.runtime.awslambda.poller" in sources  # the walk sees the runtime's modules
    # when their imports are checked
    found = violations(sources)
    # then each part of the runtime is used through its package only, and it uses no other tools
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("package", ["awslambda", "apigateway", "faults", "moto_patches"])
def test_each_part_of_the_runtime_has_a_public_api_that_resolves(package: str) -> None:
    module = importlib.import_module(f"{RUNTIME}.{package}")
    public = getattr(module, "__all__", None)
    assert public, f"{module.__name__} has no __all__"
    assert [name for name in public if not hasattr(module, name)] == []


# --- the check itself ---------------------------------------------------------------------------

RUNTIME_MODULES: dict[str, tuple[str, bool]] = {
    "tools": ("", True),
    "tools.patterns": ("", False),
    "tools.localstack": ("", True),
    "tools.localstack.record": ("", False),
    "tools.runtime": ("from tools.runtime.awslambda import LocalRuntime\n", True),
    "tools.runtime.cli": ("from tools.runtime.apigateway import HttpGateway\n", False),
    "tools.runtime.awslambda": ("from tools.runtime.awslambda.poller import BatchOutcome\n", True),
    "tools.runtime.awslambda.poller": ("from .invoker import Invocation\n", False),
    "tools.runtime.awslambda.invoker": ("import json\n", False),
    "tools.runtime.apigateway": (
        "from tools.runtime.apigateway.gateway import HttpGateway\n",
        True,
    ),
    "tools.runtime.apigateway.gateway": ("from tools.runtime.awslambda import Invocation\n", False),
}


def test_the_runtimes_own_layout_passes_the_check() -> None:
    assert violations(RUNTIME_MODULES) == []


@pytest.mark.parametrize(
    ("module", "source", "complaint"),
    [
        (
            "tools.soak",
            "from tools.runtime.awslambda.poller import BatchOutcome\n",
            "tools.soak imports tools.runtime.awslambda.poller, private to tools.runtime.awslambda",
        ),
        (
            "tests.x",
            "from tools.runtime.awslambda import invoker\n",
            "tests.x imports tools.runtime.awslambda.invoker, private to tools.runtime.awslambda",
        ),
        (
            "bench.x",
            "import tools.runtime.cli\n",
            "bench.x imports tools.runtime.cli, private to tools.runtime",
        ),
        (
            "tools.runtime.apigateway.routes",
            "from ..awslambda.invoker import Invocation\n",
            "imports tools.runtime.awslambda.invoker, private to tools.runtime.awslambda",
        ),
        (
            "tools.runtime.apigateway.issuer",
            "from tools.localstack.record import Moto\n",
            "imports tools.localstack.record: tools.runtime needs nothing of tools/",
        ),
        (
            "tools.runtime.faults.rules",
            "from tools import patterns\n",
            "imports tools.patterns: tools.runtime needs nothing of tools/",
        ),
        (
            "tests.e2e.conftest",
            "def deployment():\n    from tools.runtime.http import HttpGateway\n",
            "tests.e2e.conftest imports tools.runtime.http, which is no module of tools.runtime",
        ),
    ],
)
def test_a_broken_rule_is_named(module: str, source: str, complaint: str) -> None:
    # given a module that breaks a rule
    sources = {**RUNTIME_MODULES, module: (source, False)}
    # when the imports are checked
    found = violations(sources)
    # then the check names the module and what it did
    assert any(complaint in line for line in found), found
