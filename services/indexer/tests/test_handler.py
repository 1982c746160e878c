"""The indexer's Lambda handler driven like the event source mapping does: SQS batches."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from botocore.exceptions import ClientError

from tests.support.aws import attributes
from tests.support.events import example, sqs_batch


def test_a_batch_of_the_three_facts_indexes_the_asset_and_announces_it(
    aws: Any, handler: ModuleType, lambda_context: Any, facts: Any
) -> None:
    batch = sqs_batch(facts.thumbnails(), facts.ingested(), facts.metadata())

    response = handler.lambda_handler(batch, lambda_context)

    assert response == {"batchItemFailures": []}
    assert aws.item()["status"] == "indexed"
    assert [e["detail-type"] for e in aws.published()] == ["AssetIndexed"]


def test_the_same_facts_delivered_three_times_announce_the_asset_once(
    aws: Any, handler: ModuleType, lambda_context: Any, facts: Any
) -> None:
    events = [facts.ingested(), facts.metadata(), facts.thumbnails()]

    responses = [
        handler.lambda_handler(sqs_batch(*events, *reversed(events)), lambda_context),
        handler.lambda_handler(sqs_batch(*events), lambda_context),
    ]

    assert responses == [{"batchItemFailures": []}] * 2
    assert [e["detail-type"] for e in aws.published()] == ["AssetIndexed"]


def test_an_invalid_event_is_parked_in_the_dlq_and_reported(
    aws: Any, handler: ModuleType, lambda_context: Any
) -> None:
    # given a ThumbnailsGenerated that breaks its schema (width as a string)
    invalid = example("ThumbnailsGenerated", "invalid-width-as-string")

    response = handler.lambda_handler(sqs_batch(invalid), lambda_context)

    assert response == {"batchItemFailures": []}
    parked, failed = aws.assert_parked(invalid, reason="invalid_event")
    assert (attributes(parked)["service"], failed["source"]) == ("indexer", "media.indexer")
    assert failed["detail"]["data"]["asset_id"] == invalid["detail"]["metadata"]["correlation_id"]
    assert aws.dynamodb.scan(TableName=aws.table)["Count"] == 0


def test_one_bad_record_does_not_fail_its_neighbours(
    aws: Any,
    handler: ModuleType,
    lambda_context: Any,
    facts: Any,
    make_facts: Any,
) -> None:
    # given a batch: facts of one asset, an invalid event, and a fact of another asset whose
    # write DynamoDB throttles
    flaky = make_facts("0123456789abcdef0123456789abcdef")
    invalid = example("MetadataExtracted", "invalid-latitude-out-of-range")
    batch = sqs_batch(
        facts.ingested(), invalid, flaky.ingested(), facts.metadata(), facts.thumbnails()
    )

    def throttle(params: dict[str, Any], **kwargs: Any) -> None:
        if params["Key"]["asset_id"]["S"] == flaky.asset:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                "GetItem",
            )

    handler.dynamodb.meta.events.register("provide-client-params.dynamodb.GetItem", throttle)

    response = handler.lambda_handler(batch, lambda_context)

    # then only the throttled record is retried; the others are indexed or parked
    assert response == {"batchItemFailures": [{"itemIdentifier": batch["Records"][2]["messageId"]}]}
    assert aws.item()["status"] == "indexed"
    assert aws.item(flaky.asset) is None
    assert len(aws.parked()) == 1
    kinds = sorted(e["detail-type"] for e in aws.published())
    assert kinds == ["AssetIndexed", "ProcessingFailed"]
