"""A minor version only adds optional fields; anything else needs a new major version."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from media_shared import SchemaCatalog
from tests.support.events import SCHEMAS
from tools.compat import Problem, check_catalog, compare


def test_the_schemas_in_the_repository_are_compatible_with_their_releases() -> None:
    problems = check_catalog(SchemaCatalog(SCHEMAS))

    assert problems == [], "\n".join(str(p) for p in problems)


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    """A scratch copy of schemas/ to break in the ways a careless change would."""
    copied = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copied)
    return copied


def _edit(root: Path, name: str, change: Any, *, version: str | None = None) -> None:
    """Change a schema and set its version (default: the next minor of its current one)."""
    path = root / "events" / name / "v1.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    major, minor = str(document["x-version"]).split(".")
    change(document)
    document["x-version"] = version or f"{major}.{int(minor) + 1}"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def _problems(root: Path) -> list[str]:
    return [str(problem) for problem in check_catalog(SchemaCatalog(root))]


def _data(document: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = document["definitions"]["data"]
    return data


def test_removing_a_field_in_a_minor_version_fails_naming_schema_and_field(schemas: Path) -> None:
    _edit(schemas, "AssetIngested", lambda d: _data(d)["properties"].pop("sha256"))

    problems = _problems(schemas)

    assert any(
        "AssetIngested-v1" in p and "detail.data.sha256" in p and "removed" in p for p in problems
    ), problems


def test_renaming_a_field_in_a_minor_version_fails(schemas: Path) -> None:
    def rename(document: dict[str, Any]) -> None:
        properties = _data(document)["properties"]
        properties["bytes_total"] = properties.pop("size_bytes")
        _data(document)["required"] = [
            "bytes_total" if f == "size_bytes" else f for f in _data(document)["required"]
        ]

    _edit(schemas, "AssetIngested", rename)

    problems = _problems(schemas)

    assert any("detail.data.size_bytes" in p and "removed or renamed" in p for p in problems)
    assert any("detail.data.bytes_total" in p and "required" in p for p in problems)


def test_changing_a_type_in_a_minor_version_fails(schemas: Path) -> None:
    _edit(
        schemas,
        "ThumbnailsGenerated",
        lambda d: d["definitions"]["rendition"]["properties"]["width"].update(type="string"),
    )

    problems = _problems(schemas)

    assert any(
        "ThumbnailsGenerated-v1" in p
        and "detail.data.renditions[].width" in p
        and "type changed from ['integer'] to ['string']" in p
        for p in problems
    ), problems


def test_adding_a_required_field_in_a_minor_version_fails(schemas: Path) -> None:
    def add_required(document: dict[str, Any]) -> None:
        _data(document)["properties"]["camera_serial"] = {"type": "string"}
        _data(document)["required"].append("camera_serial")

    _edit(schemas, "MetadataExtracted", add_required)

    problems = _problems(schemas)

    assert any(
        "MetadataExtracted-v1" in p and "detail.data.camera_serial" in p and "required" in p
        for p in problems
    ), problems


def test_making_an_optional_field_required_fails(schemas: Path) -> None:
    _edit(schemas, "AssetIngested", lambda d: _data(d)["required"].append("filename"))

    assert any("detail.data.filename" in p and "became required" in p for p in _problems(schemas))


def test_adding_an_optional_field_in_a_minor_version_passes(schemas: Path) -> None:
    _edit(
        schemas,
        "AssetIngested",
        lambda d: _data(d)["properties"].update(camera_serial={"type": "string"}),
    )

    assert _problems(schemas) == []


def test_changing_a_schema_without_bumping_its_version_fails(schemas: Path) -> None:
    _edit(
        schemas,
        "AssetIngested",
        lambda d: _data(d)["properties"].update(camera_serial={"type": "string"}),
        version=SchemaCatalog(schemas).latest("AssetIngested").version,
    )

    assert any(
        "AssetIngested-v1" in p and "without a version bump" in p for p in _problems(schemas)
    )


def test_a_breaking_change_is_allowed_as_a_new_major_version(schemas: Path) -> None:
    folder = schemas / "events" / "AssetIngested"
    document = json.loads((folder / "v1.json").read_text(encoding="utf-8"))
    v2 = copy.deepcopy(document)
    v2["x-version"] = "2.0"
    v2["properties"]["detail"]["allOf"][1]["properties"]["metadata"]["properties"][
        "schema_version"
    ]["pattern"] = "^2\\.[0-9]+$"
    _data(v2)["properties"].pop("sha256")
    _data(v2)["required"].remove("sha256")
    (folder / "v2.json").write_text(json.dumps(v2, indent=2), encoding="utf-8")

    catalog = SchemaCatalog(schemas)

    assert catalog.latest("AssetIngested").major == 2
    assert check_catalog(catalog) == []


def test_compare_reports_nothing_for_identical_schemas() -> None:
    document = SchemaCatalog(SCHEMAS).get("AssetRejected", 1).document

    assert compare("AssetRejected-v1", document, copy.deepcopy(document)) == []


def test_problem_reads_as_schema_field_and_message() -> None:
    problem = Problem("AssetIngested-v1", "detail.data.sha256", "removed or renamed")

    assert str(problem) == "AssetIngested-v1: detail.data.sha256: removed or renamed"
