"""On the session's local stack: the scheduled reconciler as deployed, and the uploads archive.

moto keeps EventBridge schedules but never fires them, and the local runtime runs only the
SQS-fed functions and the HTTP APIs, so nothing runs the reconciler on its schedule here. These
tests check the deployed wiring (the rule's schedule and target, the function's environment) and
run the deployed handler, in-process, with the deployed function's environment against the stack.
They also check that an upload's S3 event lands in the uploads archive on the default bus.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from indexer.reconciler import stuck_uploads
from indexer.reconciliation import State, Stores
from tests.support import images
from tests.support.aws import FakeLambdaContext, handler_loader
from tests.support.stack import Pipeline, wait_until
from tools.cli.uploads import upload
from tools.demo import wait_for_terminal
from tools.localstack.target import LOCAL_CREDENTIALS

pytestmark = [pytest.mark.infra, pytest.mark.e2e]

RECONCILER = "media-local-indexer-reconciler"


def test_the_reconciler_is_deployed_on_a_schedule_with_the_platforms_names(
    local_stack: Pipeline,
) -> None:
    events = local_stack.client("events")
    rule = events.describe_rule(Name=f"{RECONCILER}-schedule")
    assert rule["ScheduleExpression"] == "rate(30 minutes)"
    assert rule["State"] == "ENABLED"
    function = local_stack.client("lambda").get_function_configuration(FunctionName=RECONCILER)
    (target,) = events.list_targets_by_rule(Rule=f"{RECONCILER}-schedule")["Targets"]
    assert target["Arn"] == function["FunctionArn"]
    assert target["DeadLetterConfig"]["Arn"].endswith(f":{RECONCILER}-dlq")
    variables = function["Environment"]["Variables"]
    assert variables["UPLOADS_BUCKET"] == local_stack.parameter("platform/buckets/uploads/name")
    assert variables["ORIGINALS_BUCKET"] == local_stack.parameter("platform/buckets/originals/name")
    assert variables["INDEX_TABLE"] == local_stack.parameter("indexer/index-table/name")
    assert function["Handler"] == "indexer.reconcile_handler.lambda_handler"


def test_the_deployed_reconciler_finds_an_upload_indexed_and_reports_the_stuck_count(
    local_stack: Pipeline,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given an upload through the pipeline, indexed
    photo = tmp_path / "reconciled.jpg"
    photo.write_bytes(images.jpeg(320, 240, seed=21))
    (made,) = upload(local_stack.target, [photo], prefix="reconciler/")
    (progress,) = wait_for_terminal(local_stack.target, [made], 120, show=print)
    assert progress.status == "indexed", progress
    # when the deployed reconciler's handler runs with its deployed environment against the
    # stack (the threshold at zero, so the upload just made is in its window)
    function = local_stack.client("lambda").get_function_configuration(FunctionName=RECONCILER)
    env: dict[str, str] = {
        **function["Environment"]["Variables"],
        "STUCK_AFTER_MINUTES": "0",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_ENDPOINT_URL": local_stack.endpoint,
        "AWS_DEFAULT_REGION": local_stack.region,
        "AWS_ACCESS_KEY_ID": LOCAL_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": LOCAL_CREDENTIALS["aws_secret_access_key"],
        "AWS_SESSION_TOKEN": LOCAL_CREDENTIALS["aws_session_token"],
    }
    handler = handler_loader(monkeypatch, "indexer.reconcile_handler", env)()
    capsys.readouterr()
    found: dict[str, Any] = handler.lambda_handler(
        {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        FakeLambdaContext.of("indexer-reconciler"),
    )
    # then it accounted for the uploads of its window, this one among them, and published the
    # count of the stuck ones (other tests' uploads may be in flight: the count is theirs)
    assert found["uploads"] >= 1
    assert found["states"].get("indexed", 0) >= 1
    assert '"UploadsStuck"' in capsys.readouterr().out
    stores: Stores = handler.stores
    settings = handler.settings
    report = stuck_uploads(
        stores, datetime.now(UTC), stuck_after=settings.stuck_after, lookback=settings.lookback
    )
    assert report.account(made.asset_id).state == State.INDEXED


def test_an_uploads_s3_event_is_kept_in_the_uploads_archive(
    local_stack: Pipeline, tmp_path: Path
) -> None:
    events = local_stack.client("events")
    archive = local_stack.parameter("platform/archives/uploads/name")

    def count() -> int:
        return int(events.describe_archive(ArchiveName=archive)["EventCount"])

    before = count()
    assert events.describe_archive(ArchiveName=archive)["EventSourceArn"].endswith(
        ":event-bus/default"
    )
    # when a file is uploaded
    photo = tmp_path / "archived.jpg"
    photo.write_bytes(images.jpeg(64, 48, seed=22))
    upload(local_stack.target, [photo], prefix="archive/")
    # then its Object Created is archived on the default bus (for `mediactl replay --uploads`)
    wait_until(lambda: count() > before, 10, "the upload's event in the uploads archive")
