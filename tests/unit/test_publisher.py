"""The publisher validates, batches within the API limits, retries failed entries, drops nothing."""

from __future__ import annotations

from typing import Any

import pytest

from media_shared import Event, EventPublisher, InvalidEventError, PublishError, SchemaCatalog
from media_shared.envelope import build_event
from media_shared.publisher import MAX_REQUEST_BYTES, batches, entry_size
from tests.unit.conftest import received

ASSET = "3f9a1c0e5b7d4e2f8a6c1b0d9e8f7a6b"


def rejected(catalog: SchemaCatalog, n: int = 0, detail: str = "too big") -> Event:
    return build_event(
        catalog.latest("AssetRejected"),
        producer="ingest",
        data={
            "asset_id": ASSET,
            "upload": {"bucket": "uploads-bucket", "key": f"incoming/{n}.jpg"},
            "quarantine": {"bucket": "originals-bucket", "key": f"quarantine/{ASSET}/{n}.jpg"},
            "reason": "too_large",
            "detail": detail,
        },
        correlation_id=ASSET,
        causation_id=None,
    )


class ScriptedEventBridge:
    """A PutEvents that fails chosen entries a chosen number of times, and records every call."""

    def __init__(self, fail_times: dict[str, int]) -> None:
        self.fail_times = dict(fail_times)
        self.calls: list[list[dict[str, Any]]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append(Entries)
        results = []
        for entry in Entries:
            marker = next((m for m in self.fail_times if m in entry["Detail"]), None)
            if marker is not None and self.fail_times[marker] > 0:
                self.fail_times[marker] -= 1
                results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
            else:
                results.append({"EventId": f"id-{len(self.calls)}"})
        failed = sum(1 for r in results if "ErrorCode" in r)
        return {"FailedEntryCount": failed, "Entries": results}


def test_published_events_arrive_on_the_bus_with_their_envelope(
    bus: dict[str, Any], catalog: SchemaCatalog
) -> None:
    publisher = EventPublisher(bus["events"], bus["name"], catalog)
    event = rejected(catalog)

    ids = publisher.publish([event])

    (delivered,) = received(bus)
    assert ids == [event.event_id]
    assert delivered["source"] == "media.ingest"
    assert delivered["detail-type"] == "AssetRejected"
    assert (
        delivered["detail"]["metadata"]["schema_version"] == catalog.latest("AssetRejected").version
    )
    assert delivered["detail"]["metadata"]["correlation_id"] == ASSET
    catalog.validate(delivered)


def test_an_invalid_event_is_refused_before_anything_is_sent(catalog: SchemaCatalog) -> None:
    client = ScriptedEventBridge({})
    publisher = EventPublisher(client, "bus", catalog)  # type: ignore[arg-type]
    good = rejected(catalog)
    bad = rejected(catalog)
    bad.detail["data"]["reason"] = "because"

    with pytest.raises(InvalidEventError, match=r"AssetRejected-v1: detail/data/reason"):
        publisher.publish([good, bad])

    assert client.calls == []


def test_entries_go_out_in_batches_of_ten(catalog: SchemaCatalog) -> None:
    client = ScriptedEventBridge({})
    publisher = EventPublisher(client, "bus", catalog)  # type: ignore[arg-type]

    publisher.publish([rejected(catalog, n) for n in range(23)])

    assert [len(call) for call in client.calls] == [10, 10, 3]


def test_batches_stay_under_the_request_size_limit(catalog: SchemaCatalog) -> None:
    publisher = EventPublisher(ScriptedEventBridge({}), "bus", catalog)  # type: ignore[arg-type]
    entries = [publisher.entry(rejected(catalog, n, detail="x" * 100_000)) for n in range(5)]

    grouped = list(batches(entries))

    assert [len(group) for group in grouped] == [2, 2, 1]
    assert all(sum(entry_size(e) for e in group) <= MAX_REQUEST_BYTES for group in grouped)


def test_an_entry_over_the_limit_raises_instead_of_being_dropped(catalog: SchemaCatalog) -> None:
    client = ScriptedEventBridge({})
    publisher = EventPublisher(client, "bus", catalog)  # type: ignore[arg-type]

    with pytest.raises(PublishError, match="over the 262144-byte limit"):
        publisher.publish([rejected(catalog, detail="x" * 300_000)])

    assert client.calls == []


def test_failed_entries_are_retried_alone_until_delivered(catalog: SchemaCatalog) -> None:
    events = [rejected(catalog, n) for n in range(3)]
    client = ScriptedEventBridge({"incoming/1.jpg": 2})
    delays: list[float] = []
    publisher = EventPublisher(client, "bus", catalog, sleep=delays.append)  # type: ignore[arg-type]

    publisher.publish(events)

    assert [len(call) for call in client.calls] == [3, 1, 1]
    assert "incoming/1.jpg" in client.calls[1][0]["Detail"]
    assert len(delays) == 2


def test_an_entry_that_keeps_failing_raises_with_its_error(catalog: SchemaCatalog) -> None:
    client = ScriptedEventBridge({"incoming/0.jpg": 99})
    publisher = EventPublisher(  # type: ignore[arg-type]
        client, "bus", catalog, max_attempts=3, sleep=lambda _: None
    )

    with pytest.raises(PublishError) as raised:
        publisher.publish([rejected(catalog, 0), rejected(catalog, 1)])

    assert len(client.calls) == 3
    assert raised.value.failed == [
        {
            "DetailType": "AssetRejected",
            "ErrorCode": "ThrottlingException",
            "ErrorMessage": "slow down",
        }
    ]
