"""Compatibility between versions of one event's schema.

Within a major version only optional fields may be added. Against every released MINOR of the same
major, the current schema must not remove (or rename) a field, change a field's type, or make a
field required that was not. A breaking change is a new major version: a new ``v<N+1>.json``.

Run: ``python -m tools.compat`` (exit 1 and one line per problem, naming schema and field).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_shared.schemas import EventSchema, SchemaCatalog, bundle, parse_version

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Field:
    types: frozenset[str]
    required: bool


@dataclass(frozen=True)
class Problem:
    schema: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.schema}: {self.field}: {self.message}"


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise ValueError(f"unbundled reference {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        node, seen = target, seen + 1
        if seen > 50:
            raise ValueError(f"reference loop at {ref!r}")
    return node


def _types(node: Mapping[str, Any]) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {str(t) for t in declared}
    return set()


def _walk(
    node: Mapping[str, Any], root: Mapping[str, Any], path: str, required: bool
) -> Iterator[tuple[str, set[str], bool]]:
    node = _resolve(node, root)
    branches = [_resolve(b, root) for b in node.get("allOf", [])]
    alternatives = [_resolve(b, root) for key in ("oneOf", "anyOf") for b in node.get(key, [])]
    types = _types(node)
    for branch in branches:
        types |= _types(branch)
    for alternative in alternatives:
        types |= _types(alternative)
    if path:
        yield path, types, required
    parts = [node, *branches, *alternatives]
    names_required: set[str] = set()
    for part in [node, *branches]:
        names_required.update(part.get("required", []))
    properties: dict[str, list[Mapping[str, Any]]] = {}
    for part in parts:
        for name, child in part.get("properties", {}).items():
            properties.setdefault(name, []).append(child)
    for name, children in properties.items():
        child_path = f"{path}.{name}" if path else name
        yield from _merge(children, root, child_path, required=name in names_required)
    for part in parts:
        items = part.get("items")
        if isinstance(items, Mapping):
            yield from _walk(items, root, f"{path}[]", required=False)


def _merge(
    children: list[Mapping[str, Any]], root: Mapping[str, Any], path: str, required: bool
) -> Iterator[tuple[str, set[str], bool]]:
    merged: dict[str, tuple[set[str], bool]] = {}
    for child in children:
        for field_path, types, req in _walk(child, root, path, required):
            known = merged.get(field_path)
            if known is None:
                merged[field_path] = (set(types), req)
            else:
                merged[field_path] = (known[0] | types, known[1] or req)
    for field_path, (types, req) in merged.items():
        yield field_path, types, req


def fields(document: Mapping[str, Any]) -> dict[str, Field]:
    """Every field path of a bundled schema (``detail.data.asset_id``, arrays as ``[]``)."""
    found: dict[str, Field] = {}
    for path, types, required in _walk(document, document, "", required=True):
        found[path] = Field(frozenset(types), required)
    return found


def compare(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Problem]:
    """Problems that make ``new`` incompatible with ``old`` within one major version."""
    before, after = fields(old), fields(new)
    problems = []
    for path, was in sorted(before.items()):
        now = after.get(path)
        if now is None:
            problems.append(Problem(name, path, "removed or renamed (needs a new major version)"))
            continue
        if was.types and now.types != was.types:
            problems.append(
                Problem(
                    name,
                    path,
                    f"type changed from {sorted(was.types)} to {sorted(now.types)} "
                    "(needs a new major version)",
                )
            )
        if now.required and not was.required:
            problems.append(Problem(name, path, "became required (needs a new major version)"))
    for path, now in sorted(after.items()):
        if path not in before and now.required and _parent_exists(path, before):
            problems.append(
                Problem(name, path, "added as a required field (needs a new major version)")
            )
    return problems


def _parent_exists(path: str, known: Mapping[str, Field]) -> bool:
    parent = path.rsplit(".", 1)[0] if "." in path else ""
    return parent == "" or parent in known


def check_schema(schema: EventSchema, envelope: Mapping[str, Any]) -> list[Problem]:
    """The current schema against every released minor of its major version."""
    problems: list[Problem] = []
    try:
        current = parse_version(schema.version)
    except ValueError as error:
        return [Problem(schema.registry_name, "x-version", str(error))]
    if current[0] != schema.major:
        problems.append(
            Problem(
                schema.registry_name,
                "x-version",
                f"{schema.version} does not belong to the file's major version {schema.major}",
            )
        )
    for version, released in sorted(schema.released().items()):
        label = f"{schema.registry_name} ({version} -> {schema.version})"
        if version == schema.version and released != schema.raw:
            problems.append(
                Problem(
                    schema.registry_name,
                    "x-version",
                    f"changed since {version} was released without a version bump",
                )
            )
        if parse_version(version) > current:
            problems.append(
                Problem(schema.registry_name, "x-version", f"older than released {version}")
            )
        problems.extend(compare(label, bundle(released, envelope), schema.document))
    return problems


def check_catalog(catalog: SchemaCatalog) -> list[Problem]:
    problems: list[Problem] = []
    for schema in catalog:
        problems.extend(check_schema(schema, catalog.envelope))
    return problems


def release(catalog: SchemaCatalog) -> list[Path]:
    """Freeze the current version of every schema whose version was never released."""
    written = []
    for schema in catalog:
        target = schema.path.parent / "released" / f"{schema.version}.json"
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            target.write_text(json.dumps(schema.raw, indent=2) + "\n", encoding="utf-8")
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    catalog = SchemaCatalog(REPO / "schemas")
    if args == ["release"]:
        for path in release(catalog):
            print(f"released {path.relative_to(REPO)}")
        return 0
    if args:
        print("usage: python -m tools.compat [release]", file=sys.stderr)
        return 2
    problems = check_catalog(catalog)
    for problem in problems:
        print(problem)
    print(f"{len(catalog)} schemas checked, {len(problems)} compatibility problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
