"""The index's query side (media_shared.index) on records the indexer wrote; never a Scan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest

from indexer.logic import Indexer
from media_shared import InboundEvent, SchemaCatalog
from media_shared.index import AssetIndex, Status, camera_key

EXIF = {
    "lens": None,
    "exposure_time": 0.01,
    "f_number": 4.0,
    "iso": 200,
    "focal_length_mm": 35.0,
}
ASSETS = {
    # asset id: (make, model, taken_at, time of the last fact)
    "a" * 32: ("FUJIFILM", "X-T4", "2025-12-31T23:59:59+01:00", "2026-11-23T10:00:01.000Z"),
    "b" * 32: ("FUJIFILM", "X-T4", "2026-01-01T00:00:00+01:00", "2026-11-23T10:00:02.000Z"),
    "c" * 32: ("Canon", "EOS R5", "2026-08-14T18:42:07", "2026-11-23T10:00:03.000Z"),
    "d" * 32: ("fujifilm ", " x-t4", "2026-08-15T08:00:00+02:00", "2026-11-23T10:00:04.000Z"),
    "e" * 32: (None, None, None, "2026-11-23T10:00:05.000Z"),
}
PENDING = "f" * 32


def deliver(indexer: Indexer, catalog: SchemaCatalog, event: dict[str, Any]) -> None:
    indexer(InboundEvent(event=event, schema=catalog.validate(event)))


@pytest.fixture
def index(
    aws: Any,
    make_indexer: Callable[..., Indexer],
    catalog: SchemaCatalog,
    make_facts: Callable[[str], Any],
    index_once: Callable[[str, Callable[[], None]], None],
) -> AssetIndex:
    indexer = make_indexer()

    def deliver_all() -> None:
        for asset, (make, model, taken_at, last) in ASSETS.items():
            facts = make_facts(asset)
            exif = {**EXIF, "make": make, "model": model, "taken_at": taken_at}
            deliver(indexer, catalog, facts.ingested(time="2026-11-23T09:00:00.000Z"))
            deliver(indexer, catalog, facts.metadata(time="2026-11-23T09:00:00.500Z", exif=exif))
            deliver(indexer, catalog, facts.thumbnails(time=last))
        deliver(indexer, catalog, make_facts(PENDING).ingested())

    index_once("index", deliver_all)

    def no_scan(**kwargs: Any) -> None:
        raise AssertionError("the query side must never scan the table")

    aws.dynamodb.meta.events.register("before-call.dynamodb.Scan", no_scan)
    return AssetIndex(aws.dynamodb, aws.table)


def test_an_asset_is_found_by_id_with_its_facts(index: AssetIndex) -> None:
    record = index.get("c" * 32)

    assert record is not None
    assert record.status == Status.INDEXED
    assert (record.camera_make, record.camera_model) == ("Canon", "EOS R5")
    assert record.taken_at == "2026-08-14T18:42:07"
    assert [t["size"] for t in record.thumbnails] == [256, 512, 1024]
    assert record.original is not None
    assert record.original["key"] == f"originals/{'c' * 32}"
    assert index.get("0" * 32) is None


def test_assets_are_listed_by_status_newest_first(index: AssetIndex) -> None:
    indexed = [record.asset_id for record in index.by_status(Status.INDEXED)]
    pending = [record.asset_id for record in index.by_status("pending")]

    assert indexed == ["e" * 32, "d" * 32, "c" * 32, "b" * 32, "a" * 32]
    assert pending == [PENDING]
    assert [r.asset_id for r in index.by_status(Status.INDEXED, limit=2)] == ["e" * 32, "d" * 32]
    assert list(index.by_status(Status.REJECTED)) == []


def test_assets_are_found_by_camera_whatever_the_case_and_spacing(index: AssetIndex) -> None:
    found = [record.asset_id for record in index.by_camera("Fujifilm", "X-T4")]

    assert found == ["d" * 32, "b" * 32, "a" * 32]  # newest taken first
    oldest_first = index.by_camera("FUJIFILM", "x-t4", newest_first=False)
    assert [r.asset_id for r in oldest_first] == ["a" * 32, "b" * 32, "d" * 32]
    assert [r.asset_id for r in index.by_camera("canon", "eos r5")] == ["c" * 32]
    assert list(index.by_camera("Nikon", "Z9")) == []


def test_assets_are_found_by_date_taken_across_years_inclusive(index: AssetIndex) -> None:
    span = index.taken_between(date(2025, 12, 31), date(2026, 8, 14))
    assert [record.asset_id for record in span] == ["a" * 32, "b" * 32, "c" * 32]

    august = index.taken_between("2026-08", "2026-08")
    assert [record.asset_id for record in august] == ["c" * 32, "d" * 32]

    morning = index.taken_between(datetime(2026, 8, 15, 7, 0), datetime(2026, 8, 15, 8, 0))
    assert [record.asset_id for record in morning] == ["d" * 32]


def test_bad_query_bounds_are_refused(index: AssetIndex) -> None:
    with pytest.raises(ValueError, match="after"):
        list(index.taken_between(date(2026, 2, 1), date(2026, 1, 1)))
    with pytest.raises(ValueError, match="make"):
        list(index.by_camera(None, " "))


@pytest.mark.parametrize(
    ("make", "model", "key"),
    [
        ("FUJIFILM", "X-T4", "fujifilm#x-t4"),
        ("  Canon ", "EOS  R5", "canon#eos r5"),
        (None, "iPhone 15", "#iphone 15"),
        ("Apple", None, "apple#"),
        (None, None, None),
        ("", "  ", None),
    ],
)
def test_the_camera_key_is_normalised(make: str | None, model: str | None, key: str) -> None:
    assert camera_key(make, model) == key
