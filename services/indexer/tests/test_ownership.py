"""The owner ingest stated is stored and indexed, whatever order the facts arrive in."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from indexer.logic import Indexer
from media_shared import InboundEvent, SchemaCatalog
from media_shared.index import AssetIndex
from media_shared.ownership import owner_id

ADA = owner_id("https://issuer.example", "ada")


def deliver(indexer: Indexer, catalog: SchemaCatalog, event: dict[str, Any]) -> None:
    assert indexer(InboundEvent(event=event, schema=catalog.validate(event))) == []


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_owner_comes_from_the_ingested_fact_in_any_order_and_is_announced(
    aws: Any,
    make_indexer: Callable[..., Indexer],
    catalog: SchemaCatalog,
    facts: Any,
    order: tuple[int, ...],
) -> None:
    # Given Ada's upload's three facts (only AssetIngested names the owner), in any order
    events = [facts.ingested(owner=ADA), facts.metadata(), facts.thumbnails()]
    indexer = make_indexer()
    for number in order:
        deliver(indexer, catalog, events[number])
    # Then the record is Ada's, listed in her indexed assets
    item = aws.item()
    assert item["owner"] == ADA
    assert item["owner_listing"] == f"indexed#{item['updated_at']}"
    index = AssetIndex(aws.dynamodb, aws.table)
    assert [r.asset_id for r in index.by_owner(ADA, "indexed")] == [item["asset_id"]]
    assert list(index.by_owner(ADA, "pending")) == []
    # and AssetIndexed says whose it is
    [indexed] = aws.published("AssetIndexed")
    catalog.validate(indexed)
    assert indexed["detail"]["data"]["owner"] == ADA


def test_a_rejected_upload_is_listed_as_its_owners_rejection(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    deliver(make_indexer(), catalog, facts.rejected(owner=ADA))
    index = AssetIndex(aws.dynamodb, aws.table)
    assert [r.owner for r in index.by_owner(ADA, "rejected")] == [ADA]


def test_an_unowned_asset_is_in_no_owners_listing(
    aws: Any, make_indexer: Callable[..., Indexer], catalog: SchemaCatalog, facts: Any
) -> None:
    indexer = make_indexer()
    for event in (facts.ingested(), facts.metadata(), facts.thumbnails()):
        deliver(indexer, catalog, event)
    item = aws.item()
    assert "owner" not in item
    assert "owner_listing" not in item
    [indexed] = aws.published("AssetIndexed")
    assert "owner" not in indexed["detail"]["data"]
