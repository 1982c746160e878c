"""The merge rules on their own: pure functions, no AWS."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from indexer.merge import Fact, derive, merge, normalise_time

ASSET = "0123456789abcdef0123456789abcdef"


def fact(attribute: str, time: str, event_id: str = "e", **data: Any) -> Fact:
    return Fact(
        asset_id=ASSET,
        attribute=attribute,
        event_id=event_id,
        time=time,
        data={"asset_id": ASSET, **data},
        service=data.get("service") if attribute == "failure" else None,
    )


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("2026-11-23T10:15:30Z", "2026-11-23T10:15:30.000Z"),
        ("2026-11-23T10:15:30.125Z", "2026-11-23T10:15:30.125Z"),
        ("2026-11-23T12:15:30.125+02:00", "2026-11-23T10:15:30.125Z"),
    ],
)
def test_times_are_normalised_to_utc_milliseconds_so_they_compare_as_strings(
    raw: str, normal: str
) -> None:
    assert normalise_time(raw) == normal


def test_status_precedence_is_rejected_then_indexed_then_failed_then_pending() -> None:
    base = {"asset_id": ASSET}
    stored = {"event_id": "e", "time": "2026-01-01T00:00:00.000Z", "data": {}}
    failure = {"failure": {"thumbnailer": {**stored, "data": {"reason": "corrupt"}}}}
    complete = {name: stored for name in ("ingested", "metadata", "thumbnails")}

    assert derive({**base, "ingested": stored})["status"] == "pending"
    assert derive({**base, "ingested": stored, **failure})["status"] == "failed"
    assert derive({**base, **complete, **failure})["status"] == "indexed"
    assert derive({**base, **complete, "rejection": stored})["status"] == "rejected"


def test_merging_is_commutative_and_idempotent_over_a_set_of_facts() -> None:
    facts = [
        fact("ingested", "2026-01-01T00:00:01.000Z", "a", format="png", width=10, height=5),
        fact("metadata", "2026-01-01T00:00:02.000Z", "b", exif={"make": "Canon", "model": "R5"}),
        fact("failure", "2026-01-01T00:00:03.000Z", "c", service="thumbnailer", reason="x"),
        fact("failure", "2026-01-01T00:00:04.000Z", "d", service="thumbnailer", reason="y"),
    ]
    results = []
    for order in itertools.permutations(facts):
        item = None
        for each in (*order, *order):
            item = merge(item, each)
        results.append(item)

    assert all(result == results[0] for result in results)
    assert results[0]["failure"]["thumbnailer"]["data"]["reason"] == "y"  # the later one
    assert results[0]["camera"] == "canon#r5"
    assert results[0]["updated_at"] == "2026-01-01T00:00:04.000Z"


def test_floats_merge_the_same_before_and_after_a_dynamodb_round_trip() -> None:
    stored_once = merge(None, fact("metadata", "2026-01-01T00:00:00.000Z", focal=23.0, f=5.6))
    assert merge(stored_once, fact("metadata", "2026-01-01T00:00:00.000Z", focal=23.0, f=5.6)) == (
        stored_once
    )


def test_an_event_produced_again_later_under_the_same_id_changes_nothing() -> None:
    # a duplicate delivery re-ran the metadata-extractor: same facts, same event id, later time
    first = fact("metadata", "2026-01-01T00:00:02.000Z", "m", exif={"make": "Canon"})
    again = fact("metadata", "2026-01-01T00:09:00.000Z", "m", exif={"make": "Canon"})

    in_order = merge(merge(None, first), again)
    reversed_order = merge(merge(None, again), first)

    assert in_order == merge(None, first)
    assert reversed_order == in_order  # the earliest copy stands, whatever arrived first


def test_the_placeholder_of_thumbnails_generated_1_1_is_kept_on_the_record() -> None:
    # given an asset's facts, its ThumbnailsGenerated (1.1) carrying a BlurHash
    facts = [
        fact("ingested", "2026-01-01T00:00:01.000Z", "a", format="heic", width=30, height=40),
        fact(
            "thumbnails", "2026-01-01T00:00:02.000Z", "b", blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj"
        ),
    ]
    # when they are merged, in either order
    for order in (facts, facts[::-1]):
        item: dict[str, Any] | None = None
        for one in order:
            item = merge(item, one)
        # then the record shows the placeholder
        assert item is not None
        assert item["blurhash"] == "LEHV6nWB2yk8pyo0adR*.7kCMdnj"


def test_a_record_from_thumbnails_generated_1_0_has_no_placeholder() -> None:
    item = merge(None, fact("thumbnails", "2026-01-01T00:00:02.000Z", "b", renditions=[]))

    assert "blurhash" not in item
