"""Fixtures for the indexer's unit tests: moto in-process, the index table with its real keys,
a bus whose every event is read back, and factories of the facts the indexer consumes.
(The root conftest blocks the network.)
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from indexer.logic import Indexer, IndexStore
from media_shared import EventPublisher, SchemaCatalog, build_event
from media_shared.index import AssetIndex
from media_shared.settings import default_schemas_dir
from tests.support.aws import (
    ACCOUNT,
    BUS,
    REGION,
    FakeLambdaContext,
    MediaAccount,
    client,
    handler_loader,
    lambda_env,
    media_account,
)
from tests.support.events import example

TABLE = "media-test-asset-index"
SERVICE = "indexer"

ASSET = "3f9a1c0e5b7d4e2f8a6c1b0d9e8f7a6b"


KEY_ATTRIBUTES = (
    "asset_id",
    "status",
    "updated_at",
    "camera",
    "taken_at",
    "taken_year",
    "owner",
    "owner_listing",
)


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
                ("by_owner", "owner", "owner_listing"),
            )
        ],
    )


class Aws(MediaAccount):
    """The mocked account, the names in it, and the index table's records."""

    table: str = TABLE

    def item(self, asset: str = ASSET) -> dict[str, Any] | None:
        record = AssetIndex(self.dynamodb, self.table).get(asset)
        return None if record is None else record.item

    def forget(self, asset: str = ASSET) -> None:
        self.dynamodb.delete_item(TableName=self.table, Key={"asset_id": {"S": asset}})


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with media_account(SERVICE, monkeypatch, kind=Aws) as account:
        create_index_table(account.dynamodb)
        yield account


_WRITTEN: dict[tuple[str, str], list[dict[str, Any]]] = {}


@pytest.fixture
def index_once(
    aws: Aws, request: pytest.FixtureRequest
) -> Callable[[str, Callable[[], None]], None]:
    """``index_once(name, deliver)``: the index table as ``deliver()`` leaves it.

    The first test of a module (in each xdist worker) to ask for ``name`` has ``deliver()`` send
    its facts to the real indexer, and keeps the records that wrote; every later one gets those
    records put back in the order they were written, not the facts again (a dozen facts cost half
    a second on moto, for each of some thirty tests that only read the records). The facts, their
    times and the clock are fixed, so delivering them again would write the same records.
    """

    def build(name: str, deliver: Callable[[], None]) -> None:
        key = (request.module.__name__, name)
        written = _WRITTEN.get(key)
        if written is None:
            deliver()
            # a client of its own: the test's may refuse a Scan (the read side must not scan)
            reader = client("dynamodb")
            pages = reader.get_paginator("scan").paginate(TableName=aws.table)
            _WRITTEN[key] = [item for page in pages for item in page["Items"]]
            return
        for start in range(0, len(written), 25):
            batch = [{"PutRequest": {"Item": item}} for item in written[start : start + 25]]
            aws.dynamodb.batch_write_item(RequestItems={aws.table: batch})

    return build


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
    return handler_loader(monkeypatch, "indexer.handler", lambda_env(aws, INDEX_TABLE=TABLE))()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext.of(SERVICE, memory_limit_in_mb=256, remaining_millis=30_000)
