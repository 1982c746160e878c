"""The event contracts in ``schemas/``: loading, bundling, validation.

Layout (one file per event and major version)::

    schemas/envelope/v1.json                          the detail envelope, referenced by every event
    schemas/events/<Name>/v<MAJOR>.json               the contract; "x-version" holds MAJOR.MINOR
    schemas/events/<Name>/examples/v<MAJOR>/valid-*.json    whole EventBridge events that must pass
    schemas/events/<Name>/examples/v<MAJOR>/invalid-*.json  ... and events that must fail
    schemas/events/<Name>/released/<MAJOR.MINOR>.json frozen copies of released versions

An event schema points at the envelope through ``definitions.envelope`` (a relative ``$ref``).
Bundling replaces that reference with the envelope itself, so the bundled document stands alone:
that is what is validated here and what is published to the EventBridge Schema Registry (the
Terraform event-bus module bundles the same way).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import best_match

from media_shared.exceptions import InvalidEventError, UnknownSchemaError

_SCHEMA_FILE = re.compile(r"^v(?P<major>[1-9][0-9]*)\.json$")
_VERSION = re.compile(r"^(?P<major>[1-9][0-9]*)\.(?P<minor>[0-9]+)$")


def parse_version(version: str) -> tuple[int, int]:
    """``"1.2"`` -> ``(1, 2)``; ValueError for anything else."""
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"not a MAJOR.MINOR version: {version!r}")
    return int(match["major"]), int(match["minor"])


def load_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def bundle(document: Mapping[str, Any], envelope: Mapping[str, Any]) -> dict[str, Any]:
    """The event schema with its envelope reference replaced by the envelope itself."""
    bundled = copy.deepcopy(dict(document))
    inline = {k: copy.deepcopy(v) for k, v in envelope.items() if k not in {"$schema", "id"}}
    bundled.setdefault("definitions", {})["envelope"] = inline
    return bundled


@dataclass(frozen=True)
class EventSchema:
    """One event at one major version."""

    name: str
    major: int
    path: Path
    raw: dict[str, Any] = field(repr=False)
    document: dict[str, Any] = field(repr=False)

    @property
    def version(self) -> str:
        return str(self.raw["x-version"])

    @property
    def sources(self) -> list[str]:
        return list(self.raw["properties"]["source"]["enum"])

    @property
    def registry_name(self) -> str:
        """Name in the EventBridge Schema Registry: one schema per event and major version."""
        return f"{self.name}-v{self.major}"

    @cached_property
    def validator(self) -> Draft4Validator:
        return Draft4Validator(self.document, format_checker=Draft4Validator.FORMAT_CHECKER)

    def examples(self, kind: str) -> list[Path]:
        """Example events of ``kind`` ("valid" or "invalid"), sorted by name."""
        folder = self.path.parent / "examples" / f"v{self.major}"
        return sorted(folder.glob(f"{kind}-*.json"))

    def released(self) -> dict[str, dict[str, Any]]:
        """Frozen released versions of this major, by "MAJOR.MINOR"."""
        folder = self.path.parent / "released"
        found = {}
        for path in sorted(folder.glob(f"{self.major}.*.json")):
            found[path.stem] = load_json(path)
        return found

    def validate(self, event: Mapping[str, Any]) -> None:
        """Raise InvalidEventError naming the schema and the failing field."""
        error = best_match(self.validator.iter_errors(event))
        if error is None:
            return
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise InvalidEventError(
            f"{self.registry_name}: {where}: {error.message}",
            schema=self.registry_name,
            path=where,
        )


class SchemaCatalog:
    """Every event schema found under one ``schemas/`` folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.envelope: dict[str, Any] = load_json(root / "envelope" / "v1.json")
        self._schemas: dict[tuple[str, int], EventSchema] = {}
        for path in sorted((root / "events").glob("*/v*.json")):
            match = _SCHEMA_FILE.match(path.name)
            if match is None:
                continue
            raw = load_json(path)
            schema = EventSchema(
                name=path.parent.name,
                major=int(match["major"]),
                path=path,
                raw=raw,
                document=bundle(raw, self.envelope),
            )
            self._schemas[(schema.name, schema.major)] = schema

    def __iter__(self) -> Iterator[EventSchema]:
        return iter(self._schemas.values())

    def __len__(self) -> int:
        return len(self._schemas)

    def get(self, name: str, major: int) -> EventSchema:
        try:
            return self._schemas[(name, major)]
        except KeyError:
            raise UnknownSchemaError(f"no schema for {name} v{major} under {self.root}") from None

    def latest(self, name: str) -> EventSchema:
        majors = [major for (event, major) in self._schemas if event == name]
        if not majors:
            raise UnknownSchemaError(f"no schema named {name} under {self.root}")
        return self._schemas[(name, max(majors))]

    def schema_for(self, event: Mapping[str, Any]) -> EventSchema:
        """The schema an EventBridge event claims: its detail-type at its metadata's major."""
        detail_type = event.get("detail-type")
        if not isinstance(detail_type, str):
            raise InvalidEventError("event has no detail-type")
        detail = event.get("detail")
        metadata = detail.get("metadata") if isinstance(detail, Mapping) else None
        version = metadata.get("schema_version") if isinstance(metadata, Mapping) else None
        if not isinstance(version, str):
            raise InvalidEventError(
                f"{detail_type}: detail/metadata/schema_version is missing",
                schema=detail_type,
                path="detail/metadata/schema_version",
            )
        try:
            major, _ = parse_version(version)
        except ValueError as error:
            raise InvalidEventError(f"{detail_type}: {error}", schema=detail_type) from None
        return self.get(detail_type, major)

    def validate(self, event: Mapping[str, Any]) -> EventSchema:
        """Validate an EventBridge event (or a PutEvents entry seen as one); return its schema."""
        schema = self.schema_for(event)
        schema.validate(event)
        return schema
