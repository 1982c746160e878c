"""EventBridge event patterns, read from the Terraform that deploys them.

Each service keeps its rules as JSON files in ``services/<name>/infra/rules/*.json``; its Terraform
root reads those files with ``file()``. This module loads the same files; :func:`matches`
evaluates a pattern against an example event with moto's EventBridge engine.
"""

from __future__ import annotations

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
    """Whether EventBridge would deliver ``event`` to a rule with ``pattern``.

    Evaluated by moto's EventBridge pattern engine (``moto.events.models.EventPattern``): the
    same code that routes events to the rules' targets on the local stack. (moto 5 does not
    implement the ``TestEventPattern`` API itself; its rule delivery runs this matcher, which
    knows every operator of EventBridge's: exact values, prefix, suffix, anything-but, exists,
    numeric, equals-ignore-case, wildcard, ``$or``.)
    """
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(pattern)).matches_event(dict(event)))  # type: ignore[arg-type]
