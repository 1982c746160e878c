"""The local stack's moto server delivers S3's events past an archive on the default bus.

``tools.localstack.moto_server.archive_s3_events``: plain moto stops handing an S3 notification
to the default bus's rules at the first archive with an event pattern (the platform's uploads
archive), so ingest's rule, created after it, never saw an upload.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.aws import REGION, drain, fake_credentials
from tools.localstack.moto_server import archive_s3_events

BUCKET = "media-test-uploads"
PATTERN = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": [BUCKET]}},
}


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    fake_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        default = events.describe_event_bus(Name="default")["Arn"]
        events.create_archive(
            ArchiveName="uploads", EventSourceArn=default, EventPattern=json.dumps(PATTERN)
        )
        # a schedule with a Lambda target, created before ingest's rule (the indexer's reconciler)
        events.put_rule(Name="a-schedule", ScheduleExpression="rate(30 minutes)")
        events.put_targets(
            Rule="a-schedule",
            Targets=[{"Id": "f", "Arn": f"arn:aws:lambda:{REGION}:123456789012:function:f"}],
        )
        queue = sqs.create_queue(QueueName="ingest")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        events.put_rule(Name="ingest", EventPattern=json.dumps(PATTERN))
        events.put_targets(
            Rule="ingest", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
        )
        yield {"s3": s3, "events": events, "sqs": sqs, "queue": queue}


def test_an_upload_reaches_the_rule_behind_an_archive_and_is_archived(
    account: dict[str, Any],
) -> None:
    archive_s3_events()
    account["s3"].put_object(Bucket=BUCKET, Key="incoming/a.jpg", Body=b"x")
    (delivered,) = [json.loads(m["Body"]) for m in drain(account["sqs"], account["queue"])]
    assert delivered["detail"]["object"]["key"] == "incoming/a.jpg"
    assert account["events"].describe_archive(ArchiveName="uploads")["EventCount"] == 1


def test_an_event_put_on_the_default_bus_skips_the_schedule_and_reaches_its_rule(
    account: dict[str, Any],
) -> None:
    archive_s3_events()
    detail = {"bucket": {"name": BUCKET}, "object": {"key": "incoming/b.jpg"}}
    entry = {"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(detail)}
    assert account["events"].put_events(Entries=[entry])["FailedEntryCount"] == 0
    (delivered,) = [json.loads(m["Body"]) for m in drain(account["sqs"], account["queue"])]
    assert delivered["detail"]["object"]["key"] == "incoming/b.jpg"
