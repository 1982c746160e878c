"""The indexer's logic, called directly: facts in any order, any number of times; one record,
one AssetIndexed."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from indexer.logic import Indexer, IndexStore, PublishInProgressError
from indexer.merge import indexed_event_id
from media_shared import InboundEvent, PublishError, SchemaCatalog
from media_shared.index import AssetIndex

ASSET = "3f9a1c0e5b7d4e2f8a6c1b0d9e8f7a6b"


def deliver(indexer: Indexer, catalog: SchemaCatalog, event: dict[str, Any]) -> None:
    """What the consumer does before the logic: validate, then hand over."""
    assert indexer(InboundEvent(event=event, schema=catalog.validate(event))) == []


def test_three_facts_make_an_indexed_record_and_one_asset_indexed(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    indexer = make_indexer()

    # when the original, its metadata and its thumbnails arrive
    for event in (facts.ingested(), facts.metadata(), facts.thumbnails()):
        deliver(indexer, catalog, event)

    # then the record holds each fact and the query attributes derived from them
    item = aws.item()
    assert item["status"] == "indexed"
    assert item["ingested"]["data"]["sha256"] == facts.ingested()["detail"]["data"]["sha256"]
    assert item["metadata"]["data"]["exif"]["model"] == "X-T4"
    assert len(item["thumbnails"]["data"]["renditions"]) == 3
    assert item["camera"] == "fujifilm#x-t4"
    assert item["taken_at"] == "2026-08-14T18:42:07+02:00"
    assert item["taken_year"] == "2026"
    assert item["updated_at"] == "2026-11-23T10:00:03.300Z"
    assert (item["width"], item["height"]) == (3000, 4000)  # as displayed, from the metadata
    assert item["indexed_published"] is True
    assert "indexed_claimed_at" not in item
    # and AssetIndexed went out once, describing the asset
    [indexed] = aws.published("AssetIndexed")
    catalog.validate(indexed)
    data = indexed["detail"]["data"]
    assert indexed["detail"]["metadata"]["event_id"] == indexed_event_id(ASSET)
    assert indexed["detail"]["metadata"]["correlation_id"] == ASSET
    assert data["status"] == "indexed"
    assert data["original"]["key"] == f"originals/{ASSET}"
    assert (data["camera_make"], data["camera_model"]) == ("FUJIFILM", "X-T4")
    assert data["taken_at"] == "2026-08-14T18:42:07+02:00"
    assert [t["size"] for t in data["thumbnails"]] == [256, 512, 1024]
    assert data["indexed_at"] == "2026-11-23T10:00:03.300Z"


def test_until_complete_the_record_is_pending(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    indexer = make_indexer()
    deliver(indexer, catalog, facts.thumbnails())
    deliver(indexer, catalog, facts.ingested())

    item = aws.item()
    assert item["status"] == "pending"
    assert "metadata" not in item
    assert "indexed_event_id" not in item
    assert aws.published("AssetIndexed") == []


ORDERS = list(itertools.permutations(["ingested", "metadata", "thumbnails"]))


def test_every_order_and_any_duplicates_give_the_same_record_and_one_asset_indexed(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    events = {name: getattr(facts, name)() for name in ("ingested", "metadata", "thumbnails")}
    records: dict[tuple[str, ...], dict[str, Any]] = {}
    announced: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    for order in ORDERS:
        aws.forget()
        indexer = make_indexer()
        # each fact arrives in this order, then every fact again, then the first once more
        for name in (*order, *order, order[0]):
            deliver(indexer, catalog, events[name])
        records[order] = aws.item()
        announced[order] = aws.published("AssetIndexed")

    first = records[ORDERS[0]]
    assert first["status"] == "indexed"
    for order in ORDERS:
        assert records[order] == first, f"order {order} gave a different record"
        assert len(announced[order]) == 1, f"order {order} announced {len(announced[order])}"
        assert announced[order][0]["detail"]["data"] == announced[ORDERS[0]][0]["detail"]["data"]
        assert announced[order][0]["detail"]["metadata"]["event_id"] == indexed_event_id(ASSET)


def test_a_duplicate_fact_writes_nothing(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    indexer = make_indexer()
    deliver(indexer, catalog, facts.ingested())
    before = aws.item()
    writes: list[str] = []
    aws.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.UpdateItem", lambda params, **kw: writes.append("w")
    )

    deliver(indexer, catalog, facts.ingested())

    assert writes == []
    assert aws.item() == before


def test_of_two_different_facts_for_one_attribute_the_later_wins_in_any_order(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    early = facts.thumbnails(time="2026-11-23T10:00:03.000Z")
    late = facts.thumbnails(
        time="2026-11-23T10:05:00.000Z",
        event_id="99999999-0000-4000-8000-000000000001",
        source_width=1234,
    )
    results = []
    for order in ((early, late), (late, early)):
        aws.forget()
        indexer = make_indexer()
        for event in order:
            deliver(indexer, catalog, event)
        results.append(aws.item())

    # the same record; only the write counter knows one order took an extra write
    assert {k: v for k, v in results[0].items() if k != "revision"} == {
        k: v for k, v in results[1].items() if k != "revision"
    }
    assert results[0]["thumbnails"]["data"]["source_width"] == 1234


def test_a_rejected_upload_is_recorded_as_rejected_with_its_reason(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    deliver(make_indexer(), catalog, facts.rejected())

    item = aws.item()
    assert item["status"] == "rejected"
    assert item["reason"] == "unsupported_type"
    assert item["rejection"]["data"]["quarantine"]["key"].startswith("quarantine/")
    assert aws.published("AssetIndexed") == []


def test_a_processing_failure_marks_the_asset_failed_until_the_missing_fact_arrives(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    indexer = make_indexer()
    deliver(indexer, catalog, facts.ingested())
    deliver(indexer, catalog, facts.metadata())
    deliver(indexer, catalog, facts.failed(service="thumbnailer", reason="decompression_bomb"))

    item = aws.item()
    assert item["status"] == "failed"
    assert item["reason"] == "decompression_bomb"
    assert item["failure"]["thumbnailer"]["data"]["error_type"] == "DecompressionBombError"

    # when the thumbnails arrive after all (the message was redriven and succeeded)
    deliver(indexer, catalog, facts.thumbnails())

    item = aws.item()
    assert item["status"] == "indexed"
    assert "failure" in item  # the history is kept
    assert len(aws.published("AssetIndexed")) == 1


def test_failures_from_several_services_are_all_kept(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    indexer = make_indexer()
    deliver(indexer, catalog, facts.failed(service="thumbnailer", reason="corrupt"))
    deliver(indexer, catalog, facts.failed(service="metadata-extractor", reason="corrupt_exif"))

    item = aws.item()
    assert set(item["failure"]) == {"thumbnailer", "metadata-extractor"}
    assert item["reason"] == "corrupt_exif,corrupt"


def test_a_failure_that_names_no_asset_is_ignored(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    deliver(make_indexer(), catalog, facts.failed(asset=None))
    deliver(make_indexer(), catalog, facts.failed(asset="message:abc"))

    assert aws.dynamodb.scan(TableName=aws.table)["Count"] == 0


# -- crashes and races around the one AssetIndexed ---------------------------------------------


class FailingPublisher:
    """PutEvents that fails (after EventBridge's retries) for the first ``failures`` calls."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real = real
        self.failures = failures

    def publish(self, events: Any) -> list[str]:
        if self.failures > 0:
            self.failures -= 1
            raise PublishError("bus unavailable", failed=[])
        ids: list[str] = self.real.publish(events)
        return ids


def test_a_failed_publish_is_retried_with_the_same_event_id_without_waiting(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    real = make_indexer().publisher
    indexer = make_indexer(publisher=FailingPublisher(real, failures=1))
    deliver(indexer, catalog, facts.ingested())
    deliver(indexer, catalog, facts.metadata())

    # when the completing fact wins the transition but PutEvents fails
    with pytest.raises(PublishError):
        deliver(indexer, catalog, facts.thumbnails())

    # then the record is indexed, not published, and its claim released
    item = aws.item()
    assert (item["status"], item["indexed_published"]) == ("indexed", False)
    assert item["indexed_claimed_at"] == 0
    assert aws.published("AssetIndexed") == []

    # when SQS redelivers the message right away
    deliver(indexer, catalog, facts.thumbnails())

    [indexed] = aws.published("AssetIndexed")
    assert indexed["detail"]["metadata"]["event_id"] == item["indexed_event_id"]
    assert aws.item()["indexed_published"] is True


def test_a_crash_between_the_transition_and_the_publish_is_recovered_once(
    aws: Any,
    make_indexer: Callable[..., Indexer],
    catalog: SchemaCatalog,
    facts: Any,
    clock: Any,
) -> None:
    class Crash(BaseException):
        """The process dies: nothing after this line of the invocation runs."""

    class CrashingPublisher:
        def publish(self, events: Any) -> list[str]:
            raise Crash

    crashing = make_indexer(publisher=CrashingPublisher())
    healthy = make_indexer()
    deliver(healthy, catalog, facts.ingested())
    deliver(healthy, catalog, facts.metadata())
    with pytest.raises(Crash):
        deliver(crashing, catalog, facts.thumbnails())
    assert aws.item()["indexed_published"] is False

    # a duplicate arriving while the (dead) winner's claim is fresh does not publish: it retries
    with pytest.raises(PublishInProgressError):
        deliver(healthy, catalog, facts.metadata())
    assert aws.published("AssetIndexed") == []

    # once the claim has expired, the redelivery publishes, with the stored event id, once
    clock.advance(121)
    deliver(healthy, catalog, facts.thumbnails())
    deliver(healthy, catalog, facts.thumbnails())
    deliver(healthy, catalog, facts.ingested())

    [indexed] = aws.published("AssetIndexed")
    assert indexed["detail"]["metadata"]["event_id"] == indexed_event_id(ASSET)
    item = aws.item()
    assert item["indexed_published"] is True
    assert "indexed_claimed_at" not in item


def test_concurrent_writers_are_merged_not_overwritten(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    # given a store where another delivery writes metadata between our read and our write
    other = make_indexer()
    indexer = make_indexer()
    real_read = indexer.store.read
    interfered = []

    def read_then_interfere(asset: str) -> Any:
        current = real_read(asset)
        if not interfered:
            interfered.append(True)
            deliver(other, catalog, facts.metadata())
        return current

    indexer.store.read = read_then_interfere  # type: ignore[method-assign]
    deliver(other, catalog, facts.ingested())

    deliver(indexer, catalog, facts.thumbnails())

    item = aws.item()
    assert {"ingested", "metadata", "thumbnails"} <= set(item)
    assert item["status"] == "indexed"
    assert len(aws.published("AssetIndexed")) == 1


def test_a_throttled_table_is_a_transient_error(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    def throttle(**kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
            "UpdateItem",
        )

    aws.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", throttle)
    with pytest.raises(ClientError):
        deliver(make_indexer(), catalog, facts.ingested())


def test_the_store_refuses_a_write_based_on_a_stale_revision(aws: Any, facts: Any) -> None:
    store = IndexStore(aws.dynamodb, aws.table)
    assert store.write(None, {"asset_id": ASSET, "status": "pending", "updated_at": "t1"})
    stale = {"asset_id": ASSET, "status": "pending", "updated_at": "t1", "revision": 0}

    assert not store.write(stale, {**stale, "updated_at": "t2"})
    assert not store.write(None, {"asset_id": ASSET, "status": "pending", "updated_at": "t3"})
    assert AssetIndex(aws.dynamodb, aws.table).get(ASSET).updated_at == "t1"  # type: ignore[union-attr]
