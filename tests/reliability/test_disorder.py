"""Events in any order at the indexer, through the real stack, give the same record.

The indexer's rules are given no target while one upload goes through ingest, the thumbnailer
and the metadata-extractor, so their three events are captured from the bus but not delivered.
They are then delivered to the indexer's queue in several orders (each one waiting for the
previous to be merged, so the order is the order the indexer sees), starting from no record each
time: ThumbnailsGenerated and MetadataExtracted before AssetIngested, and the others.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.common import finished, for_asset, put, record, unique_prefix
from tests.support import images
from tests.support.stack import Pipeline, wait_until
from tools.cli.tail import BusTail

pytestmark = pytest.mark.e2e

FACTS = {
    "AssetIngested": "ingested",
    "ThumbnailsGenerated": "thumbnails",
    "MetadataExtracted": "metadata",
}
ORDERS = [
    ("ThumbnailsGenerated", "MetadataExtracted", "AssetIngested"),
    ("AssetIngested", "ThumbnailsGenerated", "MetadataExtracted"),
    ("MetadataExtracted", "AssetIngested", "ThumbnailsGenerated"),
]
# What the indexer records about its own work rather than about the facts.
BOOKKEEPING = ("revision", "indexed_claimed_at")


@pytest.fixture
def indexer_unplugged(stack: Pipeline) -> Iterator[list[tuple[str, list[dict[str, Any]]]]]:
    """The indexer's rules, with their targets removed until the test ends (then restored)."""
    events, bus = stack.target.events, stack.target.bus_name
    queue_arn = stack.queues["indexer"].queue_arn
    removed: list[tuple[str, list[dict[str, Any]]]] = []
    try:
        for rule in events.list_rules(EventBusName=bus)["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
            mine = [dict(t) for t in targets if t["Arn"] == queue_arn]
            if mine:
                events.remove_targets(
                    Rule=rule["Name"], EventBusName=bus, Ids=[t["Id"] for t in mine]
                )
                removed.append((rule["Name"], mine))
        yield removed
    finally:
        for name, targets in removed:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)  # type: ignore[arg-type]


def captured_facts(tail: BusTail, asset: str, timeout: float = 90) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout
    while set(found) != set(FACTS) and time.monotonic() < deadline:
        for event in for_asset(tail.events(timeout=2), asset):
            if event["detail-type"] in FACTS:
                found.setdefault(event["detail-type"], event)
    assert set(found) == set(FACTS), f"only {sorted(found)} were published"
    return found


def comparable(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in BOOKKEEPING}


def test_the_indexer_builds_the_same_record_whatever_order_the_facts_arrive_in(
    stack: Pipeline, indexer_unplugged: list[tuple[str, list[dict[str, Any]]]]
) -> None:
    target = stack.target
    assert len(indexer_unplugged) >= 3
    key = unique_prefix("disorder") + "photo.jpg"
    with BusTail(target) as tail:
        asset = put(target, key, images.jpeg(800, 600, seed=31, exif=images.camera_exif())).asset_id
        facts = captured_facts(tail, asset)
    stack.wait_idle()
    assert record(target, asset) is None, "the indexer saw the events although unplugged"

    indexer_queue = stack.queues["indexer"].queue_url
    table = target.index_table
    records: dict[tuple[str, ...], dict[str, Any]] = {}
    for order in ORDERS:
        target.dynamodb.delete_item(TableName=table, Key={"asset_id": {"S": asset}})
        for number, detail_type in enumerate(order, start=1):
            target.sqs.send_message(
                QueueUrl=indexer_queue, MessageBody=json.dumps(facts[detail_type])
            )
            merged = set(FACTS[d] for d in order[:number])

            def has_merged(expected: set[str] = merged) -> bool:
                found = record(target, asset)
                return found is not None and expected <= set(found.item)

            wait_until(has_merged, 60, f"{detail_type} merged ({' -> '.join(order)})")
            if number < len(order):
                current = record(target, asset)
                assert current is not None
                assert current.status == "pending", (order, number, current.status)
        wait_until(lambda: finished(record(target, asset)), 60, "the asset indexed and announced")
        final = record(target, asset)
        assert final is not None
        records[order] = comparable(final.item)

    first = records[ORDERS[1]]  # in order: ingested, thumbnails, metadata
    assert first["status"] == "indexed"
    for order, item in records.items():
        assert item == first, f"{' -> '.join(order)} gave another record"
