"""What the services really published in their tests validates against the schemas.

The root conftest records every event that goes through EventPublisher.publish during the run;
this module is moved to the end of the session so it sees them all. ``make unit`` runs it after
its workers, in a process of its own, on what they wrote (tests/support/capture.py): there, an
empty record is a failure, not a skip.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from media_shared import SchemaCatalog
from tests.support import capture
from tests.support.events import REPO

CATALOG = SchemaCatalog(REPO / "schemas")


def _published() -> list[dict[str, Any]]:
    events = capture.published()
    if not events:
        if capture.folder() is not None:
            pytest.fail(f"nothing was published into {capture.folder()} by the tests before")
        pytest.skip("no service test published anything in this run (run with services/)")
    return events


def test_every_published_event_validates_against_its_schema() -> None:
    for event in _published():
        CATALOG.validate(event)


def test_each_producer_published_each_of_its_events_in_its_tests() -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for event in _published():
        seen[event["source"]].add(event["detail-type"])
    missing = [
        f"{source} never published {schema.name}"
        for schema in CATALOG
        if schema.name != "ProcessingFailed"
        for source in schema.sources
        if schema.name not in seen[source]
    ]
    assert not missing, "; ".join(missing)
