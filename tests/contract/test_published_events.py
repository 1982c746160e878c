"""What the services really published in their tests validates against the schemas.

The root conftest records every event that goes through EventPublisher.publish during the run;
this module is moved to the end of the session so it sees them all.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from media_shared import SchemaCatalog
from tests.support.capture import PUBLISHED
from tests.support.events import REPO

CATALOG = SchemaCatalog(REPO / "schemas")


def test_every_published_event_validates_against_its_schema() -> None:
    if not PUBLISHED:
        pytest.skip("no service test published anything in this run (run with services/)")
    for event in PUBLISHED:
        CATALOG.validate(event)


def test_each_producer_published_each_of_its_events_in_its_tests() -> None:
    if not PUBLISHED:
        pytest.skip("no service test published anything in this run (run with services/)")
    seen: dict[str, set[str]] = defaultdict(set)
    for event in PUBLISHED:
        seen[event["source"]].add(event["detail-type"])
    missing = [
        f"{source} never published {schema.name}"
        for schema in CATALOG
        if schema.name != "ProcessingFailed"
        for source in schema.sources
        if schema.name not in seen[source]
    ]
    assert not missing, "; ".join(missing)
