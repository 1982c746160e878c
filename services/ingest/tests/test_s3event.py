"""Reading S3's "Object Created" event: the shape is checked, the key is kept as sent."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.s3event import ObjectCreated, parse_object_created
from media_shared import InvalidEventError
from tests.support.s3events import object_created


def test_a_well_formed_event_is_read_with_its_version_and_size() -> None:
    event = object_created("media-uploads", "incoming/a.jpg", size=42, version_id="v7")

    created = ObjectCreated.from_event(event)
    inbound = parse_object_created(event)

    assert (created.bucket, created.raw_key, created.size, created.version_id) == (
        "media-uploads",
        "incoming/a.jpg",
        42,
        "v7",
    )
    assert inbound.schema is None
    assert inbound.id == event["id"]
    assert inbound.detail_type == "Object Created"


@pytest.mark.parametrize(
    ("raw", "candidates"),
    [
        ("incoming/plain.jpg", ("incoming/plain.jpg",)),
        (
            "incoming/holiday+photos/IMG+1.jpg",
            ("incoming/holiday photos/IMG 1.jpg", "incoming/holiday+photos/IMG+1.jpg"),
        ),
        ("incoming/caf%C3%A9%2B.jpg", ("incoming/café+.jpg", "incoming/caf%C3%A9%2B.jpg")),
        ("incoming/100%.jpg", ("incoming/100%.jpg",)),
    ],
)
def test_the_decoded_key_is_tried_before_the_key_as_sent(
    raw: str, candidates: tuple[str, ...]
) -> None:
    created = ObjectCreated.from_event(object_created("b-uploads", raw, size=1))
    assert created.candidate_keys == candidates


def _without(path: tuple[str, ...]) -> dict[str, Any]:
    event = object_created("media-uploads", "incoming/a.jpg", size=42, version_id="v7")
    target: Any = event
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return event


@pytest.mark.parametrize(
    ("event", "named"),
    [
        (_without(("detail", "object", "key")), "detail/object/key"),
        (_without(("detail", "bucket")), "detail/bucket"),
        (_without(("detail",)), "detail"),
        (_without(("id",)), "id"),
        ({**object_created("b-up", "k", size=1), "source": "aws.s4"}, "source"),
        ({**object_created("b-up", "k", size=1), "detail-type": "Object Deleted"}, "detail-type"),
        (object_created("b-up", "k", size=-1), "detail/object/size"),
        (object_created("b-up", "", size=1), "detail/object/key"),
    ],
)
def test_a_malformed_event_is_invalid_and_the_message_names_the_field(
    event: dict[str, Any], named: str
) -> None:
    with pytest.raises(InvalidEventError) as raised:
        parse_object_created(event)
    assert named in str(raised.value)
    assert raised.value.reason == "invalid_event"


def test_the_idempotency_key_is_bucket_key_as_sent_and_version() -> None:
    created = ObjectCreated.from_event(
        object_created("media-uploads", "a b.jpg", size=1, version_id="v1", encode=True)
    )
    assert created.idempotency_payload() == {
        "bucket": "media-uploads",
        "key": "a+b.jpg",
        "version_id": "v1",
    }
