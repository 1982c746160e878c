"""Under the concurrency the runtime itself creates, the local stack loses no write and no event.

Issue 11: on plain moto two conditional creates of one new index item both won, so an asset kept
its ``ingested`` and ``thumbnails`` facts but lost ``metadata`` and stayed ``pending`` for ever,
and a tail of the bus missed AssetIndexed events that the indexer had published. Here:

* many assets' facts (AssetIngested, ThumbnailsGenerated, MetadataExtracted, each delivered twice)
  are sent to the indexer's queue at once from many connections, so the indexer's warm workers
  merge facts of the same asset concurrently: every record ends indexed with every fact, and a
  tail receives exactly one AssetIndexed per asset;
* many producers put events on the bus at once: a tail receives each exactly once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest

from tests.reliability.common import record, wait_terminal
from tests.support.concurrency import THREADS, race
from tests.support.events import example
from tests.support.stack import Pipeline
from tools.cli.tail import BusTail

pytestmark = pytest.mark.e2e

ASSETS = 24
FACTS = {
    "AssetIngested": "ingested",
    "ThumbnailsGenerated": "thumbnails",
    "MetadataExtracted": "metadata",
}


def own_client(stack: Pipeline, service: str) -> Any:
    """A client with its own session and connections, like a separate worker process."""
    target = stack.target
    return boto3.session.Session().client(
        service,
        endpoint_url=target.endpoint,
        region_name=target.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def facts_of(asset: str) -> list[dict[str, Any]]:
    """The three facts of one asset, from the schemas' examples, with their own ids."""
    facts = []
    for detail_type in FACTS:
        event = example(detail_type)
        event["id"] = str(uuid.uuid4())
        event["detail"]["metadata"]["event_id"] = str(uuid.uuid4())
        event["detail"]["metadata"]["correlation_id"] = asset
        event["detail"]["data"]["asset_id"] = asset
        facts.append(event)
    return facts


def received(tail: BusTail, expected: int, quiet: float = 5.0) -> list[dict[str, Any]]:
    """What the tail gets until ``expected`` events came and ``quiet`` s passed with no more
    (so a duplicate would be seen), or 120 s in all."""
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        batch = list(tail.events(timeout=quiet))
        events += batch
        if len(events) >= expected and not batch:
            break
    return events


def test_facts_merged_concurrently_lose_nothing_and_announce_each_asset_once(
    stack: Pipeline,
) -> None:
    # given many assets' facts, each fact twice, in shuffled order across senders
    assets = [uuid.uuid4().hex for _ in range(ASSETS)]
    messages = [json.dumps(fact) for asset in assets for fact in facts_of(asset) for _ in (1, 2)]
    messages = messages[::2] + messages[1::2]  # each copy far from its twin
    queue = stack.queues["indexer"].queue_url
    clients = [own_client(stack, "sqs") for _ in range(THREADS)]

    with BusTail(stack.target, ["AssetIndexed"]) as tail:
        # when they reach the indexer's queue from many connections at once
        race(
            len(messages),
            lambda n: clients[n % THREADS].send_message(QueueUrl=queue, MessageBody=messages[n]),
        )
        done = wait_terminal(stack.target, assets, timeout=240)
        announced = received(tail, len(assets))

    # then every record is indexed with every fact, and each asset was announced once
    incomplete = {
        asset: sorted(set(FACTS.values()) - set(found.item))
        for asset, found in done.items()
        if found.status != "indexed" or not set(FACTS.values()) <= set(found.item)
    }
    assert incomplete == {}
    counts = Counter(event["detail"]["data"]["asset_id"] for event in announced)
    assert counts == Counter(assets)
    for asset in assets:
        final = record(stack.target, asset)
        assert final is not None
        assert final.item.get("indexed_published") is True


def test_every_event_put_concurrently_reaches_a_tail_once(stack: Pipeline) -> None:
    # given a tail of a detail-type no service consumes
    detail_type = f"StressProbe{uuid.uuid4().hex[:6]}"
    clients = [own_client(stack, "events") for _ in range(THREADS)]
    bus = stack.target.bus_name

    with BusTail(stack.target, [detail_type]) as tail:
        # when many producers put batches of ten at once
        def put(index: int) -> list[str]:
            marks = [f"{index}-{n}" for n in range(10)]
            answer = clients[index % THREADS].put_events(
                Entries=[
                    {
                        "EventBusName": bus,
                        "Source": "media.stress-test",
                        "DetailType": detail_type,
                        "Detail": json.dumps({"mark": mark}),
                    }
                    for mark in marks
                ]
            )
            assert answer["FailedEntryCount"] == 0
            return marks

        sent = [mark for marks in race(THREADS * 3, put) for mark in marks]
        events = received(tail, len(sent))

    # then the tail received each event exactly once
    assert Counter(event["detail"]["mark"] for event in events) == Counter(sent)
