"""Transient faults on every AWS dependency: retried, and the asset still completes.

The fault proxy between the functions and moto answers the first calls of each kind the way AWS
does when it is throttling or failing: S3 ``503 SlowDown``, ``500 InternalError``, ``503
ServiceUnavailable``; DynamoDB ``ProvisionedThroughputExceededException``, ``500``; EventBridge
``ThrottlingException``, ``InternalException``; and ``PutEvents`` answering 200 with entries
failed (``FailedEntryCount``), which no SDK retries: the publisher must.
"""

from __future__ import annotations

import pytest

from media_shared import SchemaCatalog
from media_shared.envelope import Event
from media_shared.publisher import EventPublisher
from media_shared.service import CLIENT_CONFIG
from tests.reliability.common import for_asset, put, unique_prefix, wait_terminal
from tests.support import images
from tests.support.stack import Pipeline
from tools.cli import publish
from tools.cli.tail import BusTail
from tools.runtime.faults import FaultProxy, Rule

pytestmark = pytest.mark.e2e


def test_a_few_throttles_and_5xx_on_s3_dynamodb_and_eventbridge_are_retried_within_the_invocation(
    stack: Pipeline, faults: FaultProxy
) -> None:
    # given every AWS call each service makes failing its first few times
    rules = faults.add(
        Rule("s3", "HeadObject", "throttle", times=2, function="ingest"),
        Rule("s3", "GetObject", "server", times=2, function="ingest"),
        Rule("s3", "CopyObject", "unavailable", times=2, function="ingest"),
        Rule("s3", "DeleteObject", "throttle", times=1, function="ingest"),
        Rule("dynamodb", "PutItem", "throttle", times=2, function="ingest"),
        Rule("events", "PutEvents", "throttle", times=2, function="ingest"),
        Rule("s3", "GetObject", "throttle", times=2, function="thumbnailer"),
        Rule("s3", "PutObject", "server", times=2, function="thumbnailer"),
        Rule("events", "PutEvents", partial=True, times=2, function="thumbnailer"),
        Rule("s3", "GetObject", "unavailable", times=2, function="metadata-extractor"),
        Rule("events", "PutEvents", "server", times=1, function="metadata-extractor"),
        Rule("events", "PutEvents", partial=True, times=1, function="metadata-extractor"),
        Rule("dynamodb", "GetItem", "throttle", times=2, function="indexer"),
        Rule("dynamodb", "UpdateItem", "server", times=2, function="indexer"),
        Rule("events", "PutEvents", partial=True, times=2, function="indexer"),
    )
    first_outcome = len(stack.outcomes)
    key = unique_prefix("faults") + "photo.jpg"

    # when a photo is uploaded
    with BusTail(stack.target, ["AssetIndexed"]) as tail:
        asset = put(stack.target, key, images.jpeg(640, 480, seed=41)).asset_id
        done = wait_terminal(stack.target, [asset])
        stack.wait_idle()
        announced = for_asset(tail.events(timeout=2), asset)

    # then every fault happened, and every one was retried without failing a record
    assert [(r.function, r.service, r.operation, r.hits) for r in rules if r.hits != r.times] == []
    assert done[asset].status == "indexed"
    assert len(announced) == 1
    failed = [o for o in stack.outcomes_since(first_outcome) if o.failed]
    assert failed == [], "a fault the SDK or the publisher should have absorbed failed a record"


def test_put_events_entries_that_fail_are_retried_alone_and_each_event_lands_once(
    stack: Pipeline, faults: FaultProxy
) -> None:
    # given a publisher whose first two PutEvents calls see every other entry fail
    catalog = SchemaCatalog(publish.SCHEMAS)
    events = [
        publish.refresh_ids(publish.load_event("AssetIndexed/valid-basic")[0]) for _ in range(5)
    ]
    client = stack.target.session.client(
        "events", endpoint_url=faults.endpoint("publisher-under-test"), config=CLIENT_CONFIG
    )
    publisher = EventPublisher(client, stack.target.bus_name, catalog)
    (rule,) = faults.add(
        Rule("events", "PutEvents", partial=True, times=2, function="publisher-under-test")
    )
    ids = [e["detail"]["metadata"]["event_id"] for e in events]

    # when it publishes five events in one batch
    with BusTail(stack.target, ["AssetIndexed"]) as tail:
        published = publisher.publish(
            [
                Event(source=e["source"], detail_type=e["detail-type"], detail=e["detail"])
                for e in events
            ]
        )
        seen = []
        for event in tail.events(timeout=10):
            if event["detail"]["metadata"]["event_id"] in ids:
                seen.append(event["detail"]["metadata"]["event_id"])
            if len(seen) >= len(ids):
                break

    # then the failed entries (3 of 5, then 2 of the 3) were sent again, and only they
    assert published == ids
    assert rule.failed_entries == 3 + 2
    assert faults.calls[("publisher-under-test", "events", "PutEvents")] == 3
    assert sorted(seen) == sorted(ids), "an event was lost or delivered twice"


def test_a_fault_outlasting_the_sdk_retries_fails_the_record_and_sqs_redelivers_it(
    stack: Pipeline, faults: FaultProxy
) -> None:
    # given the thumbnailer's reads failing six times in a row (the SDK tries five)
    first_outcome = len(stack.outcomes)
    key = unique_prefix("faults") + "photo.jpg"
    asset = put(stack.target, key, images.jpeg(640, 480, seed=42)).asset_id
    (rule,) = faults.add(
        Rule("s3", "GetObject", "server", times=6, function="thumbnailer", contains=asset)
    )

    # when the upload goes through
    done = wait_terminal(stack.target, [asset], timeout=180)

    # then the first delivery failed, its error was logged, and the redelivery completed it
    assert rule.hits == 6
    assert done[asset].status == "indexed"
    thumbnailer = stack.outcomes_since(first_outcome, "thumbnailer")
    assert [o.failed for o in thumbnailer if o.failed] == [1]
    logged = [
        line
        for line in stack.logs("thumbnailer").splitlines()
        if "processing failed; the message will be retried" in line and asset in line
    ]
    assert len(logged) == 1
    assert "InternalError" in logged[0]
