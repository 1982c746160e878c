"""At-least-once delivery: the same S3 event and the same bus events, delivered again and again.

Two kinds of duplicate, both through the real stack:

* at once: every rule feeding a service queue is cloned twice (``DuplicateDeliveries``), so
  EventBridge puts each event, the same event with the same id, in each queue three times;
* late: once the asset is indexed, the S3 event and every bus event of the asset, as captured
  from the buses, are sent to their consumers' queues twice more.

The promise: one asset, one original, one set of thumbnails, one index item, one AssetIndexed.
"""

from __future__ import annotations

import pytest

from tests.reliability.common import (
    deliver_again,
    for_asset,
    now,
    put,
    record,
    unique_prefix,
    versions,
    wait_terminal,
)
from tests.support import images
from tests.support.stack import Pipeline
from tools.cli.reconcile import State, reconcile
from tools.cli.tail import BusTail
from tools.runtime.faults import DuplicateDeliveries

pytestmark = pytest.mark.e2e


def test_an_upload_delivered_three_times_at_every_step_yields_one_of_everything(
    stack: Pipeline,
) -> None:
    target = stack.target
    start, first_outcome = now(), len(stack.outcomes)
    queue_urls = {name: q.queue_url for name, q in stack.queues.items()}
    key = unique_prefix("duplicates") + "photo.jpg"

    # given every delivery tripled, and both buses tailed
    with (
        BusTail(target) as media_bus,
        BusTail(target, bus="default") as default_bus,
        DuplicateDeliveries(
            target.events,
            ["default", target.bus_name],
            copies=2,
            queue_arns=[q.queue_arn for q in stack.queues.values()],
        ) as duplicates,
    ):
        assert {c.original for c in duplicates.clones} >= {
            "media-local-ingest-object-created",
            "media-local-thumbnailer-asset-ingested",
            "media-local-indexer-thumbnails-generated",
        }
        upload = put(target, key, images.jpeg(900, 600, seed=21, exif=images.camera_exif()))
        asset = upload.asset_id
        wait_terminal(target, [asset])
        stack.wait_idle()
        events = for_asset(list(media_bus.events(timeout=3)), asset)
        s3_events = [
            e
            for e in default_bus.events(timeout=2)
            if e.get("detail-type") == "Object Created" and e["detail"]["object"]["key"] == key
        ]
    first = record(target, asset)
    assert first is not None
    assert len(s3_events) == 1, [(e["detail-type"], e["detail"].get("reason")) for e in s3_events]

    # when, long after, the S3 event and every bus event of the asset arrive twice more
    late = 0
    with BusTail(target) as after:
        for event in [*s3_events, *events]:
            for _ in range(2):
                late += deliver_again(target, queue_urls, event)
        stack.wait_idle()
        later_events = for_asset(list(after.events(timeout=3)), asset)

    # then each step ran several times...
    handled = stack.outcomes_since(first_outcome)
    assert sum(o.size for o in handled if o.service == "ingest") >= 3 + 2
    assert sum(o.size for o in handled if o.service == "thumbnailer") >= 3 + 2
    assert late >= 2 + 2 * 5

    # ...and there is one of everything
    bus_events = events + later_events
    indexed = [e for e in bus_events if e["detail-type"] == "AssetIndexed"]
    assert len(indexed) == 1, f"{len(indexed)} AssetIndexed published for one upload"
    for name in ("AssetIngested", "ThumbnailsGenerated", "MetadataExtracted"):
        ids = {e["detail"]["metadata"]["event_id"] for e in bus_events if e["detail-type"] == name}
        assert len(ids) == 1, f"{name} published under {len(ids)} different ids"
    assert not [e for e in bus_events if e["detail-type"] in ("AssetRejected", "ProcessingFailed")]

    originals = target.bucket("originals")
    assert [v["Key"] for v in versions(target, originals, f"originals/{asset}")] == [
        f"originals/{asset}"
    ]
    assert versions(target, originals, f"quarantine/{asset}/") == []
    thumbnails = versions(target, target.bucket("derived"), f"thumbnails/{asset}/")
    by_key: dict[str, set[str]] = {}
    for version in thumbnails:
        by_key.setdefault(version["Key"], set()).add(version["ETag"])
    assert len(by_key) == 3, sorted(by_key)
    assert all(len(etags) == 1 for etags in by_key.values()), "a duplicate rewrote other bytes"

    final = record(target, asset)
    assert final is not None
    assert final.status == "indexed"
    assert final.item == first.item, "late duplicates changed the index item"
    report = reconcile(target, start, expected=[asset])
    mine = [a for a in report.accounts if a.key == key]
    assert [(a.asset_id, a.state) for a in mine] == [(asset, State.INDEXED)]
    assert report.exact, report.unaccounted
