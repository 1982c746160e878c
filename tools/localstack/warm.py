"""Whether ``make up`` can start warm: a fingerprint of what the stack was built from.

A local stack is made of the Terraform (``infra/`` and every ``services/<name>/infra/``, their
rule files and lock files), the variables the local stack sets, and the Lambda zips with what
they are built from (each service's package and requirements, ``shared/media_shared``,
``schemas/``, ``requirements/``, the packager). ``make up`` records the fingerprint of all that in
``<stack>/warm.json`` once every root is applied. The next ``make up`` computes it again: equal,
and the server runs (or came back from its snapshot), there is nothing to build and nothing to
apply; different, it names what changed and applies (incrementally, on the restored state).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.localstack.record import REPO

FILE = "warm.json"
_SKIP_DIRS = {".terraform", "__pycache__", "tests", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = (".pyc", ".tfstate", ".tfstate.backup", ".tfplan")


def _files(directory: Path) -> Iterable[Path]:
    if not directory.is_dir():
        return
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if any(part in _SKIP_DIRS for part in relative.parts[:-1]) or not path.is_file():
            continue
        if path.name.endswith(_SKIP_SUFFIXES):
            continue
        yield path


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inputs(repo: Path = REPO, services: Iterable[str] = ()) -> dict[str, str]:
    """Relative path -> SHA-256 of every file the stack is built from (the zips included)."""
    folders = [repo / "infra", repo / "shared" / "media_shared", repo / "schemas"]
    for name in services:
        folders.append(repo / "services" / name / "infra")
        folders.append(repo / "services" / name / name.replace("-", "_"))
    singles = [
        repo / "requirements" / "dev.txt",
        repo / "requirements" / "lambda.txt",
        repo / "tools" / "package.py",
        *(repo / "services" / name / "requirements.txt" for name in services),
        *(repo / "build" / "lambda" / f"{name}.zip" for name in services),
    ]
    found: dict[str, str] = {}
    for folder in folders:
        for path in _files(folder):
            found[str(path.relative_to(repo))] = _digest(path)
    for path in singles:
        # A missing file is part of the fingerprint too (a zip removed by `make clean`).
        found[str(path.relative_to(repo))] = _digest(path) if path.is_file() else "missing"
    return found


@dataclass(frozen=True)
class Fingerprint:
    files: Mapping[str, str]
    variables: Mapping[str, str]

    @property
    def digest(self) -> str:
        text = json.dumps({"files": self.files, "variables": self.variables}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def changes(self, other: Fingerprint) -> list[str]:
        """What differs from ``other`` (the last one), in words: paths first."""
        changed = sorted(
            path
            for path in set(self.files) | set(other.files)
            if self.files.get(path) != other.files.get(path)
        )
        if self.variables != other.variables:
            changed.append("the local stack's Terraform variables")
        return changed


def fingerprint(
    services: Iterable[str], variables: Mapping[str, str], repo: Path = REPO
) -> Fingerprint:
    return Fingerprint(inputs(repo, list(services)), dict(variables))


def recorded(directory: Path) -> Fingerprint | None:
    path = directory / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Fingerprint(dict(data["files"]), dict(data["variables"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record(directory: Path, print_: Fingerprint) -> None:
    document = {
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "digest": print_.digest,
        "files": dict(print_.files),
        "variables": dict(print_.variables),
    }
    temporary = directory / f".{FILE}.tmp"
    temporary.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    temporary.replace(directory / FILE)


def forget(directory: Path) -> None:
    (directory / FILE).unlink(missing_ok=True)


def describe(changes: list[str], limit: int = 5) -> str:
    shown = ", ".join(changes[:limit])
    more = f" and {len(changes) - limit} more" if len(changes) > limit else ""
    return shown + more
