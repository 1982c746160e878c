"""The consumer every service runs: validate, run the logic, publish; park the hopeless."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from media_shared import (
    Event,
    EventConsumer,
    EventPublisher,
    InboundEvent,
    PermanentError,
    SchemaCatalog,
    build_event,
)
from tests.support.events import example, sqs_batch
from tests.unit.conftest import received


class Recorder:
    """Logic that answers each AssetIngested with MetadataExtracted, or fails on request."""

    def __init__(self, catalog: SchemaCatalog) -> None:
        self.catalog = catalog
        self.seen: list[str] = []

    def __call__(self, inbound: InboundEvent) -> Sequence[Event]:
        self.seen.append(inbound.id)
        filename = inbound.data.get("filename", "")
        if filename == "transient.jpg":
            raise ConnectionError("S3 is having a moment")
        if filename == "hopeless.jpg":
            raise PermanentError("cannot decode", reason="corrupt")
        return [
            build_event(
                self.catalog.latest("MetadataExtracted"),
                producer="metadata-extractor",
                data=example("MetadataExtracted")["detail"]["data"],
                correlation_id=str(inbound.asset_id),
                causation_id=inbound.metadata["event_id"],
            )
        ]


@pytest.fixture
def dlq(aws: None) -> str:
    url: str = boto3.client("sqs").create_queue(QueueName="media-test-dlq")["QueueUrl"]
    return url


@pytest.fixture
def consumer(bus: dict[str, Any], dlq: str, catalog: SchemaCatalog) -> EventConsumer:
    return EventConsumer(
        service="metadata-extractor",
        catalog=catalog,
        publisher=EventPublisher(bus["events"], bus["name"], catalog),
        logic=Recorder(catalog),
        sqs=boto3.client("sqs"),
        dlq_url=dlq,
    )


def run(consumer: EventConsumer, *bodies: dict[str, Any] | str) -> dict[str, Any]:
    result: dict[str, Any] = process_partial_response(
        event=sqs_batch(*bodies),
        record_handler=consumer,
        processor=BatchProcessor(event_type=EventType.SQS),
    )
    return result


def parked(dlq: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (
        boto3.client("sqs")
        .receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )
    return messages


def named(filename: str) -> dict[str, Any]:
    event = example("AssetIngested")
    event["detail"]["data"]["filename"] = filename
    return event


def test_a_valid_event_runs_the_logic_and_publishes_its_result(
    consumer: EventConsumer, bus: dict[str, Any], catalog: SchemaCatalog
) -> None:
    result = run(consumer, example("AssetIngested"))

    published = received(bus)
    assert result == {"batchItemFailures": []}
    assert [e["detail-type"] for e in published] == ["MetadataExtracted"]
    assert (
        published[0]["detail"]["metadata"]["causation_id"]
        == (example("AssetIngested")["detail"]["metadata"]["event_id"])
    )


def test_an_invalid_event_is_parked_in_the_dlq_with_its_error_and_not_retried(
    consumer: EventConsumer, bus: dict[str, Any], dlq: str
) -> None:
    invalid = example("AssetIngested", "invalid-negative-size")

    result = run(consumer, invalid)

    (message,) = parked(dlq)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert result == {"batchItemFailures": []}
    assert json.loads(message["Body"]) == invalid
    assert attributes["reason"] == "invalid_event"
    assert attributes["service"] == "metadata-extractor"
    assert "detail/data/size_bytes" in attributes["error_message"]
    (failed,) = received(bus)
    assert failed["detail-type"] == "ProcessingFailed"
    assert failed["source"] == "media.metadata-extractor"
    assert failed["detail"]["data"]["reason"] == "invalid_event"
    assert failed["detail"]["data"]["asset_id"] == invalid["detail"]["metadata"]["correlation_id"]


def test_a_body_that_is_not_json_is_parked(consumer: EventConsumer, dlq: str) -> None:
    result = run(consumer, "this is not an event")

    (message,) = parked(dlq)
    assert result == {"batchItemFailures": []}
    assert message["Body"] == "this is not an event"
    assert message["MessageAttributes"]["reason"]["StringValue"] == "invalid_event"


def test_a_permanent_error_from_the_logic_is_parked_with_its_reason(
    consumer: EventConsumer, bus: dict[str, Any], dlq: str
) -> None:
    result = run(consumer, named("hopeless.jpg"))

    (message,) = parked(dlq)
    assert result == {"batchItemFailures": []}
    assert message["MessageAttributes"]["reason"]["StringValue"] == "corrupt"
    assert [e["detail"]["data"]["reason"] for e in received(bus)] == ["corrupt"]


def test_a_transient_error_fails_only_its_own_record(
    consumer: EventConsumer, bus: dict[str, Any], dlq: str
) -> None:
    result = run(consumer, named("a.jpg"), named("transient.jpg"), named("b.jpg"))

    assert result == {"batchItemFailures": [{"itemIdentifier": "message-2"}]}
    assert len(received(bus)) == 2
    assert parked(dlq) == []


def test_without_a_dlq_a_permanent_error_is_left_to_the_queue_redrive(
    bus: dict[str, Any], catalog: SchemaCatalog
) -> None:
    consumer = EventConsumer(
        service="metadata-extractor",
        catalog=catalog,
        publisher=EventPublisher(bus["events"], bus["name"], catalog),
        logic=Recorder(catalog),
    )

    result = run(consumer, named("fine.jpg"), named("hopeless.jpg"))

    assert result == {"batchItemFailures": [{"itemIdentifier": "message-2"}]}


def test_a_permanent_error_can_name_the_asset_the_event_did_not(
    bus: dict[str, Any], dlq: str, catalog: SchemaCatalog
) -> None:
    def logic(inbound: InboundEvent) -> Sequence[Event]:
        raise PermanentError("upload vanished", reason="missing", asset_id="ab" * 16)

    consumer = EventConsumer(
        service="ingest",
        catalog=catalog,
        publisher=EventPublisher(bus["events"], bus["name"], catalog),
        logic=logic,
        sqs=boto3.client("sqs"),
        dlq_url=dlq,
        parse=lambda event: InboundEvent(event=event, schema=None),
    )

    run(consumer, {"id": "s3-event", "detail-type": "Object Created", "detail": {}})

    (failed,) = received(bus)
    assert failed["detail"]["data"]["asset_id"] == "ab" * 16
    assert failed["detail"]["metadata"]["correlation_id"] == "ab" * 16
    assert failed["detail"]["data"]["reason"] == "missing"
