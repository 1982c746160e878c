"""The in-process AWS the unit tests run against (moto), and the ways a test reads it back.

* :func:`media_account`: one test's account: fake credentials, then inside ``mock_aws`` the bus
  with a catch-all rule into a capture queue (that is how a test sees what was published), the
  service's DLQ, and the buckets the service uses. It yields a :class:`MediaAccount` (or the
  service's subclass of it), whose ``published()``, ``parked()`` and ``assert_parked()`` read
  back the bus and the DLQ. Every event a test reads back is also kept under
  ``test-artifacts/published/<service>/`` (:class:`Artifacts`), one JSON file per event.
* :func:`fake_credentials`, :func:`capture_bus`, :func:`drain`: the same pieces one by one, for
  tests that need less (``tests/unit``).
* :func:`lambda_env`, :func:`handler_loader`: a service's Lambda environment, and its handler
  module (re)imported under it as a cold start would, so its module-level clients and settings
  see exactly this test's world.
* :class:`FakeLambdaContext`: what Powertools reads from a Lambda context.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from media_shared.ids import asset_id
from tests.support.events import REPO, example

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUS = "media-test-bus"
CAPTURE = "media-test-capture"
UPLOADS = "media-test-uploads"
ORIGINALS = "media-test-originals"
DERIVED = "media-test-derived"
METRICS_NAMESPACE = "MediaPipeline"

#: The session the tests' own clients come from (each account's are new clients of it, so a hook
#: a test registers on one goes with its account). moto gives every test a new default session,
#: which costs about 15 ms to build; the code under test still gets that one.
_SESSION = boto3.Session()


def client(service: str, **arguments: Any) -> Any:
    """A new client of ``service`` for a test's own reads and writes, on the mocked account."""
    return _SESSION.client(service, region_name=REGION, **arguments)


def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; no endpoint or profile that could lead to a real account."""
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


# -- reading queues back -----------------------------------------------------------------------


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting in the queue, with its message attributes, deleted as it is read."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


def attributes(message: Mapping[str, Any]) -> dict[str, str]:
    """The string message attributes of an SQS message (a parked one's service, reason, ...)."""
    return {
        name: value["StringValue"] for name, value in message.get("MessageAttributes", {}).items()
    }


def of_type(events: Iterable[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [event for event in events if event["detail-type"] == detail_type]


def capture_bus(
    events: Any,
    sqs: Any,
    *,
    bus: str = BUS,
    queue: str = CAPTURE,
    rule: str = "capture-everything",
) -> str:
    """Create ``bus`` with a rule sending everything the services publish to a queue; its URL."""
    events.create_event_bus(Name=bus)
    queue_url: str = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": "media."}]})
    )
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "capture", "Arn": queue_arn}])
    return queue_url


class Artifacts:
    """Events a service's tests read back, one JSON file each (per xdist worker).

    The first event recorded in a run first clears what an earlier run left (under xdist, only
    this worker's files), so the folder holds this run's events only.
    """

    def __init__(self, service: str) -> None:
        self.folder = REPO / "test-artifacts" / "published" / service
        self.worker = os.environ.get("PYTEST_XDIST_WORKER")
        self._numbers = itertools.count(1)
        self._cleared = False

    def clear(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(f"{self.worker}-*.json" if self.worker else "*.json"):
            stale.unlink()
        self._cleared = True

    def record(self, event: dict[str, Any]) -> None:
        if not self._cleared:
            self.clear()
        path = self.folder / f"{self.worker or 'main'}-{next(self._numbers)}.json"
        path.write_text(json.dumps(event, indent=2, sort_keys=True), encoding="utf-8")


# -- one test's account ------------------------------------------------------------------------


@dataclass
class MediaAccount:
    """The mocked account of one service's test, the names in it, and what reads it back."""

    service: str
    sqs: Any
    events: Any
    dlq_url: str
    capture_url: str
    artifacts: Artifacts | None = None
    bus: str = BUS
    uploads: str = UPLOADS
    originals: str = ORIGINALS
    derived: str = DERIVED

    @cached_property
    def s3(self) -> Any:
        return client("s3")

    @cached_property
    def dynamodb(self) -> Any:
        return client("dynamodb")

    def published(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Events that reached the bus since the last call (only ``detail_type``'s, if given)."""
        events = [json.loads(message["Body"]) for message in drain(self.sqs, self.capture_url)]
        if self.artifacts is not None:
            for event in events:
                self.artifacts.record(event)
        return events if detail_type is None else of_type(events, detail_type)

    def parked(self) -> list[dict[str, Any]]:
        """Messages parked in the service's DLQ since the last call, with their attributes."""
        return drain(self.sqs, self.dlq_url)

    def assert_parked(self, body: Any, *, reason: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check that ``body`` alone was parked in the DLQ with ``reason`` and the service's name,
        and that one ProcessingFailed from the service says why; return (message, event)."""
        messages = self.parked()
        assert len(messages) == 1, f"expected one parked message, found {messages}"
        (message,) = messages
        assert json.loads(message["Body"]) == body, f"parked {message['Body']}, not {body}"
        assert attributes(message)["reason"] == reason, attributes(message)
        assert attributes(message)["service"] == self.service, attributes(message)
        events = self.published()
        assert len(events) == 1, f"expected one ProcessingFailed, found {events}"
        (failed,) = events
        assert failed["detail-type"] == "ProcessingFailed", failed
        assert failed["source"] == f"media.{self.service}", failed
        assert failed["detail"]["data"]["reason"] == reason, failed
        return message, failed

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    # -- originals, for the services that read them --------------------------------------------

    def ingested(
        self, asset: str, key: str, *, upload_key: str = "incoming/photo.jpg", size: int = 1000
    ) -> dict[str, Any]:
        """An AssetIngested event (from the canonical example) about original ``key``."""
        event = example("AssetIngested")
        event["detail"]["metadata"]["correlation_id"] = asset
        event["detail"]["metadata"]["event_id"] = f"5c1d2e3f-4a5b-4c6d-8e7f-{asset[:12]}"
        event["detail"]["data"].update(
            {
                "asset_id": asset,
                "upload": {"bucket": self.uploads, "key": upload_key, "version_id": None},
                "original": {"bucket": self.originals, "key": key, "version_id": None},
                "filename": upload_key.rsplit("/", 1)[-1],
                "size_bytes": size,
            }
        )
        return event

    def put_original(self, data: bytes, *, name: str = "photo.jpg") -> dict[str, Any]:
        """Store ``data`` as an original; return the AssetIngested event that announces it."""
        upload_key = f"incoming/{name}"
        asset = asset_id(self.uploads, upload_key, None)
        key = f"originals/{asset}"
        self.s3.put_object(Bucket=self.originals, Key=key, Body=data)
        return self.ingested(asset, key, upload_key=upload_key, size=max(1, len(data)))


_ARTIFACTS: dict[str, Artifacts] = {}


@contextmanager
def media_account(
    service: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    buckets: Iterable[str] = (),
    versioned: Iterable[str] = (),
    kind: type[MediaAccount] = MediaAccount,
) -> Iterator[Any]:
    """Fake credentials, then inside ``mock_aws``: the bus and its capture queue, ``service``'s
    DLQ, and ``buckets`` (``versioned`` ones with versioning on).

    ``kind`` is the class of the account yielded: a service's subclass adds its own helpers.
    The events a test reads back are recorded under ``test-artifacts/published/<service>/``.
    """
    fake_credentials(monkeypatch)
    artifacts = _ARTIFACTS.setdefault(service, Artifacts(service))
    with mock_aws():
        sqs = client("sqs")
        events = client("events")
        capture_url = capture_bus(events, sqs)
        dlq_url = sqs.create_queue(QueueName=f"media-test-{service}-dlq")["QueueUrl"]
        account = kind(
            service=service,
            sqs=sqs,
            events=events,
            dlq_url=dlq_url,
            capture_url=capture_url,
            artifacts=artifacts,
        )
        for bucket in buckets:
            account.s3.create_bucket(Bucket=bucket)
        for bucket in versioned:
            account.s3.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        yield account


# -- the service's Lambda ----------------------------------------------------------------------


def lambda_env(account: MediaAccount, **variables: str) -> dict[str, str]:
    """The environment of ``account.service``'s Lambda in ``account``, plus ``variables``."""
    return {
        "POWERTOOLS_SERVICE_NAME": account.service,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "EVENT_BUS_NAME": account.bus,
        "DLQ_URL": account.dlq_url,
        **variables,
    }


def handler_loader(
    monkeypatch: pytest.MonkeyPatch,
    module: str,
    env: Mapping[str, str],
    *,
    unset: Iterable[str] = (),
) -> Callable[..., ModuleType]:
    """``load(**extra)``: (re)import ``module`` as a cold start would, under ``env`` + ``extra``.

    ``unset`` names variables the test's process must not pass on (optional settings whose
    defaults the tests rely on).
    """

    def load(**extra: str) -> ModuleType:
        for name in unset:
            monkeypatch.delenv(name, raising=False)
        for name, value in {**env, **extra}.items():
            monkeypatch.setenv(name, value)
        loaded = sys.modules.get(module)
        if loaded is None:
            return importlib.import_module(module)
        return importlib.reload(loaded)

    return load


@dataclass(frozen=True)
class FakeLambdaContext:
    """The Lambda context attributes Powertools reads (Logger, Idempotency)."""

    function_name: str
    memory_limit_in_mb: int = 1024
    remaining_millis: int = 60_000
    function_version: str = "$LATEST"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_stream_name: str = "2026/11/23/[$LATEST]abcdef"

    @classmethod
    def of(cls, service: str, **fields: Any) -> FakeLambdaContext:
        return cls(function_name=f"media-test-{service}", **fields)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis
