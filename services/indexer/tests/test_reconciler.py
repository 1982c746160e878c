"""The scheduled reconciler counts the uploads stuck short of a terminal state.

Moto in-process: the index table (conftest), a versioned uploads bucket and the originals bucket.
The index is written by the real indexer from valid facts; the reconciler reads it with
``indexer.reconciliation``, the code ``mediactl reconcile`` runs too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from indexer.logic import Indexer
from indexer.reconciler import ReconcilerSettings, stuck_lines, stuck_uploads, summary
from indexer.reconciliation import State, Stores
from media_shared import InboundEvent, SchemaCatalog
from media_shared.ids import asset_id
from media_shared.settings import ConfigurationError
from tests.support.aws import ORIGINALS, UPLOADS, FakeLambdaContext, handler_loader

HOUR = timedelta(hours=1)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def stores(aws: Any) -> Stores:
    aws.s3.create_bucket(Bucket=UPLOADS)
    aws.s3.put_bucket_versioning(Bucket=UPLOADS, VersioningConfiguration={"Status": "Enabled"})
    aws.s3.create_bucket(Bucket=ORIGINALS)
    return Stores(aws.s3, aws.dynamodb, aws.table, UPLOADS, ORIGINALS)


@pytest.fixture
def index(
    make_indexer: Callable[..., Indexer], catalog: SchemaCatalog
) -> Callable[[dict[str, Any]], None]:
    indexer = make_indexer()

    def merge(event: dict[str, Any]) -> None:
        indexer(InboundEvent(event=event, schema=catalog.validate(event)))

    return merge


def _new_asset() -> str:
    return uuid.uuid4().hex


def test_uploads_past_the_threshold_short_of_a_terminal_state_are_stuck(
    stores: Stores,
    aws: Any,
    index: Callable[[dict[str, Any]], None],
    make_facts: Callable[[str], Any],
) -> None:
    uploaded = datetime.now(UTC) - timedelta(minutes=1)
    at = {"time": _iso(uploaded)}
    # given an upload indexed with all its facts, and one rejected
    done, rejected = make_facts(_new_asset()), make_facts(_new_asset())
    for event in (
        done.ingested(uploaded_at=_iso(uploaded), **at),
        done.metadata(**at),
        done.thumbnails(**at),
        rejected.rejected(**at),
    ):
        index(event)
    # and three that are not finished: one ingested but never thumbnailed nor extracted, one
    # copied to originals/ that the index never heard of, one still in the uploads bucket
    pending = make_facts(_new_asset())
    index(pending.ingested(uploaded_at=_iso(uploaded), **at))
    unindexed = _new_asset()
    aws.s3.put_object(
        Bucket=ORIGINALS,
        Key=f"originals/{unindexed}",
        Body=b"x",
        Metadata={"uploaded-at": _iso(uploaded), "upload-key": "incoming/lost.jpg"},
    )
    version = aws.s3.put_object(Bucket=UPLOADS, Key="incoming/waiting.jpg", Body=b"x")["VersionId"]
    waiting = asset_id(UPLOADS, "incoming/waiting.jpg", version)

    # when the reconciler runs three hours later, with a two-hour threshold
    report = stuck_uploads(
        stores, datetime.now(UTC) + 3 * HOUR, stuck_after=2 * HOUR, lookback=24 * HOUR
    )

    # then the three unfinished ones are stuck, each in its state, and the finished ones are not
    stuck = {found.asset_id: found.state for found in report.unaccounted}
    assert stuck == {
        pending.asset: State.PENDING,
        unindexed: State.UNINDEXED,
        waiting: State.WAITING,
    }
    assert report.account(done.asset).state == State.INDEXED  # type: ignore[union-attr]
    assert report.account(rejected.asset).state == State.REJECTED  # type: ignore[union-attr]
    assert summary(report)["stuck"] == 3
    assert summary(report)["uploads"] == 5
    lines = {line["asset_id"]: line for line in stuck_lines(report)}
    assert lines[unindexed]["key"] == "incoming/lost.jpg"
    assert "not in the index" in lines[unindexed]["reason"]
    assert "waiting for: thumbnails, metadata" in lines[pending.asset]["reason"]


def test_an_upload_younger_than_the_threshold_is_not_stuck_yet(
    stores: Stores,
    aws: Any,
    index: Callable[[dict[str, Any]], None],
    make_facts: Callable[..., Any],
) -> None:
    # given an upload made a moment ago, not finished
    now = datetime.now(UTC)
    pending = make_facts(_new_asset())
    index(pending.ingested(uploaded_at=_iso(now), time=_iso(now)))
    aws.s3.put_object(Bucket=UPLOADS, Key="incoming/fresh.jpg", Body=b"x")
    # when the reconciler runs half an hour later with a two-hour threshold
    report = stuck_uploads(stores, now + HOUR / 2, stuck_after=2 * HOUR, lookback=24 * HOUR)
    # then nothing counts yet: it may still be on its way
    assert report.accounts == []
    assert summary(report)["stuck"] == 0
    # and three hours later it does
    later = stuck_uploads(stores, now + 3 * HOUR, stuck_after=2 * HOUR, lookback=24 * HOUR)
    assert summary(later)["stuck"] == 2


def test_the_settings_come_from_the_environment_and_refuse_nonsense() -> None:
    env = {
        "INDEX_TABLE": "t",
        "UPLOADS_BUCKET": "u",
        "ORIGINALS_BUCKET": "o",
        "METRIC_ENVIRONMENT": "dev",
        "STUCK_AFTER_MINUTES": "90",
        "LOOKBACK_HOURS": "48",
    }
    settings = ReconcilerSettings.from_env(env)
    assert settings.stuck_after == timedelta(minutes=90)
    assert settings.lookback == timedelta(hours=48)
    with pytest.raises(ConfigurationError, match="ORIGINALS_BUCKET"):
        ReconcilerSettings.from_env({k: v for k, v in env.items() if k != "ORIGINALS_BUCKET"})
    with pytest.raises(ConfigurationError, match="LOOKBACK_HOURS"):
        ReconcilerSettings.from_env({**env, "LOOKBACK_HOURS": "0"})
    with pytest.raises(ConfigurationError, match="STUCK_AFTER_MINUTES"):
        ReconcilerSettings.from_env({**env, "STUCK_AFTER_MINUTES": "soon"})


def test_the_handler_publishes_the_stuck_count_as_a_metric_for_the_alarm(
    stores: Stores,
    aws: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given one upload still in the uploads bucket, and a threshold of zero
    aws.s3.put_object(Bucket=UPLOADS, Key="incoming/stuck.jpg", Body=b"x")
    env = {
        "POWERTOOLS_SERVICE_NAME": "indexer-reconciler",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "INDEX_TABLE": aws.table,
        "UPLOADS_BUCKET": UPLOADS,
        "ORIGINALS_BUCKET": ORIGINALS,
        "METRIC_ENVIRONMENT": "test",
        "STUCK_AFTER_MINUTES": "0",
    }
    handler = handler_loader(monkeypatch, "indexer.reconcile_handler", env)()
    capsys.readouterr()
    # when the schedule invokes it
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
    found = handler.lambda_handler(scheduled, FakeLambdaContext.of("indexer-reconciler"))
    # then it says what it found
    assert found["stuck"] == 1
    assert found["states"] == {"waiting": 1}
    # and publishes UploadsStuck (EMF) with the dimensions the alarm names
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    (record,) = records
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "MediaPipeline"
    assert [m["Name"] for m in directive["Metrics"]] == ["UploadsStuck"]
    assert sorted(directive["Dimensions"][0]) == ["environment", "service"]
    assert record["service"] == "indexer-reconciler"
    assert record["environment"] == "test"
    assert record["UploadsStuck"] == [1.0], record
