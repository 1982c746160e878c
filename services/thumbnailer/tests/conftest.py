"""Fixtures of the thumbnailer's tests: fake credentials, an in-process moto, the handler under it.

``stack`` is the AWS side the handler expects (originals and derived buckets, the bus, a DLQ) plus
a catch-all rule from the bus to a capture queue, which is how a test sees what was published.
Every event a test reads back is also written to ``test-artifacts/published/thumbnailer/`` so a
contract test can re-validate it.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from media_shared.ids import asset_id as make_asset_id
from tests.support.events import example

SERVICE = "thumbnailer"
REGION = "us-east-1"
UPLOADS = "media-test-uploads"
ORIGINALS = "media-test-originals"
DERIVED = "media-test-derived"
BUS = "media-test-bus"
REPO = Path(__file__).resolve().parents[3]
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
ARTIFACTS = REPO / "test-artifacts" / "published" / SERVICE
_artifact_numbers = itertools.count(1)


def _artifact_pattern() -> str:
    return f"{WORKER}-*.json" if WORKER else "*.json"


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    """Forget what an earlier run recorded (under xdist, only this worker's files)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob(_artifact_pattern()):
        stale.unlink()


def record_artifact(event: dict[str, Any]) -> None:
    number = next(_artifact_numbers)
    name = f"{WORKER}-{number}.json" if WORKER else f"{number}.json"
    (ARTIFACTS / name).write_text(json.dumps(event, indent=2, sort_keys=True), encoding="utf-8")


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class Stack:
    """The moto resources of one test, and helpers to put originals and read results back."""

    s3: Any
    sqs: Any
    events: Any
    capture_url: str
    dlq_url: str
    uploads: str = UPLOADS
    originals: str = ORIGINALS
    derived: str = DERIVED
    bus: str = BUS

    @staticmethod
    def ingested(asset: str, key: str, **fields: Any) -> dict[str, Any]:
        return ingested(asset, key, **fields)

    def put_original(self, data: bytes, *, name: str = "photo.jpg") -> dict[str, Any]:
        """Store ``data`` as an original; return the AssetIngested event that announces it."""
        upload_key = f"incoming/{name}"
        asset = make_asset_id(UPLOADS, upload_key, None)
        key = f"originals/{asset}"
        self.s3.put_object(Bucket=ORIGINALS, Key=key, Body=data)
        return ingested(asset, key, upload_key=upload_key, size=max(1, len(data)))

    def _drain(self, queue_url: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            messages.extend(batch)

    def published(self) -> list[dict[str, Any]]:
        """Every event published to the bus since the last call (recorded as artifacts)."""
        events = [json.loads(message["Body"]) for message in self._drain(self.capture_url)]
        for event in events:
            record_artifact(event)
        return events

    def parked(self) -> list[dict[str, Any]]:
        """Messages in the DLQ since the last call, with their message attributes."""
        return self._drain(self.dlq_url)

    def derived_keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=DERIVED)
        return sorted(item["Key"] for item in listing.get("Contents", []))


def ingested(
    asset: str, key: str, *, upload_key: str = "incoming/photo.jpg", size: int = 1000
) -> dict[str, Any]:
    """An AssetIngested event (from the canonical example) about original ``key``."""
    event = example("AssetIngested")
    event["detail"]["metadata"]["correlation_id"] = asset
    event["detail"]["metadata"]["event_id"] = f"5c1d2e3f-4a5b-4c6d-8e7f-{asset[:12]}"
    event["detail"]["data"].update(
        {
            "asset_id": asset,
            "upload": {"bucket": UPLOADS, "key": upload_key, "version_id": None},
            "original": {"bucket": ORIGINALS, "key": key, "version_id": None},
            "filename": upload_key.rsplit("/", 1)[-1],
            "size_bytes": size,
        }
    )
    return event


@pytest.fixture
def stack(aws_credentials: None) -> Iterator[Stack]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        for bucket in (UPLOADS, ORIGINALS, DERIVED):
            s3.create_bucket(Bucket=bucket)
        events.create_event_bus(Name=BUS)
        capture_url = sqs.create_queue(QueueName="media-test-capture")["QueueUrl"]
        dlq_url = sqs.create_queue(QueueName=f"media-test-{SERVICE}-dlq")["QueueUrl"]
        capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
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
        yield Stack(s3=s3, sqs=sqs, events=events, capture_url=capture_url, dlq_url=dlq_url)


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> dict[str, str]:
    env = {
        "EVENT_BUS_NAME": BUS,
        "POWERTOOLS_SERVICE_NAME": SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": "MediaPipeline",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "DLQ_URL": stack.dlq_url,
        "ORIGINALS_BUCKET": ORIGINALS,
        "DERIVED_BUCKET": DERIVED,
    }
    for name in ("THUMBNAIL_SIZES", "THUMBNAIL_FORMAT", "THUMBNAIL_QUALITY", "MAX_IMAGE_PIXELS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def load_handler(
    handler_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., ModuleType]:
    """Import (or re-import) thumbnailer.handler as a cold start would, with extra env vars."""

    def load(**env: str) -> ModuleType:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        module = sys.modules.get("thumbnailer.handler")
        if module is None:
            return importlib.import_module("thumbnailer.handler")
        return importlib.reload(module)

    return load


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = f"media-test-{SERVICE}"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:123456789012:function:media-test-{SERVICE}"
    )
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
