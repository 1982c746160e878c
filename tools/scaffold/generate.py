"""A new service from the one skeleton.

    python -m tools.scaffold NAME --consumes Event[,Event] --produces Event [--repo DIR]
    make new-service NAME=audio-tagger CONSUMES=AssetIngested PRODUCES=AudioTagged

writes, in the repository:

* ``services/<name>/``: ``<package>/`` (``settings.py``, ``logic.py`` whose ``facts`` raises
  NotImplementedError until written, ``handler.py``), ``tests/`` (settings, logic, handler on
  moto), ``requirements.txt``, ``README.md``;
* ``services/<name>/infra/``: ``main.tf`` (only the service's particulars), the shared files of
  ``infra/service-root/`` linked, the lock file, and one rule file per consumed event
  (``rules/<event-in-kebab-case>.json``, on the major the event is at now);
* ``schemas/events/<Produces>/v1.json`` with valid and invalid examples, released as 1.0 (unless
  the event exists already: then the service becomes one of its producers);
* the registrations a service needs elsewhere: the envelope's ``producer`` and ProcessingFailed's
  ``source`` name it (ProcessingFailed's minor version bumped and released), and pyproject.toml's
  package list, mypy path and first-party names include its package.

It refuses, changing nothing, a name that exists or is malformed, an unknown consumed event, and a
produced event that is also consumed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.scaffold import templates

REPO = Path(__file__).resolve().parents[2]
SHARED_ROOT_FILES = sorted(p.name for p in (REPO / "infra" / "service-root").glob("*.tf"))
_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_EVENT = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+$")
_ASSET_ID = "3f9a1c0e5b7d4e2f8a6c1b0d9e8f7a6b"


class ScaffoldError(Exception):
    """The service cannot be generated as asked; nothing was written."""


@dataclass(frozen=True)
class Spec:
    name: str
    consumes: tuple[str, ...]
    produces: str

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    def fields(self) -> dict[str, str]:
        return {
            "service": self.name,
            "package": self.package,
            "camel": self.camel,
            "produces": self.produces,
            "consumes": ", ".join(self.consumes),
            "consumes_tuple": repr(tuple(self.consumes)),
            "first_consumed": self.consumes[0],
        }


def _kebab(event: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", event).lower()


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _latest_schema(repo: Path, event: str) -> tuple[int, dict[str, Any]] | None:
    folder = repo / "schemas" / "events" / event
    majors = sorted(int(p.stem[1:]) for p in folder.glob("v*.json") if p.stem[1:].isdigit())
    if not majors:
        return None
    return majors[-1], _read_json(folder / f"v{majors[-1]}.json")


def validate(spec: Spec, repo: Path) -> None:
    if not _NAME.match(spec.name) or len(spec.name) > 24:
        raise ScaffoldError(
            f"service name {spec.name!r}: lower-case words joined by '-', 24 characters at most"
        )
    if (repo / "services" / spec.name).exists():
        raise ScaffoldError(f"services/{spec.name} exists already")
    if not spec.consumes:
        raise ScaffoldError("CONSUMES names no event: a service is fed by at least one rule")
    for event in (*spec.consumes, spec.produces):
        if not _EVENT.match(event):
            raise ScaffoldError(f"{event!r} is not an event name like AssetIngested")
    for event in spec.consumes:
        if _latest_schema(repo, event) is None:
            raise ScaffoldError(f"{event} has no schema in schemas/events/: nothing produces it")
    if spec.produces in spec.consumes:
        raise ScaffoldError(f"{spec.produces} is both consumed and produced")


# --- the schema of what it produces ----------------------------------------------------------


def _produced_schema(spec: Spec) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": spec.produces,
        "description": f"Published by {spec.name} for each {' or '.join(spec.consumes)} it "
        "handles. Describe the facts here.",
        "x-version": "1.0",
        "type": "object",
        "required": ["source", "detail-type", "detail"],
        "properties": {
            "version": {"type": "string"},
            "id": {"type": "string"},
            "account": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "source": {"type": "string", "enum": [f"media.{spec.name}"]},
            "detail-type": {"type": "string", "enum": [spec.produces]},
            "detail": {
                "allOf": [
                    {"$ref": "#/definitions/envelope"},
                    {
                        "type": "object",
                        "properties": {
                            "metadata": {
                                "type": "object",
                                "properties": {
                                    "schema": {"type": "string", "enum": [spec.produces]},
                                    "schema_version": {"type": "string", "pattern": "^1\\.[0-9]+$"},
                                },
                            },
                            "data": {"$ref": "#/definitions/data"},
                        },
                    },
                ]
            },
        },
        "definitions": {
            "envelope": {"$ref": "../../envelope/v1.json"},
            "data": {
                "type": "object",
                "required": ["asset_id"],
                "properties": {"asset_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
            },
        },
    }


def _example(spec: Spec, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "0",
        "id": "0b5f3c2a-6d7e-4f81-9a2b-3c4d5e6f7a99",
        "detail-type": spec.produces,
        "source": f"media.{spec.name}",
        "account": "123456789012",
        "time": "2026-11-23T10:15:30Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "metadata": {
                "event_id": "9a5b6c7d-8e9f-4a0b-9c2d-3e4f5a6b7c99",
                "schema": spec.produces,
                "schema_version": "1.0",
                "producer": spec.name,
                "time": "2026-11-23T10:15:30.125Z",
                "correlation_id": _ASSET_ID,
                "causation_id": "8f4a5b6c-7d8e-4f9a-8b1c-2d3e4f5a6b7c",
            },
            "data": {"asset_id": _ASSET_ID},
        },
    }
    event.update(changes)
    return event


def _write_produced_schema(spec: Spec, repo: Path) -> None:
    folder = repo / "schemas" / "events" / spec.produces
    if (folder / "v1.json").exists():
        # An event others publish already: this service becomes one of its producers.
        _add_to_enum(folder / "v1.json", ("properties", "source", "enum"), f"media.{spec.name}")
        return
    schema = _produced_schema(spec)
    _write_json(folder / "v1.json", schema)
    _write_json(folder / "released" / "1.0.json", schema)
    examples = folder / "examples" / "v1"
    _write_json(examples / "valid-basic.json", _example(spec))
    missing = _example(spec)
    missing["detail"]["data"] = {}
    _write_json(examples / "invalid-missing-asset-id.json", missing)
    _write_json(examples / "invalid-wrong-source.json", _example(spec, source="media.someone"))


def _add_to_enum(path: Path, where: Sequence[str], value: str, *, bump: bool = True) -> None:
    document = _read_json(path)
    node = document
    for key in where:
        node = node[key]
    if value in node:
        return
    node.append(value)
    if bump and "x-version" in document:
        major, minor = document["x-version"].split(".")
        document["x-version"] = f"{major}.{int(minor) + 1}"
        _write_json(path.parent / "released" / f"{document['x-version']}.json", document)
    _write_json(path, document)


# --- registrations ------------------------------------------------------------------------------


def _register_in_pyproject(spec: Spec, repo: Path) -> None:
    path = repo / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    mapping = f'{spec.package} = "services/{spec.name}/{spec.package}"\n'
    text = re.sub(
        r"(\[tool\.setuptools\.package-dir\]\n(?:[^\[\n][^\n]*\n)*)",
        lambda m: m.group(1) + mapping,
        text,
        count=1,
    )
    text = re.sub(r'(packages = \[\n\s*")', rf'\1{spec.package}", "', text, count=1)
    text = re.sub(r'(mypy_path = "[^"]*)"', rf'\1:services/{spec.name}"', text, count=1)
    text = re.sub(r"(known-first-party = \[[^\]]*)\]", rf'\1, "{spec.package}"]', text, count=1)
    path.write_text(text, encoding="utf-8")


def _register_producer(spec: Spec, repo: Path) -> None:
    envelope = repo / "schemas" / "envelope" / "v1.json"
    where = ("properties", "metadata", "properties", "producer", "enum")
    _add_to_enum(envelope, where, spec.name, bump=False)
    failed = repo / "schemas" / "events" / "ProcessingFailed" / "v1.json"
    if failed.exists():
        _add_to_enum(failed, ("properties", "source", "enum"), f"media.{spec.name}")


# --- the service ------------------------------------------------------------------------------


def _rule(repo: Path, event: str) -> dict[str, Any]:
    found = _latest_schema(repo, event)
    assert found is not None  # validate() checked
    major, schema = found
    sources = schema.get("properties", {}).get("source", {}).get("enum", [])
    return {
        "source": sources if sources else [{"prefix": "media."}],
        "detail-type": [event],
        "detail": {"metadata": {"schema_version": [{"prefix": f"{major}."}]}},
    }


def scaffold(spec: Spec, repo: Path = REPO) -> list[Path]:
    """Generate the service in ``repo``; the paths written, relative to it."""
    validate(spec, repo)
    fields = spec.fields()
    service = repo / "services" / spec.name
    files = {
        service / "README.md": templates.README.substitute(fields),
        service / "requirements.txt": templates.REQUIREMENTS,
        service / spec.package / "__init__.py": templates.INIT.replace("$service", spec.name),
        service / spec.package / "settings.py": templates.SETTINGS.substitute(fields),
        service / spec.package / "logic.py": templates.LOGIC.substitute(fields),
        service / spec.package / "handler.py": templates.HANDLER.substitute(fields),
        service / "tests" / "conftest.py": templates.CONFTEST.substitute(fields),
        service / "tests" / "test_settings.py": templates.TEST_SETTINGS.substitute(fields),
        service / "tests" / "test_logic.py": templates.TEST_LOGIC.substitute(fields),
        service / "tests" / "test_handler.py": templates.TEST_HANDLER.substitute(fields),
        service / "infra" / "main.tf": templates.MAIN_TF.substitute(fields),
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    infra = service / "infra"
    for name in SHARED_ROOT_FILES:
        (infra / name).symlink_to(Path("../../../infra/service-root") / name)
    lock = next(iter(sorted((repo / "services").glob("*/infra/.terraform.lock.hcl"))), None)
    if lock is not None:
        shutil.copy(lock, infra / ".terraform.lock.hcl")
    for event in spec.consumes:
        _write_json(infra / "rules" / f"{_kebab(event)}.json", _rule(repo, event))
    _write_produced_schema(spec, repo)
    _register_producer(spec, repo)
    _register_in_pyproject(spec, repo)
    _tidy(service, repo)
    return sorted(path.relative_to(repo) for path in service.rglob("*"))


def _tidy(service: Path, repo: Path) -> None:
    """ruff's import order and format, with the repository's settings (which now know the new
    package as first-party): the generated code is lint-clean as generated."""
    ruff = [sys.executable, "-m", "ruff"]
    for command in (["check", "--fix", "--quiet", "--select", "I"], ["format", "--quiet"]):
        result = subprocess.run(
            [*ruff, *command, str(service)], cwd=repo, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ScaffoldError(f"ruff {command[0]} on {service}: {result.stdout}{result.stderr}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.scaffold", description=__doc__)
    parser.add_argument("name", metavar="NAME", help="the service's folder, e.g. audio-tagger")
    parser.add_argument("--consumes", required=True, help="Event[,Event]: what feeds it")
    parser.add_argument("--produces", required=True, help="Event: what it publishes")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    spec = Spec(
        name=args.name,
        consumes=tuple(e.strip() for e in args.consumes.split(",") if e.strip()),
        produces=args.produces.strip(),
    )
    try:
        written = scaffold(spec, args.repo)
    except ScaffoldError as error:
        print(f"new-service: {error}", file=sys.stderr)
        return 2
    print(f"new service {spec.name}: {len(written)} files under services/{spec.name}/")
    print(
        f"  schemas/events/{spec.produces}/v1.json; the envelope, ProcessingFailed and "
        "pyproject.toml name it"
    )
    print(
        f"next: make setup (registers the package), make test-{spec.name}, then write facts() "
        f"in services/{spec.name}/{spec.package}/logic.py"
    )
    return 0
