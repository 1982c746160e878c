"""``mediactl replay --uploads``: the uploads bucket's S3 events come back to the default bus.

S3 sends an upload's "Object Created" to the account's default bus, where the platform archives
the uploads bucket's events (infra/platform, ``aws_cloudwatch_event_archive.uploads``, its name
in ``/media-pipeline/<env>/platform/archives/uploads/name``). Moto in-process: that archive, a
rule standing in for ingest's (default bus -> a queue), and the media bus with its own archive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.aws import REGION, drain, fake_credentials
from tools.cli.errors import CliError
from tools.cli.replay import replay
from tools.localstack.target import Target

UPLOADS = "media-test-123456789012-uploads"
S3_EVENTS = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": [UPLOADS]}},
}


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    fake_credentials(monkeypatch)
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        ssm = boto3.client("ssm", region_name=REGION)
        bus_arn = events.create_event_bus(Name="media-test")["EventBusArn"]
        events.create_archive(ArchiveName="media-test-archive", EventSourceArn=bus_arn)
        default_arn = events.describe_event_bus(Name="default")["Arn"]
        events.create_archive(
            ArchiveName="media-test-uploads-archive",
            EventSourceArn=default_arn,
            EventPattern=json.dumps(S3_EVENTS),
        )
        queue = sqs.create_queue(QueueName="ingest")
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=queue["QueueUrl"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        events.put_rule(Name="ingest", EventPattern=json.dumps(S3_EVENTS))
        events.put_targets(Rule="ingest", Targets=[{"Id": "queue", "Arn": queue_arn}])
        for name, value in {
            "event-bus-name": "media-test",
            "event-bus-arn": bus_arn,
            "archives/uploads/name": "media-test-uploads-archive",
        }.items():
            ssm.put_parameter(
                Name=f"/media-pipeline/test/platform/{name}", Value=value, Type="String"
            )
        yield {"events": events, "sqs": sqs, "queue": queue["QueueUrl"]}


def _upload_event(key: str) -> dict[str, Any]:
    detail = {"bucket": {"name": UPLOADS}, "object": {"key": key, "version-id": "v1"}}
    return {"Source": "aws.s3", "DetailType": "Object Created", "Detail": json.dumps(detail)}


def test_replay_uploads_puts_the_archived_upload_events_back_to_ingest(
    account: dict[str, Any],
) -> None:
    # given an upload's S3 event on the default bus, delivered to ingest's rule once
    account["events"].put_events(Entries=[_upload_event("incoming/a/photo.jpg")])
    assert len(drain(account["sqs"], account["queue"])) == 1
    target = Target(environment="test", region=REGION)
    now = datetime.now(UTC)
    # when the operator replays the uploads of the last hour
    result = replay(target, now - timedelta(hours=1), now + timedelta(seconds=1), uploads=True)
    # then it replayed the uploads archive onto the default bus, and ingest got the event again
    assert result.archive == "media-test-uploads-archive"
    assert result.state in {"STARTING", "RUNNING", "COMPLETED"}
    (again,) = [json.loads(m["Body"]) for m in drain(account["sqs"], account["queue"])]
    assert again["detail"]["object"]["key"] == "incoming/a/photo.jpg"
    assert again.get("replay-name") == result.name


def test_replay_uploads_and_a_named_archive_contradict_each_other(
    account: dict[str, Any],
) -> None:
    target = Target(environment="test", region=REGION)
    now = datetime.now(UTC)
    with pytest.raises(CliError, match="not both"):
        replay(target, now - timedelta(hours=1), now, archive="x", uploads=True)
