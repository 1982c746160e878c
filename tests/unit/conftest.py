from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from media_shared import SchemaCatalog
from tests.support.events import SCHEMAS


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture(scope="session")
def catalog() -> SchemaCatalog:
    return SchemaCatalog(SCHEMAS)


@pytest.fixture
def bus(aws: None) -> dict[str, Any]:
    """A media bus with a catch-all rule into a queue, to read back what was published."""
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name="media-test")
    queue_url = sqs.create_queue(QueueName="media-test-everything")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name="everything",
        EventBusName="media-test",
        EventPattern='{"source": [{"prefix": "media."}]}',
    )
    events.put_targets(
        Rule="everything", EventBusName="media-test", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    return {"name": "media-test", "queue_url": queue_url, "events": events, "sqs": sqs}


def received(bus: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event delivered to the catch-all queue so far."""
    import json

    found = []
    while True:
        messages = (
            bus["sqs"]
            .receive_message(QueueUrl=bus["queue_url"], MaxNumberOfMessages=10, WaitTimeSeconds=0)
            .get("Messages", [])
        )
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            bus["sqs"].delete_message(
                QueueUrl=bus["queue_url"], ReceiptHandle=message["ReceiptHandle"]
            )
