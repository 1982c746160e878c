"""ingest's Lambda handler driven like the event source mapping does: SQS batches of S3 events."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import images
from tests.support.aws import attributes
from tests.support.events import sqs_batch
from tests.support.s3events import object_created


def announce(aws: Any, key: str, body: bytes, *, encode: bool = True, **put: Any) -> dict[str, Any]:
    response = aws.put_upload(key, body, **put)
    return object_created(
        aws.uploads, key, size=len(body), version_id=response["VersionId"], encode=encode
    )


@pytest.fixture
def handler(handler_env: Callable[..., ModuleType]) -> ModuleType:
    return handler_env()


def test_an_upload_in_a_batch_is_ingested_and_announced_on_the_bus(
    aws: Any, handler: ModuleType, lambda_context: Any, jpeg_bytes: bytes
) -> None:
    # given a client's upload and the S3 event announcing it, key URL-encoded as AWS sends it
    event = announce(aws, "incoming/summer 2026/IMG+1.jpg", jpeg_bytes)

    # when the handler receives it from SQS
    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then nothing is retried, and AssetIngested reached the bus
    assert response == {"batchItemFailures": []}
    published = aws.published()
    assert [e["detail-type"] for e in published] == ["AssetIngested"]
    data = published[0]["detail"]["data"]
    assert data["upload"]["key"] == "incoming/summer 2026/IMG+1.jpg"
    assert aws.keys(aws.originals) == [f"originals/{data['asset_id']}"]
    assert aws.parked() == []


def test_a_rejected_upload_is_announced_and_quarantined(
    aws: Any, handler: ModuleType, lambda_context: Any
) -> None:
    event = announce(aws, "incoming/notes.jpg", images.text_file())

    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    assert response == {"batchItemFailures": []}
    [rejected] = aws.published()
    assert rejected["detail-type"] == "AssetRejected"
    assert rejected["detail"]["data"]["reason"] == "unsupported_type"
    assert aws.keys(aws.originals) == [rejected["detail"]["data"]["quarantine"]["key"]]


@pytest.mark.parametrize("idempotent", [False, True], ids=["no-idempotency", "idempotency"])
def test_the_same_s3_event_three_times_gives_one_asset_and_one_fact(
    aws: Any,
    handler_env: Callable[..., ModuleType],
    lambda_context: Any,
    jpeg_bytes: bytes,
    request: pytest.FixtureRequest,
    idempotent: bool,
) -> None:
    # given ingest with or without its idempotency table, and one upload
    extra = (
        {"IDEMPOTENCY_TABLE": request.getfixturevalue("idempotency_table")} if idempotent else {}
    )
    handler = handler_env(**extra)
    assert (handler.idempotency is not None) is idempotent
    event = announce(aws, "incoming/dup.jpg", jpeg_bytes)

    # when SQS delivers its event three times (twice in one batch, once more later)
    first = handler.lambda_handler(sqs_batch(event, event), lambda_context)
    second = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then there is one asset, and every AssetIngested on the bus is the same fact, same id
    assert first == second == {"batchItemFailures": []}
    published = aws.published()
    assert {e["detail-type"] for e in published} == {"AssetIngested"}
    assert len({e["detail"]["metadata"]["event_id"] for e in published}) == 1
    assert len({json.dumps(e["detail"]["data"], sort_keys=True) for e in published}) == 1
    asset = published[0]["detail"]["data"]["asset_id"]
    assert aws.keys(aws.originals) == [f"originals/{asset}"]
    assert aws.upload_versions() == []


def test_an_invalid_event_is_parked_in_the_dlq_and_reported(
    aws: Any, handler: ModuleType, lambda_context: Any
) -> None:
    # given an S3 event without an object key
    event = object_created(aws.uploads, "incoming/x.jpg", size=10, version_id="v1")
    del event["detail"]["object"]["key"]

    response = handler.lambda_handler(sqs_batch(event), lambda_context)

    # then it is not retried: it waits in the DLQ, verbatim, with the reason
    assert response == {"batchItemFailures": []}
    parked, failed = aws.assert_parked(event, reason="invalid_event")
    assert attributes(parked)["service"] == "ingest"
    assert "detail/object/key" in attributes(parked)["error_message"]
    # and ProcessingFailed says so on the bus
    assert failed["detail"]["data"]["failed_event"]["id"] == event["id"]


def test_a_body_that_is_not_json_is_parked(
    aws: Any, handler: ModuleType, lambda_context: Any
) -> None:
    response = handler.lambda_handler(sqs_batch("this is not json"), lambda_context)

    assert response == {"batchItemFailures": []}
    assert len(aws.parked()) == 1
    assert [e["detail-type"] for e in aws.published()] == ["ProcessingFailed"]


def test_an_upload_that_vanished_without_a_trace_is_parked_as_missing(
    aws: Any, handler: ModuleType, lambda_context: Any
) -> None:
    event = object_created(aws.uploads, "incoming/ghost.jpg", size=10, version_id="v-none")

    handler.lambda_handler(sqs_batch(event), lambda_context)

    aws.assert_parked(event, reason="missing")


def test_an_event_for_another_bucket_is_parked_and_nothing_is_touched(
    aws: Any, handler: ModuleType, lambda_context: Any, jpeg_bytes: bytes
) -> None:
    aws.s3.create_bucket(Bucket="media-test-elsewhere")
    aws.s3.put_object(Bucket="media-test-elsewhere", Key="x.jpg", Body=jpeg_bytes)
    event = object_created("media-test-elsewhere", "x.jpg", size=len(jpeg_bytes))

    handler.lambda_handler(sqs_batch(event), lambda_context)

    aws.assert_parked(event, reason="wrong_bucket")
    assert aws.keys("media-test-elsewhere") == ["x.jpg"]
    assert aws.keys(aws.originals) == []


def test_one_bad_record_does_not_fail_its_neighbours(
    aws: Any, handler: ModuleType, lambda_context: Any, jpeg_bytes: bytes
) -> None:
    # given a batch: a good upload, an invalid event, an upload S3 throttles, another good one
    good = announce(aws, "incoming/good-1.jpg", jpeg_bytes)
    invalid = {"source": "aws.s3", "detail-type": "Object Created", "id": "x", "detail": {}}
    flaky = announce(aws, "incoming/flaky.jpg", jpeg_bytes)
    also_good = announce(aws, "incoming/good-2.jpg", images.png(64, 48))

    def throttle(params: dict[str, Any], **kwargs: Any) -> None:
        if params.get("Key") == "incoming/flaky.jpg":
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow"}}, "HeadObject")

    handler.s3.meta.events.register("provide-client-params.s3.HeadObject", throttle)
    batch = sqs_batch(good, invalid, flaky, also_good)

    response = handler.lambda_handler(batch, lambda_context)

    # then only the throttled record is reported for retry
    flaky_id = batch["Records"][2]["messageId"]
    assert response == {"batchItemFailures": [{"itemIdentifier": flaky_id}]}
    # its neighbours were handled: two assets ingested, the invalid one parked
    kinds = sorted(e["detail-type"] for e in aws.published())
    assert kinds == ["AssetIngested", "AssetIngested", "ProcessingFailed"]
    assert len(aws.parked()) == 1
    # and the throttled upload is untouched, ready for the retry
    assert [v["Key"] for v in aws.upload_versions()] == ["incoming/flaky.jpg"]

    # when SQS retries it and S3 has recovered
    handler.s3.meta.events.unregister("provide-client-params.s3.HeadObject", throttle)
    retry = handler.lambda_handler(sqs_batch(flaky), lambda_context)

    assert retry == {"batchItemFailures": []}
    assert [e["detail-type"] for e in aws.published()] == ["AssetIngested"]
    assert aws.upload_versions() == []


def test_the_event_s3_itself_sends_through_eventbridge_and_sqs_is_handled(
    aws: Any, handler: ModuleType, lambda_context: Any, jpeg_bytes: bytes
) -> None:
    # given the uploads bucket notifying EventBridge, and ingest's rule feeding its queue
    aws.s3.put_bucket_notification_configuration(
        Bucket=aws.uploads, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    queue_url = aws.sqs.create_queue(QueueName="media-test-ingest")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [aws.uploads]}},
    }
    aws.events.put_rule(Name="media-test-ingest", EventPattern=json.dumps(pattern))
    aws.events.put_targets(Rule="media-test-ingest", Targets=[{"Id": "q", "Arn": queue_arn}])

    # when a client uploads, and Lambda's poller hands the queue's messages to the handler
    key = "incoming/from s3/IMG+0001 é.jpg"
    aws.put_upload(key, jpeg_bytes)
    messages = aws.sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
    )["Messages"]
    batch = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }
    response = handler.lambda_handler(batch, lambda_context)

    # then the upload is ingested under its real key
    assert response == {"batchItemFailures": []}
    [ingested] = aws.published()
    assert ingested["detail-type"] == "AssetIngested"
    assert ingested["detail"]["data"]["upload"]["key"] == key
    assert aws.upload_versions() == []
