"""Fixtures for ingest's unit tests: moto in-process, fake credentials (the root conftest blocks
the network).

The environment is set per test (monkeypatch) and the handler module is (re)imported inside the
mocked AWS, so its module-level clients and settings see exactly this test's world.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from ingest.logic import Ingestor, build_idempotency
from ingest.settings import IngestSettings
from media_shared import CommonSettings, SchemaCatalog
from media_shared.settings import default_schemas_dir
from tests.support import images

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUS = "media-test-bus"
UPLOADS = "media-test-uploads"
ORIGINALS = "media-test-originals"
DLQ = "media-test-ingest-dlq"
CAPTURE = "media-test-capture"
IDEMPOTENCY_TABLE = "media-test-ingest-idempotency"
SERVICE = "ingest"
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "published" / SERVICE


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


@dataclass
class Published:
    """Events that reached the bus, read back through a catch-all rule to an SQS queue."""

    sqs: Any
    queue_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def drain(self) -> list[dict[str, Any]]:
        """Everything delivered since the last drain (also kept in ``seen`` and on disk)."""
        new: list[dict[str, Any]] = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = response.get("Messages", [])
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
        self.drain()
        return [event for event in self.seen if event["detail-type"] == detail_type]


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
    """Start each run with an empty folder (per xdist worker: only its own files)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if ARTIFACTS.is_dir():
        for path in ARTIFACTS.glob(f"{worker}-*.json"):
            path.unlink()


@dataclass
class Aws:
    """The mocked account and the names in it."""

    s3: Any
    sqs: Any
    events: Any
    dynamodb: Any
    dlq_url: str
    published: Published
    uploads: str = UPLOADS
    originals: str = ORIGINALS
    bus: str = BUS

    def put_upload(
        self, key: str, body: bytes, *, content_type: str = "image/jpeg"
    ) -> dict[str, Any]:
        """Upload like a client would; return what S3 says (VersionId, ETag)."""
        response: dict[str, Any] = self.s3.put_object(
            Bucket=UPLOADS, Key=key, Body=body, ContentType=content_type
        )
        return response

    def dlq_messages(self) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.dlq_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return list(response.get("Messages", []))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def upload_versions(self) -> list[dict[str, Any]]:
        listing = self.s3.list_object_versions(Bucket=UPLOADS)
        return list(listing.get("Versions", [])) + list(listing.get("DeleteMarkers", []))


@pytest.fixture
def aws(fake_credentials: None) -> Iterator[Aws]:
    """A mocked account: versioned uploads bucket, originals bucket, bus, DLQ, capture queue."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        s3.create_bucket(Bucket=UPLOADS)
        s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(Bucket=ORIGINALS)
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
            s3=s3,
            sqs=sqs,
            events=events,
            dynamodb=dynamodb,
            dlq_url=dlq_url,
            published=Published(sqs=sqs, queue_url=capture_url),
        )


@pytest.fixture
def idempotency_table(aws: Aws) -> str:
    """The table Powertools Idempotency expects: partition key ``id``, TTL on ``expiration``."""
    aws.dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return IDEMPOTENCY_TABLE


@pytest.fixture
def catalog() -> SchemaCatalog:
    return SchemaCatalog(default_schemas_dir())


def make_settings(**overrides: Any) -> IngestSettings:
    values: dict[str, Any] = {
        "common": CommonSettings(service=SERVICE, event_bus_name=BUS),
        "uploads_bucket": UPLOADS,
        "originals_bucket": ORIGINALS,
    }
    values.update(overrides)
    return IngestSettings(**values)


@pytest.fixture
def make_ingestor(
    aws: Aws, catalog: SchemaCatalog, tmp_path: Path, lambda_context: FakeLambdaContext
) -> Callable[..., Ingestor]:
    """Build the logic directly, as a test wants it (idempotent or not, with its limits)."""

    def build(*, idempotency_table: str | None = None, **overrides: Any) -> Ingestor:
        transfer_config = overrides.pop("transfer_config", None)
        settings = make_settings(idempotency_table=idempotency_table, **overrides)
        idempotency = build_idempotency(idempotency_table, aws.dynamodb)
        if idempotency is not None:
            idempotency.config.register_lambda_context(lambda_context)
        return Ingestor(
            settings=settings,
            s3=aws.s3,
            catalog=catalog,
            idempotency=idempotency,
            transfer_config=transfer_config,
            spool_dir=str(tmp_path),
        )

    return build


@pytest.fixture
def handler_env(monkeypatch: pytest.MonkeyPatch, aws: Aws) -> Callable[..., ModuleType]:
    """Set the Lambda's environment, then (re)import ``ingest.handler`` under it."""

    def load(**extra: str) -> ModuleType:
        env = {
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": "MediaPipeline",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "EVENT_BUS_NAME": BUS,
            "DLQ_URL": aws.dlq_url,
            "UPLOADS_BUCKET": UPLOADS,
            "ORIGINALS_BUCKET": ORIGINALS,
            **extra,
        }
        monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        module = importlib.import_module("ingest.handler")
        return importlib.reload(module)

    return load


@dataclass
class FakeLambdaContext:
    function_name: str = "media-test-ingest"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:media-test-ingest"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = "/aws/lambda/media-test-ingest"
    log_stream_name: str = "2026/11/23/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


# -- test images: generated by tests.support.images (photographic-ish), never downloaded ------


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    """``make_image("PNG", width=..., height=..., **save_options)`` -> encoded bytes."""

    def build(fmt: str = "JPEG", *, width: int = 320, height: int = 240, **options: Any) -> bytes:
        picture = images.photo(width, height)
        if fmt == "GIF":
            picture = picture.convert("P", palette=Image.Palette.ADAPTIVE)
        return images.encode(picture, fmt, **options)

    return build


@pytest.fixture
def jpeg_bytes() -> bytes:
    return images.jpeg(320, 240, quality=85)
