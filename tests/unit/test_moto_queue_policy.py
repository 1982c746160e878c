"""The local stack's moto server keeps a queue's policy when another attribute is set.

``tools.localstack.moto_server.keep_queue_policy_when_other_attributes_are_set``: plain moto
replaces a queue's policy with whatever each ``SetQueueAttributes`` carries, so the service
module's redrive policy (its own resource, set once both queues exist) dropped the queue policy,
and every local plan of a service root showed that policy to be added again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs import models

from tests.support.aws import REGION, fake_credentials
from tools.localstack.moto_server import keep_queue_policy_when_other_attributes_are_set

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "AllowOnlyTheServiceRules",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": f"arn:aws:sqs:{REGION}:123456789012:service",
        }
    ],
}


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_credentials(monkeypatch)
    # the correction patches moto's Queue class: put it back after the test
    monkeypatch.setattr(models.Queue, "_set_attributes", models.Queue._set_attributes)
    keep_queue_policy_when_other_attributes_are_set()
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


def _attributes(sqs: Any, url: str) -> dict[str, str]:
    found: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    return found


def test_setting_the_redrive_policy_keeps_the_policy_the_queue_was_created_with(sqs: Any) -> None:
    # given a queue created with its policy, and its DLQ (the service module's two queues)
    dlq = sqs.create_queue(QueueName="service-dlq")["QueueUrl"]
    dlq_arn = _attributes(sqs, dlq)["QueueArn"]
    url = sqs.create_queue(QueueName="service", Attributes={"Policy": json.dumps(POLICY)})[
        "QueueUrl"
    ]
    # when the redrive policy is set on its own, as aws_sqs_queue_redrive_policy does
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})
    # then the queue has both, as on AWS
    attributes = _attributes(sqs, url)
    assert json.loads(attributes["Policy"]) == POLICY
    assert json.loads(attributes["RedrivePolicy"]) == redrive


def test_setting_the_policy_empty_still_removes_it(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="service", Attributes={"Policy": json.dumps(POLICY)})[
        "QueueUrl"
    ]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in _attributes(sqs, url)
