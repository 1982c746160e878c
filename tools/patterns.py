"""EventBridge event patterns, read from the Terraform that deploys them.

Each service keeps its rules as JSON files in ``services/<name>/infra/rules/*.json``; its Terraform
root reads those files with ``file()``. This module loads the same files and evaluates patterns
against example events the way EventBridge does, for the operators the project uses (exact values,
prefix, suffix, anything-but, exists, numeric, equals-ignore-case, wildcard, ``$or``).
"""

from __future__ import annotations

import fnmatch
import json
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class Rule:
    service: str
    name: str
    path: Path
    pattern: dict[str, Any]

    @property
    def detail_types(self) -> list[str]:
        return [v for v in self.pattern.get("detail-type", []) if isinstance(v, str)]

    @property
    def on_media_bus(self) -> bool:
        """Rules on the media bus consume the project's events (source media.*)."""
        sources = self.pattern.get("source", [])
        return any(
            (isinstance(s, str) and s.startswith("media."))
            or (isinstance(s, Mapping) and str(s.get("prefix", "")).startswith("media"))
            for s in sources
        )


def load_rules(repo: Path = REPO) -> list[Rule]:
    rules = []
    for path in sorted(repo.glob("services/*/infra/rules/*.json")):
        pattern = json.loads(path.read_text(encoding="utf-8"))
        rules.append(Rule(path.parts[-4], path.stem, path, pattern))
    return rules


def field_paths(pattern: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of the fields a pattern names (``detail.metadata.schema_version``)."""
    for key, value in pattern.items():
        if key == "$or":
            for branch in value:
                yield from field_paths(branch, prefix)
            continue
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            yield from field_paths(value, path)
        else:
            yield path


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern``."""
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in expected):
                return False
            continue
        actual = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif not _matches_values(expected, actual):
            return False
    return True


def _matches_values(conditions: list[Any], actual: Any) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    return any(_matches_one(condition, actual, values) for condition in conditions)


def _matches_one(condition: Any, actual: Any, values: list[Any]) -> bool:
    if not isinstance(condition, Mapping):
        return any(value is not _MISSING and value == condition for value in values)
    ((op, arg),) = condition.items()
    if op == "exists":
        return (actual is not _MISSING) is bool(arg)
    present = [v for v in values if v is not _MISSING]
    if op == "prefix":
        return any(isinstance(v, str) and v.startswith(arg) for v in present)
    if op == "suffix":
        return any(isinstance(v, str) and v.endswith(arg) for v in present)
    if op == "equals-ignore-case":
        return any(isinstance(v, str) and v.lower() == str(arg).lower() for v in present)
    if op == "wildcard":
        return any(isinstance(v, str) and fnmatch.fnmatchcase(v, arg) for v in present)
    if op == "anything-but":
        return bool(present) and all(not _excluded(arg, v) for v in present)
    if op == "numeric":
        return any(_numeric(arg, v) for v in present)
    raise ValueError(f"unsupported pattern operator {op!r}")


def _excluded(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        return _matches_one(arg, value, [value])
    excluded = arg if isinstance(arg, list) else [arg]
    return value in excluded


def _numeric(arg: list[Any], value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    pairs = zip(arg[::2], arg[1::2], strict=True)
    return all(_NUMERIC[op](float(value), float(bound)) for op, bound in pairs)
