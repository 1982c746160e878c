"""A stopped local stack comes back warm: the same state, nothing applied.

``make stop`` stops the session's moto server (it saves its state); ``make up`` with nothing
changed starts it again from that snapshot and applies nothing. What was there before is there
after: an uploaded object, its index item, a message waiting in a queue, the Terraform state.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from media_shared.index import AssetRecord
from tests.e2e.conftest import Pipeline
from tests.support import images
from tools.cli.assets import get_asset
from tools.cli.uploads import upload
from tools.demo import wait_for_terminal
from tools.localstack import read_stack
from tools.localstack.record import REPO

pytestmark = pytest.mark.e2e
ROOTS = ["platform", "ingest", "thumbnailer", "metadata-extractor", "indexer"]


def localstack(pipeline: Pipeline, command: str) -> str:
    """``python -m tools.localstack COMMAND`` (make up / make stop) on the session's stack."""
    done = subprocess.run(
        [sys.executable, "-m", "tools.localstack", command],
        cwd=REPO,
        env=pipeline.env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def settled(pipeline: Pipeline, record: AssetRecord | None, timeout: float = 30.0) -> AssetRecord:
    """The asset's record once the indexer has announced it (``indexed_published``).

    An asset is ``indexed`` a moment before its AssetIndexed is published and the record says
    so: the state saved at the stop must be compared with a record that no longer changes.
    """
    assert record is not None
    deadline = time.monotonic() + timeout
    while record.item.get("indexed_published") is not True:
        assert time.monotonic() < deadline, f"{record.asset_id} never announced: {record.item}"
        time.sleep(0.2)
        record = get_asset(pipeline.target, record.asset_id)
    return record


def test_a_stopped_stack_starts_warm_with_its_objects_items_messages_and_state(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    # given a stack brought up by `make up` (so it knows what it was built from), an uploaded
    # photo indexed, and a message waiting in a queue of its own
    localstack(pipeline, "up")
    photo = tmp_path / "warm.jpg"
    photo.write_bytes(images.jpeg(320, 240, seed=21, exif=images.camera_exif()))
    (uploaded,) = upload(pipeline.target, [photo], prefix=f"warm-start/{uuid.uuid4().hex[:8]}/")
    (progress,) = wait_for_terminal(pipeline.target, [uploaded], 120)
    assert progress.status == "indexed"
    record = settled(pipeline, progress.record)
    sqs = pipeline.target.sqs
    queue = sqs.create_queue(QueueName=f"warm-start-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kept": True}))
    serials = {root: pipeline.state(root)["serial"] for root in ROOTS}
    before = read_stack(pipeline.directory)
    assert before is not None

    try:
        # when the stack is stopped (make stop) and brought up again (make up)
        stopped = localstack(pipeline, "stop")
        assert "state saved" in stopped
        assert not before.serving
        started = localstack(pipeline, "up")

        # then it started from its snapshot and applied nothing, on the same endpoint
        assert "restored" in started
        assert "nothing to build or apply" in started
        assert "(warm)" in started
        after = read_stack(pipeline.directory)
        assert after is not None
        assert after.serving
        assert after.endpoint == before.endpoint
        # and the object, its index item, the message and the Terraform state are as they were
        s3 = pipeline.target.s3
        assert progress.record is not None
        assert progress.record.original is not None
        original = progress.record.original  # ingest moved the upload there before the stop
        body = s3.get_object(Bucket=original["bucket"], Key=original["key"])["Body"].read()
        assert body == photo.read_bytes()
        (again,) = wait_for_terminal(pipeline.target, [uploaded], 10)
        assert again.record == record
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        assert [json.loads(m["Body"]) for m in messages] == [{"kept": True}]
        assert {root: pipeline.state(root)["serial"] for root in ROOTS} == serials
    finally:
        if not (read_stack(pipeline.directory) or before).serving:
            localstack(pipeline, "up")  # leave the session a running stack, whatever happened
        sqs.delete_queue(QueueUrl=queue)
