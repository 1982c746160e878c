"""Every schema is a publishable draft-04 schema; every example says what the schema means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from media_shared import EventSchema, InvalidEventError, SchemaCatalog
from media_shared.schemas import parse_version

REPO = Path(__file__).resolve().parents[2]
CATALOG = SchemaCatalog(REPO / "schemas")
SCHEMAS = list(CATALOG)
VALID = [(s, p) for s in SCHEMAS for p in s.examples("valid")]
INVALID = [(s, p) for s in SCHEMAS for p in s.examples("invalid")]
EXPECTED_EVENTS = {
    "AssetIngested",
    "AssetRejected",
    "ThumbnailsGenerated",
    "MetadataExtracted",
    "AssetIndexed",
    "ProcessingFailed",
}


def _id(value: object) -> str:
    if isinstance(value, EventSchema):
        return value.registry_name
    if isinstance(value, Path):
        return value.stem
    return str(value)


def test_the_catalog_holds_v1_of_every_event() -> None:
    assert {(s.name, s.major) for s in SCHEMAS} >= {(name, 1) for name in EXPECTED_EVENTS}


def test_the_envelope_is_a_draft4_schema_of_its_own() -> None:
    Draft4Validator.check_schema(CATALOG.envelope)
    assert CATALOG.envelope["$schema"] == "http://json-schema.org/draft-04/schema#"


@pytest.mark.parametrize("schema", SCHEMAS, ids=_id)
def test_schema_is_draft4_as_written_and_as_bundled(schema: EventSchema) -> None:
    assert schema.raw["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema.raw)
    Draft4Validator.check_schema(schema.document)


@pytest.mark.parametrize("schema", SCHEMAS, ids=_id)
def test_schema_references_the_shared_envelope(schema: EventSchema) -> None:
    assert schema.raw["definitions"]["envelope"] == {"$ref": "../../envelope/v1.json"}
    assert {"$ref": "#/definitions/envelope"} in schema.raw["properties"]["detail"]["allOf"]


@pytest.mark.parametrize("schema", SCHEMAS, ids=_id)
def test_schema_version_belongs_to_its_file(schema: EventSchema) -> None:
    major, _ = parse_version(schema.version)
    assert major == schema.major
    assert schema.path.name == f"v{schema.major}.json"


@pytest.mark.parametrize("schema", SCHEMAS, ids=_id)
def test_schema_has_valid_and_invalid_examples(schema: EventSchema) -> None:
    assert schema.examples("valid"), f"{schema.registry_name} has no valid example"
    assert schema.examples("invalid"), f"{schema.registry_name} has no invalid example"


@pytest.mark.parametrize("schema", SCHEMAS, ids=_id)
def test_sources_follow_the_naming_convention(schema: EventSchema) -> None:
    assert schema.sources
    assert all(source.startswith("media.") for source in schema.sources)
    assert schema.raw["properties"]["detail-type"]["enum"] == [schema.name]


@pytest.mark.parametrize(("schema", "path"), VALID, ids=_id)
def test_valid_example_passes(schema: EventSchema, path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))

    schema.validate(event)

    assert CATALOG.schema_for(event) is schema


@pytest.mark.parametrize(("schema", "path"), INVALID, ids=_id)
def test_invalid_example_fails_naming_the_schema(schema: EventSchema, path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))

    with pytest.raises(InvalidEventError) as raised:
        schema.validate(event)

    assert raised.value.schema == schema.registry_name
    assert schema.registry_name in str(raised.value)
