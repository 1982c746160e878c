"""The identifiers every service derives the same way: asset ids and deterministic event ids."""

from __future__ import annotations

import uuid

import pytest

from media_shared import SchemaCatalog, derived_event, stable_event_id
from tests.support.events import example

ASSET = "3f9a1c0e5b7d4e2f8a6c1b0d9e8f7a6b"
CAUSE = "5c1d2e3f-4a5b-4c6d-8e7f-3f9a1c0e5b7d"


def test_the_same_inputs_always_give_the_same_uuid() -> None:
    first = stable_event_id("thumbnailer", "ThumbnailsGenerated", CAUSE, {"asset_id": ASSET})
    second = stable_event_id("thumbnailer", "ThumbnailsGenerated", CAUSE, {"asset_id": ASSET})

    assert first == second
    assert uuid.UUID(first).version == 5


def test_the_ids_already_published_do_not_change() -> None:
    # Pinned: a change of the scheme would give a redelivery after a deploy a new id.
    assert (
        stable_event_id("thumbnailer", "ThumbnailsGenerated", CAUSE, {"asset_id": ASSET})
        == "48dbaf63-faf8-5ff9-931d-632308cdb32c"
    )
    assert (
        stable_event_id("ingest", "AssetIngested", data={"asset_id": ASSET})
        == "c751fbfe-db93-59ff-b350-bd92435f172f"
    )


def test_the_order_of_keys_in_the_data_does_not_matter() -> None:
    assert stable_event_id("p", "E", CAUSE, {"a": 1, "b": [1, 2]}) == stable_event_id(
        "p", "E", CAUSE, {"b": [1, 2], "a": 1}
    )


@pytest.mark.parametrize(
    ("producer", "name", "causation_id", "data"),
    [
        ("metadata-extractor", "ThumbnailsGenerated", CAUSE, {"asset_id": ASSET}),
        ("thumbnailer", "MetadataExtracted", CAUSE, {"asset_id": ASSET}),
        ("thumbnailer", "ThumbnailsGenerated", "another-event", {"asset_id": ASSET}),
        ("thumbnailer", "ThumbnailsGenerated", None, {"asset_id": ASSET}),
        ("thumbnailer", "ThumbnailsGenerated", CAUSE, {"asset_id": ASSET, "width": 1}),
        ("thumbnailer", "ThumbnailsGenerated", CAUSE, None),
    ],
    ids=["producer", "name", "causation", "no-causation", "data", "no-data"],
)
def test_any_different_input_gives_a_different_id(
    producer: str, name: str, causation_id: str | None, data: object
) -> None:
    reference = stable_event_id("thumbnailer", "ThumbnailsGenerated", CAUSE, {"asset_id": ASSET})

    assert stable_event_id(producer, name, causation_id, data) != reference


def test_a_derived_event_takes_its_id_from_its_cause_and_its_facts(catalog: SchemaCatalog) -> None:
    facts = example("MetadataExtracted")["detail"]["data"]

    def derive(cause: str) -> str:
        return derived_event(
            catalog.latest("MetadataExtracted"),
            producer="metadata-extractor",
            data=facts,
            correlation_id=ASSET,
            causation_id=cause,
        ).event_id

    assert derive(CAUSE) == derive(CAUSE)
    assert derive(CAUSE) == stable_event_id("metadata-extractor", "MetadataExtracted", CAUSE, facts)
    assert derive("another-event") != derive(CAUSE)
