"""Fixtures for the indexer's unit tests: moto in-process, the index table with its real keys,
a bus whose every event is read back, and factories of the facts the indexer consumes.
(The root conftest blocks the network.)
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from indexer.logic import Indexer, IndexStore
from media_shared import EventPublisher, SchemaCatalog, build_event
from media_shared.index import AssetIndex
from media_shared.settings import default_schemas_dir
from tests.support.events import example

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUS = "media-test-bus"
TABLE = "media-test-asset-index"
DLQ = "media-test-indexer-dlq"
CAPTURE = "media-test-capture"
SERVICE = "indexer"
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "published" / SERVICE

ASSET = "3f9a1c0e5b7d4e2f8a6c1b0d9e8f7a6b"


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


_artifact_count = 0


def _write_artifact(event: dict[str, Any]) -> None:
    """Keep every published event a test observed, for the contract tests to re-validate."""
    global _artifact_count
    _artifact_count += 1
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{worker}-{_artifact_count}.json"
    path.write_text(json.dumps(event, indent=2, sort_keys=True), encoding="utf-8")


@pytest.fixture(scope="session", autouse=True)
def fresh_artifacts() -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if ARTIFACTS.is_dir():
        for path in ARTIFACTS.glob(f"{worker}-*.json"):
            path.unlink()


@dataclass
class Published:
    """Events that reached the bus, read back through a catch-all rule to an SQS queue."""

    sqs: Any
    queue_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def drain(self) -> list[dict[str, Any]]:
        new: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                new.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        for event in new:
            _write_artifact(event)
        self.seen.extend(new)
        return new

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [event for event in self.drain() if event["detail-type"] == detail_type]


KEY_ATTRIBUTES = ("asset_id", "status", "updated_at", "camera", "taken_at", "taken_year")


def create_index_table(dynamodb: Any, name: str = TABLE) -> None:
    """The table exactly as services/indexer/infra/README-table.md describes it."""
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"} for attribute in KEY_ATTRIBUTES
        ],
        KeySchema=[{"AttributeName": "asset_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, partition, sort in (
                ("by_status", "status", "updated_at"),
                ("by_camera", "camera", "taken_at"),
                ("by_taken", "taken_year", "taken_at"),
            )
        ],
    )


@dataclass
class Aws:
    """The mocked account and the names in it."""

    dynamodb: Any
    sqs: Any
    events: Any
    dlq_url: str
    published: Published
    table: str = TABLE
    bus: str = BUS

    def item(self, asset: str = ASSET) -> dict[str, Any] | None:
        record = AssetIndex(self.dynamodb, self.table).get(asset)
        return None if record is None else record.item

    def forget(self, asset: str = ASSET) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key={"asset_id": {"S": asset}})

    def dlq_messages(self) -> list[dict[str, Any]]:
        return list(
            self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
        )


@pytest.fixture
def aws(fake_credentials: None) -> Iterator[Aws]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        create_index_table(dynamodb)
        dlq_url = sqs.create_queue(QueueName=DLQ)["QueueUrl"]
        capture_url = sqs.create_queue(QueueName=CAPTURE)["QueueUrl"]
        capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.create_event_bus(Name=BUS)
        events.put_rule(
            Name="capture-everything",
            EventBusName=BUS,
            EventPattern=json.dumps({"source": [{"prefix": "media."}]}),
        )
        events.put_targets(
            Rule="capture-everything",
            EventBusName=BUS,
            Targets=[{"Id": "capture", "Arn": capture_arn}],
        )
        yield Aws(
            dynamodb=dynamodb,
            sqs=sqs,
            events=events,
            dlq_url=dlq_url,
            published=Published(sqs=sqs, queue_url=capture_url),
        )


@pytest.fixture(scope="session")
def catalog() -> SchemaCatalog:
    return SchemaCatalog(default_schemas_dir())


class Clock:
    """A clock a test moves by hand."""

    def __init__(self, now: float = 1_795_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_indexer(aws: Aws, catalog: SchemaCatalog, clock: Clock) -> Callable[..., Indexer]:
    def build(**overrides: Any) -> Indexer:
        publisher = overrides.pop(
            "publisher", EventPublisher(aws.events, BUS, catalog, sleep=lambda _: None)
        )
        return Indexer(
            store=IndexStore(aws.dynamodb, TABLE),
            publisher=publisher,
            catalog=catalog,
            clock=clock,
            **overrides,
        )

    return build


# -- the facts the indexer consumes, as EventBridge delivers them ------------------------------


def delivered(event: Any) -> dict[str, Any]:
    """A published Event as its consumer receives it: with EventBridge's own fields."""
    whole = event.as_event()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "account": ACCOUNT,
        "time": event.detail["metadata"]["time"][:19] + "Z",
        "region": REGION,
        "resources": [],
        **whole,
    }


class Facts:
    """Valid events about one asset, built from the schemas' own examples."""

    def __init__(self, catalog: SchemaCatalog, asset: str = ASSET) -> None:
        self.catalog = catalog
        self.asset = asset

    def _event(
        self, name: str, producer: str, data: dict[str, Any], *, time: str, event_id: str
    ) -> dict[str, Any]:
        event = build_event(
            self.catalog.latest(name),
            producer=producer,
            data=data,
            correlation_id=self.asset,
            causation_id=None,
            event_id=event_id,
            time=time,
        )
        self.catalog.validate(event.as_event())
        return delivered(event)

    def _data(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = copy.deepcopy(example(name)["detail"]["data"])
        data["asset_id"] = self.asset
        for key in ("original", "upload", "quarantine"):
            if isinstance(data.get(key), dict) and "key" in data[key]:
                data[key]["key"] = data[key]["key"].replace(
                    "3f9a1c0e5b7d4e2f8a6c1b0d9e8f7a6b", self.asset
                )
        return data

    def ingested(self, *, time: str = "2026-11-23T10:00:00.100Z", **data: Any) -> dict[str, Any]:
        return self._event(
            "AssetIngested",
            "ingest",
            {**self._data("AssetIngested"), **data},
            time=time,
            event_id=f"00000000-0000-4000-8000-{self.asset[:12]}",
        )

    def metadata(self, *, time: str = "2026-11-23T10:00:02.200Z", **data: Any) -> dict[str, Any]:
        return self._event(
            "MetadataExtracted",
            "metadata-extractor",
            {**self._data("MetadataExtracted"), **data},
            time=time,
            event_id=f"11111111-0000-4000-8000-{self.asset[:12]}",
        )

    def thumbnails(
        self,
        *,
        time: str = "2026-11-23T10:00:03.300Z",
        event_id: str | None = None,
        **data: Any,
    ) -> dict[str, Any]:
        return self._event(
            "ThumbnailsGenerated",
            "thumbnailer",
            {**self._data("ThumbnailsGenerated"), **data},
            time=time,
            event_id=event_id or f"22222222-0000-4000-8000-{self.asset[:12]}",
        )

    def rejected(self, *, time: str = "2026-11-23T10:00:00.500Z", **data: Any) -> dict[str, Any]:
        return self._event(
            "AssetRejected",
            "ingest",
            {**self._data("AssetRejected"), **data},
            time=time,
            event_id=f"33333333-0000-4000-8000-{self.asset[:12]}",
        )

    def failed(
        self,
        *,
        service: str = "thumbnailer",
        reason: str = "corrupt",
        time: str = "2026-11-23T10:00:04.400Z",
        asset: str | None = "",
    ) -> dict[str, Any]:
        data = self._data("ProcessingFailed")
        data.update(service=service, reason=reason, asset_id=self.asset if asset == "" else asset)
        return self._event(
            "ProcessingFailed",
            service,
            data,
            time=time,
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"failed:{service}:{self.asset}")),
        )


@pytest.fixture
def facts(catalog: SchemaCatalog) -> Facts:
    return Facts(catalog)


@pytest.fixture
def make_facts(catalog: SchemaCatalog) -> Callable[[str], Facts]:
    return lambda asset: Facts(catalog, asset)


# -- the Lambda handler ------------------------------------------------------------------------


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch, aws: Aws) -> ModuleType:
    """``indexer.handler`` (re)imported under this test's environment, inside the mock."""
    for name, value in {
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": "MediaPipeline",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "EVENT_BUS_NAME": BUS,
        "DLQ_URL": aws.dlq_url,
        "INDEX_TABLE": TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    return importlib.reload(importlib.import_module("indexer.handler"))


@dataclass
class FakeLambdaContext:
    function_name: str = "media-test-indexer"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:media-test-indexer"
    aws_request_id: str = "d7af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = "/aws/lambda/media-test-indexer"
    log_stream_name: str = "2026/11/23/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
