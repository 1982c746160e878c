"""Which Terraform roots a change must plan: change detection over the dependency graph.

    python -m tools.affected BASE HEAD [--json]      (make affected BASE=... HEAD=...)

prints the roots the diff ``BASE...HEAD`` affects, one a line (or a JSON list with each root's
folder and state key), the platform before the services:

* ``services/<name>/...``            -> that service's root;
* ``shared/...``, ``requirements/lambda.txt``, ``tools/package.py`` -> every service (they are in,
  or build, every Lambda zip);
* ``schemas/events/<Event>/...``     -> the event's producers (the ``source`` its schemas name), its
  consumers (every rule file ``services/*/infra/rules/*.json`` whose pattern can match it) and the
  platform (its Schema Registry publishes the schemas); ``schemas/envelope/...`` -> every root that
  reads schemas;
* ``infra/modules/<module>/...``     -> every root that calls the module, directly or through
  another module (``source = "../modules/<module>"`` in its ``.tf`` files);
* a file linked into roots (``infra/service-root/*.tf``) -> every root that links it;
* ``infra/platform/...`` -> the platform; ``infra/bootstrap/...`` -> the bootstrap root;
  ``infra/backends/...`` -> every root.

Anything else (docs, tests, tooling, workflows) deploys nothing. A diff that touches deployable
files yet maps to no root is an error, not an empty plan: the graph has missed something.

The graph is read from the trees of both revisions (``git ls-tree``/``git cat-file``, no checkout),
so a rule or module use that the change removes still counts.
"""

from __future__ import annotations

import argparse
import json
import posixpath
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLATFORM = "platform"
BOOTSTRAP = "bootstrap"
# Files outside services/, shared/, schemas/ and infra/ that go into every Lambda zip.
BUILD_INPUTS = ("requirements/lambda.txt", "tools/package.py")
_MODULE_SOURCE = re.compile(r'^\s*source\s*=\s*"(?P<source>\.{1,2}/[^"]+)"', re.MULTILINE)
_SCHEMA_FILE = re.compile(r"^schemas/events/(?P<event>[^/]+)/v(?P<major>[1-9][0-9]*)\.json$")
_RULE_FILE = re.compile(r"^services/(?P<service>[^/]+)/infra/rules/[^/]+\.json$")
_EMPTY_REVISION = re.compile(r"^0+$")


class AffectedError(Exception):
    """The change cannot be mapped to roots; the message names the files."""


# --- trees: what a revision holds -------------------------------------------------------------


class Tree:
    """The files of one revision: their paths, their text, and where symlinks point."""

    def paths(self) -> list[str]:
        raise NotImplementedError

    def read(self, path: str) -> str:
        raise NotImplementedError

    def link(self, path: str) -> str | None:
        """The repository path a symlink resolves to, or None for a regular file."""
        raise NotImplementedError


@dataclass
class FileTree(Tree):
    """A folder on disk (the working tree)."""

    root: Path
    _paths: list[str] | None = field(default=None, repr=False)

    def paths(self) -> list[str]:
        if self._paths is None:
            skip = {".git", ".venv", ".terraform", ".local", "build", "node_modules", ".tools"}
            found = []
            for path in self.root.rglob("*"):
                relative = path.relative_to(self.root)
                if skip.intersection(relative.parts):
                    continue
                if path.is_symlink() or path.is_file():
                    found.append(relative.as_posix())
            self._paths = sorted(found)
        return self._paths

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def link(self, path: str) -> str | None:
        full = self.root / path
        if not full.is_symlink():
            return None
        return _join_link(path, str(full.readlink()))


@dataclass
class GitTree(Tree):
    """One revision of a git repository, read from its object store (no checkout)."""

    repo: Path
    revision: str
    _entries: dict[str, tuple[str, str]] | None = field(default=None, repr=False)
    _cache: dict[str, str] = field(default_factory=dict, repr=False)

    def _git(self, *args: str, stdin: bytes | None = None) -> bytes:
        result = subprocess.run(
            ["git", "-C", str(self.repo), *args], input=stdin, capture_output=True, check=False
        )
        if result.returncode != 0:
            raise AffectedError(
                f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace').strip()}"
            )
        return result.stdout

    def _tree(self) -> dict[str, tuple[str, str]]:
        if self._entries is None:
            entries: dict[str, tuple[str, str]] = {}
            for record in self._git("ls-tree", "-r", "-z", self.revision).split(b"\0"):
                if not record:
                    continue
                meta, _, name = record.decode().partition("\t")
                mode, _kind, sha = meta.split()
                entries[name] = (mode, sha)
            self._entries = entries
        return self._entries

    def paths(self) -> list[str]:
        return sorted(self._tree())

    def _blob(self, path: str) -> str:
        if path not in self._cache:
            _mode, sha = self._tree()[path]
            self._cache[path] = self._git("cat-file", "blob", sha).decode("utf-8")
        return self._cache[path]

    def read(self, path: str) -> str:
        return self._blob(path)

    def link(self, path: str) -> str | None:
        mode, _sha = self._tree()[path]
        return _join_link(path, self._blob(path)) if mode == "120000" else None


def _join_link(path: str, target: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), target))


# --- the graph ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RootInfo:
    id: str
    directory: str

    @property
    def state_key(self) -> str:
        return f"{self.id}/terraform.tfstate"

    def as_dict(self) -> dict[str, str]:
        return {"root": self.id, "directory": self.directory, "state_key": self.state_key}


@dataclass
class Graph:
    """What depends on what, for change detection."""

    roots: dict[str, RootInfo] = field(default_factory=dict)
    services: set[str] = field(default_factory=set)
    # module folder (infra/modules/x) -> roots that use it, directly or transitively
    module_users: dict[str, set[str]] = field(default_factory=dict)
    # a file linked into roots -> those roots
    linked: dict[str, set[str]] = field(default_factory=dict)
    # event -> services that publish it / whose rules can receive it
    producers: dict[str, set[str]] = field(default_factory=dict)
    consumers: dict[str, set[str]] = field(default_factory=dict)
    # roots whose Terraform reads schemas/ (the platform's registry, the services' contracts)
    schema_readers: set[str] = field(default_factory=set)
    # rules that can receive any media event (no detail-type): their services consume every event
    consumes_everything: set[str] = field(default_factory=set)

    def merge(self, other: Graph) -> Graph:
        def union(a: Mapping[str, set[str]], b: Mapping[str, set[str]]) -> dict[str, set[str]]:
            return {key: set(a.get(key, set())) | set(b.get(key, set())) for key in {*a, *b}}

        return Graph(
            roots={**other.roots, **self.roots},
            services=self.services | other.services,
            module_users=union(self.module_users, other.module_users),
            linked=union(self.linked, other.linked),
            producers=union(self.producers, other.producers),
            consumers=union(self.consumers, other.consumers),
            schema_readers=self.schema_readers | other.schema_readers,
            consumes_everything=self.consumes_everything | other.consumes_everything,
        )


def _root_of(path: str, roots: Mapping[str, RootInfo]) -> str | None:
    for root in roots.values():
        if path.startswith(root.directory + "/"):
            return root.id
    return None


def build_graph(tree: Tree) -> Graph:
    """The dependency graph of one revision."""
    paths = tree.paths()
    graph = Graph()
    for path in paths:
        parts = path.split("/")
        if not path.endswith(".tf"):
            continue
        if len(parts) == 4 and parts[0] == "services" and parts[2] == "infra":
            graph.roots.setdefault(parts[1], RootInfo(parts[1], f"services/{parts[1]}/infra"))
            graph.services.add(parts[1])
        elif len(parts) == 3 and parts[0] == "infra" and parts[1] in (PLATFORM, BOOTSTRAP):
            graph.roots.setdefault(parts[1], RootInfo(parts[1], f"infra/{parts[1]}"))

    # Module calls: the folder of every .tf file (a root or a module) -> the modules it calls.
    calls: dict[str, set[str]] = {}
    for path in paths:
        if not path.endswith(".tf"):
            continue
        folder = posixpath.dirname(path)
        target = tree.link(path)
        if target is not None:
            owner = _root_of(path, graph.roots)
            if owner is not None:
                graph.linked.setdefault(target, set()).add(owner)
        try:
            # A linked file is read where it points; its module sources are relative to the
            # folder it is linked into, as Terraform reads them.
            text = tree.read(target or path)
        except (KeyError, OSError, UnicodeDecodeError):
            continue
        for match in _MODULE_SOURCE.finditer(text):
            called = posixpath.normpath(posixpath.join(folder, match["source"]))
            calls.setdefault(folder, set()).add(called)
        if "schemas" in text:
            owner = _root_of(path, graph.roots)
            if owner is not None and re.search(r"/schemas[/\"]", text):
                graph.schema_readers.add(owner)

    for root in graph.roots.values():
        seen: set[str] = set()
        pending = list(calls.get(root.directory, set()))
        while pending:
            module = pending.pop()
            if module in seen:
                continue
            seen.add(module)
            graph.module_users.setdefault(module, set()).add(root.id)
            pending.extend(calls.get(module, set()))

    for path in paths:
        schema = _SCHEMA_FILE.match(path)
        if schema:
            document = json.loads(tree.read(path))
            sources = document.get("properties", {}).get("source", {}).get("enum", [])
            producers = graph.producers.setdefault(schema["event"], set())
            for source in sources:
                if isinstance(source, str) and source.startswith("media."):
                    producers.add(source.removeprefix("media."))
        rule = _RULE_FILE.match(path)
        if rule:
            pattern = json.loads(tree.read(path))
            detail_types = [d for d in pattern.get("detail-type", []) if isinstance(d, str)]
            if detail_types:
                for event in detail_types:
                    graph.consumers.setdefault(event, set()).add(rule["service"])
            elif _on_media_bus(pattern):
                graph.consumes_everything.add(rule["service"])
    return graph


def _on_media_bus(pattern: Mapping[str, Any]) -> bool:
    for source in pattern.get("source", []):
        if isinstance(source, str) and source.startswith("media."):
            return True
        if isinstance(source, Mapping) and str(source.get("prefix", "")).startswith("media"):
            return True
    return False


# --- the pure part: changed paths -> roots ----------------------------------------------------


def _is_deployable(path: str) -> bool:
    return path.startswith(("services/", "shared/", "schemas/", "infra/")) or path in BUILD_INPUTS


def affected_roots(changed: Iterable[str], graph: Graph) -> list[str]:
    """The roots to plan for ``changed`` (repository paths): bootstrap, platform, then services.

    Raises AffectedError when deployable files changed and none of them maps to a root.
    """
    changed = sorted(set(changed))
    every_service = set(graph.services)
    hit: set[str] = set()
    unmapped: list[str] = []
    for path in changed:
        found: set[str] = set()
        parts = path.split("/")
        if parts[0] == "services" and len(parts) > 2 and parts[1] in graph.services:
            found.add(parts[1])
        elif parts[0] == "shared" or path in BUILD_INPUTS:
            found |= every_service
        elif parts[0] == "schemas":
            if len(parts) > 2 and parts[1] == "events":
                event = parts[2]
                found |= graph.producers.get(event, set()) | graph.consumers.get(event, set())
                found |= graph.consumes_everything
                found |= graph.schema_readers & {PLATFORM}
            else:  # the envelope, or anything every schema refers to
                found |= graph.schema_readers
        elif parts[0] == "infra" and len(parts) > 2 and parts[1] == "modules":
            found |= graph.module_users.get(f"infra/modules/{parts[2]}", set())
        elif parts[0] == "infra" and len(parts) > 1 and parts[1] in (PLATFORM, BOOTSTRAP):
            found.add(parts[1])
        elif parts[0] == "infra" and len(parts) > 1 and parts[1] == "backends":
            found |= set(graph.roots) - {BOOTSTRAP}
        found |= graph.linked.get(path, set())
        found &= set(graph.roots)
        if not found and _is_deployable(path) and not _is_documentation(path):
            unmapped.append(path)
        hit |= found
    if unmapped and not hit:
        raise AffectedError(
            "these deployable files changed but map to no Terraform root (is the dependency graph "
            "missing a rule, a module use or a schema's producer?): " + ", ".join(unmapped)
        )
    return order(hit)


def _is_documentation(path: str) -> bool:
    return path.endswith((".md", ".txt")) and path not in BUILD_INPUTS


def order(roots: Iterable[str]) -> list[str]:
    """Bootstrap (the CI roles), then the platform, then the services by name."""
    rank = {BOOTSTRAP: 0, PLATFORM: 1}
    return sorted(set(roots), key=lambda root: (rank.get(root, 2), root))


# --- git -----------------------------------------------------------------------------------------


def changed_paths(repo: Path, base: str, head: str) -> list[str]:
    """Paths changed between the merge base of BASE and HEAD, and HEAD (renames as two paths)."""
    result = subprocess.run(
        ["git", "-C", str(repo), "diff", "--name-only", "-z", "--no-renames", f"{base}...{head}"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise AffectedError(
            f"git diff {base}...{head} failed: {result.stderr.decode(errors='replace').strip()}"
        )
    return [path for path in result.stdout.decode().split("\0") if path]


def affected_between(repo: Path, base: str, head: str) -> list[RootInfo]:
    """The roots the change BASE...HEAD must plan; every root when BASE is empty (a new branch)."""
    head_graph = build_graph(GitTree(repo, head))
    if not base or _EMPTY_REVISION.match(base):
        return [head_graph.roots[root] for root in order(head_graph.roots)]
    graph = head_graph.merge(build_graph(GitTree(repo, base)))
    return [graph.roots[root] for root in affected_roots(changed_paths(repo, base, head), graph)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.affected",
        description="Print the Terraform roots a change must plan (platform first).",
    )
    parser.add_argument("base", metavar="BASE", help="the revision the change starts from")
    parser.add_argument("head", metavar="HEAD", nargs="?", default="HEAD", help="default HEAD")
    parser.add_argument(
        "--json", action="store_true", help="a JSON list of {root, directory, state_key}"
    )
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        roots = affected_between(args.repo, args.base, args.head)
    except AffectedError as error:
        print(f"affected: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([root.as_dict() for root in roots]))
    else:
        for root in roots:
            print(root.id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
