"""The whole pipeline on the local stack, driven the way an operator drives it: through mediactl.

Uploads go through the CLI's upload function, results are read back from the asset index, the
thumbnails from the derived bucket; the CLI's commands run through ``tools.cli.main.main``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import Deployment, Pipeline
from tests.support import images
from tools.cli import dlq, publish
from tools.cli.main import main as mediactl
from tools.cli.services import service_queues
from tools.cli.tail import BusTail
from tools.cli.uploads import upload
from tools.demo import wait_for_terminal

pytestmark = pytest.mark.e2e
Wait = Callable[[Callable[[], bool], float, str], None]
TERMINAL_TIMEOUT = 120


def _cli(deployment: Deployment, *args: str) -> list[str]:
    return [*deployment.cli, *args]


def _local_cli(pipeline: Pipeline, *args: str) -> list[str]:
    return ["--endpoint", pipeline.endpoint, "--env", pipeline.environment, *args]


@pytest.fixture(scope="module")
def processed(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """Five uploads, tailed from before the first one until each reached a terminal state."""
    folder = tmp_path_factory.mktemp("uploads")
    rotated = images.camera_exif(make="Canon", model="Canon EOS R5", orientation=6, gps=None)
    files = {
        "rotated.jpg": images.jpeg(1200, 900, seed=7, exif=rotated),
        "plain.jpg": images.jpeg(800, 600, seed=8, exif=images.camera_exif()),
        "chart.png": images.png(640, 480, seed=9, mode="RGBA"),
        "loop.gif": images.animated("gif", 160, 120, frames=3, seed=10),
        "notes.txt": images.text_file(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with BusTail(deployment.target) as tail:
        uploads = upload(deployment.target, [folder / name for name in files], prefix="e2e/")
        progress = wait_for_terminal(deployment.target, uploads, TERMINAL_TIMEOUT, show=print)
        events = list(tail.events(timeout=3))
    return {
        "by_file": {p.upload.file.name: p for p in progress},
        "events": events,
        "tail_name": tail.name,
    }


def test_every_upload_reaches_its_expected_terminal_state(processed: dict[str, object]) -> None:
    by_file = processed["by_file"]
    assert isinstance(by_file, dict)
    statuses = {name: item.status for name, item in by_file.items()}
    assert statuses == {
        "rotated.jpg": "indexed",
        "plain.jpg": "indexed",
        "chart.png": "indexed",
        "loop.gif": "indexed",
        "notes.txt": "rejected",
    }
    assert by_file["notes.txt"].record.reason == "unsupported_type"


def test_indexed_records_carry_camera_dimensions_and_thumbnails_that_exist(
    deployment: Deployment, processed: dict[str, object]
) -> None:
    by_file = processed["by_file"]
    assert isinstance(by_file, dict)
    record = by_file["plain.jpg"].record
    assert record.camera_make == "FUJIFILM"
    assert record.camera_model == "X-T4"
    assert (record.width, record.height) == (800, 600)
    assert sorted(r["size"] for r in record.thumbnails) == [256, 512, 1024]
    s3 = deployment.target.s3
    for rendition in record.thumbnails:
        body = s3.get_object(Bucket=rendition["bucket"], Key=rendition["key"])["Body"].read()
        with Image.open(io.BytesIO(body)) as picture:
            assert max(picture.size) <= rendition["size"]


def test_a_photo_rotated_by_its_orientation_tag_gets_upright_thumbnails(
    deployment: Deployment, processed: dict[str, object]
) -> None:
    # the file stores 1200x900 landscape pixels with orientation 6 (rotate 90 degrees to show)
    by_file = processed["by_file"]
    assert isinstance(by_file, dict)
    record = by_file["rotated.jpg"].record
    smallest = min(record.thumbnails, key=lambda r: r["size"])
    body = deployment.target.s3.get_object(Bucket=smallest["bucket"], Key=smallest["key"])["Body"]
    with Image.open(io.BytesIO(body.read())) as picture:
        width, height = picture.size
    assert height > width  # shown as the camera held it: portrait


def test_the_tail_saw_each_step_of_an_asset_and_cleaned_up_after_itself(
    deployment: Deployment, processed: dict[str, object]
) -> None:
    by_file = processed["by_file"]
    events = processed["events"]
    assert isinstance(by_file, dict)
    assert isinstance(events, list)
    asset = by_file["plain.jpg"].upload.asset_id
    seen = {
        e["detail-type"]
        for e in events
        if e.get("detail", {}).get("metadata", {}).get("correlation_id") == asset
    }
    assert {"AssetIngested", "ThumbnailsGenerated", "MetadataExtracted", "AssetIndexed"} <= seen
    name = processed["tail_name"]
    rules = deployment.target.events.list_rules(
        EventBusName=deployment.target.bus_name, NamePrefix=str(name)
    )["Rules"]
    assert rules == []
    queues = deployment.target.sqs.list_queues(QueueNamePrefix=str(name)).get("QueueUrls", [])
    assert queues == []


def test_status_and_list_show_the_index(
    deployment: Deployment, processed: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    by_file = processed["by_file"]
    assert isinstance(by_file, dict)
    asset = by_file["plain.jpg"].upload.asset_id

    assert mediactl(_cli(deployment, "status", asset)) == 0
    shown = capsys.readouterr().out
    assert asset in shown
    assert "indexed" in shown
    assert "FUJIFILM X-T4" in shown

    assert mediactl(_cli(deployment, "list", "--status", "rejected")) == 0
    listed = capsys.readouterr().out
    assert by_file["notes.txt"].upload.asset_id in listed
    assert asset not in listed

    assert mediactl(_cli(deployment, "status", "0" * 32)) == 1
    assert "not in the index" in capsys.readouterr().err


def test_publish_refuses_an_invalid_event_with_the_validators_message(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    code = mediactl(_cli(deployment, "publish", "AssetIngested/invalid-negative-size"))
    assert code == 1
    error = capsys.readouterr().err
    assert "refusing to publish an invalid event" in error
    assert "detail/data/size_bytes" in error


def test_a_published_example_goes_on_the_bus(pipeline: Pipeline) -> None:
    # A made-up event the indexer indexes: on the local stack only (`pipeline`).
    event, origin = publish.load_event("AssetRejected/valid-basic")
    event = publish.refresh_ids(event)
    with BusTail(pipeline.target, ["AssetRejected"]) as tail:
        done = publish.publish(pipeline.target, event, origin=origin)
        received = list(tail.events(max_events=1, timeout=20))
    assert done.detail_type == "AssetRejected"
    assert len(received) == 1
    assert received[0]["detail"]["metadata"]["event_id"] == event["detail"]["metadata"]["event_id"]


def test_dlq_list_shows_a_parked_message_and_redrive_sends_it_back(
    pipeline: Pipeline, wait: Wait, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a message the thumbnailer cannot read, parked in its DLQ by the consumer
    queues = service_queues(pipeline.target)["thumbnailer"]
    assert queues.dlq_url is not None
    sqs = pipeline.target.sqs
    marker = f"not json {time.time()}"
    sqs.send_message(QueueUrl=queues.queue_url, MessageBody=marker)

    def parked() -> list[dlq.DeadLetter]:
        reports = dlq.list_dead_letters(pipeline.target, "thumbnailer")
        return [m for m in reports[0].messages if m.body == marker]

    wait(lambda: len(parked()) == 1, 60, "the message in the thumbnailer DLQ")
    letter = parked()[0]
    assert letter.kind == "parked"
    assert letter.reason == "invalid_event"

    # when an operator lists the DLQs, then the message and its error are shown
    assert mediactl(_local_cli(pipeline, "dlq", "list")) == 0
    listing = capsys.readouterr().out
    assert "thumbnailer:" in listing
    assert "parked: invalid_event" in listing

    # when the operator redrives it, then it leaves the DLQ, is handled again, and parked again
    handled = len([o for o in pipeline.outcomes if o.service == "thumbnailer"])
    assert mediactl(_local_cli(pipeline, "dlq", "redrive", "thumbnailer")) == 0
    assert "moved 1 message(s)" in capsys.readouterr().out
    wait(
        lambda: len([o for o in pipeline.outcomes if o.service == "thumbnailer"]) > handled,
        60,
        "the thumbnailer to handle the redriven message",
    )
    wait(lambda: len(parked()) == 1, 60, "the message parked again")


def test_redrive_of_an_unknown_service_is_a_clear_error(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mediactl(_cli(deployment, "dlq", "redrive", "nope")) == 1
    error = capsys.readouterr().err
    assert "no service 'nope'" in error
    assert "thumbnailer" in error


def test_replay_puts_archived_events_back_on_the_bus(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # Replays ten minutes of the bus to every consumer: on the local stack only (`pipeline`).
    # given an event published a moment ago (the platform archives the bus)
    event = publish.refresh_ids(publish.load_event("AssetRejected/valid-basic")[0])
    publish.publish(pipeline.target, event)
    event_id = event["detail"]["metadata"]["event_id"]
    time.sleep(1)

    # when the operator replays the last ten minutes
    with BusTail(pipeline.target, ["AssetRejected"]) as tail:
        code = mediactl(_local_cli(pipeline, "replay", "--from", "10m", "--wait", "10"))
        out = capsys.readouterr().out
        replayed = []
        for seen in tail.events(timeout=10):
            if seen["detail"]["metadata"]["event_id"] == event_id and seen.get("replay-name"):
                replayed.append(seen)
                break

    # then the replay completed and the event came back, marked as replayed
    assert code == 0
    assert "COMPLETED" in out
    assert len(replayed) == 1


def test_upload_of_a_missing_file_is_refused(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mediactl(_cli(deployment, "upload", str(tmp_path / "nothing.jpg"))) == 1
    assert "not a file" in capsys.readouterr().err


def test_the_runtime_logged_every_invocation_of_every_service(pipeline: Pipeline) -> None:
    services = {o.service for o in pipeline.outcomes}
    assert {"ingest", "thumbnailer", "metadata-extractor", "indexer"} <= services
    assert "REPORT RequestId" in pipeline.logs("ingest")
