from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from media_shared import SchemaCatalog
from tests.support.aws import BUS, capture_bus, drain, fake_credentials
from tests.support.events import SCHEMAS


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_credentials(monkeypatch)


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
    queue_url = capture_bus(events, sqs)
    return {"name": BUS, "queue_url": queue_url, "events": events, "sqs": sqs}


def received(bus: dict[str, Any]) -> list[dict[str, Any]]:
    """Every event delivered to the catch-all queue so far."""
    return [json.loads(message["Body"]) for message in drain(bus["sqs"], bus["queue_url"])]
