"""``mediactl reconcile``: every upload of a window in exactly one terminal state, or reported.

Ingest's rule is given no target for the test, so the test decides which S3 events ingest gets
and when: a photo (indexed), a text file (rejected), an upload deleted before ingest saw it
(ingest parks it: failed, in the DLQ), an upload whose event has not been delivered yet (still
in the uploads bucket), and an asset the client says it uploaded that exists nowhere (lost).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from media_shared.ids import asset_id
from tests.reliability.common import now, put, unique_prefix, wait_terminal
from tests.support import images
from tests.support.stack import Pipeline, wait_until
from tools.cli.main import main as mediactl
from tools.cli.reconcile import State, reconcile
from tools.cli.tail import BusTail

pytestmark = pytest.mark.e2e


@pytest.fixture
def ingest_unplugged(stack: Pipeline) -> Iterator[None]:
    """Ingest's rule on the default bus without its target until the test ends."""
    events = stack.target.events
    queue_arn = stack.queues["ingest"].queue_arn
    removed: list[tuple[str, list[dict[str, Any]]]] = []
    try:
        for rule in events.list_rules(EventBusName="default")["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName="default")
            mine = [dict(t) for t in targets["Targets"] if t["Arn"] == queue_arn]
            if mine:
                events.remove_targets(
                    Rule=rule["Name"], EventBusName="default", Ids=[t["Id"] for t in mine]
                )
                removed.append((rule["Name"], mine))
        assert removed, "no rule feeds ingest's queue"
        yield
    finally:
        for name, targets in removed:
            events.put_targets(Rule=name, EventBusName="default", Targets=targets)  # type: ignore[arg-type]


def _cli(stack: Pipeline, *args: str) -> list[str]:
    return ["--endpoint", stack.endpoint, "--env", "local", "reconcile", *args]


def test_reconcile_puts_each_upload_in_one_state_and_fails_while_any_is_unaccounted_for(
    stack: Pipeline,
    ingest_unplugged: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = stack.target
    start = now()
    prefix = unique_prefix("reconcile")
    ingest_queue = stack.queues["ingest"].queue_url

    # given five uploads, each meant to end differently
    with BusTail(target, bus="default") as s3_events:
        good = put(target, prefix + "good.jpg", images.jpeg(320, 240, seed=81))
        text = put(target, prefix + "notes.txt", images.text_file(), "text/plain")
        vanished = put(target, prefix + "vanished.jpg", images.jpeg(320, 240, seed=82))
        waiting = put(target, prefix + "waiting.jpg", images.jpeg(320, 240, seed=83))
        events: dict[str, dict[str, Any]] = {}

        def captured() -> bool:
            for event in s3_events.events(timeout=1):
                if event.get("detail-type") == "Object Created":
                    events[event["detail"]["object"]["key"]] = event
            return len([k for k in events if k.startswith(prefix)]) == 4

        wait_until(captured, 30, "the four S3 events")
    uploads = target.bucket("uploads")
    target.s3.delete_object(Bucket=uploads, Key=vanished.key, VersionId=str(vanished.version_id))
    for upload in (good, text, vanished):
        target.sqs.send_message(QueueUrl=ingest_queue, MessageBody=json.dumps(events[upload.key]))
    ghost = asset_id(uploads, prefix + "never-arrived.jpg", "no-such-version")
    wait_terminal(target, [good.asset_id, text.asset_id], timeout=120)
    stack.wait_idle()

    # when the window is reconciled with what the client says it uploaded
    expected = [u.asset_id for u in (good, text, vanished, waiting)] + [ghost]
    report = reconcile(target, start, expected=expected)

    # then each upload is in one state, with its reason or what is wrong
    states = {a.asset_id: a for a in report.accounts if a.asset_id in expected}
    assert {a: found.state for a, found in states.items()} == {
        good.asset_id: State.INDEXED,
        text.asset_id: State.REJECTED,
        vanished.asset_id: State.FAILED,
        waiting.asset_id: State.WAITING,
        ghost: State.LOST,
    }
    assert (states[text.asset_id].reason or "").startswith("unsupported_type")
    assert "parked: missing" in (states[vanished.asset_id].reason or "")
    assert states[waiting.asset_id].key == waiting.key
    assert not report.exact
    assert {a.asset_id for a in report.lost} == {ghost}

    # and the CLI says so, and exits non-zero
    manifest = tmp_path / "uploads.jsonl"
    manifest.write_text("".join(json.dumps({"asset_id": a}) + "\n" for a in expected))
    assert mediactl(_cli(stack, "--from", start.isoformat(), "--expect", str(manifest))) == 3
    shown = capsys.readouterr().out
    assert f"lost      {ghost}" in shown
    assert f"waiting   {waiting.asset_id} s3 key {waiting.key!r}" in shown
    assert "NOT reconciled: 2 upload(s) unaccounted for (1 lost)" in shown

    # when the waiting upload's event is delivered, and the client's ghost is dropped
    target.sqs.send_message(QueueUrl=ingest_queue, MessageBody=json.dumps(events[waiting.key]))
    wait_terminal(target, [waiting.asset_id], timeout=120)
    stack.wait_idle()
    manifest.write_text("".join(f"{a}\n" for a in expected[:-1]))

    # then everything is accounted for, and the CLI exits 0
    assert mediactl(_cli(stack, "--from", start.isoformat(), "--expect", str(manifest))) == 0
    shown = capsys.readouterr().out
    assert "every upload is accounted for in exactly one terminal state" in shown
    assert "4 upload(s): 2 indexed, 1 rejected, 1 failed" in shown
