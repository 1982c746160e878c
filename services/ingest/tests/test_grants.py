"""One grant, one upload: a presigned POST replayed at its key makes no second asset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ingest.logic import Ingestor
from media_shared import InboundEvent, PermanentError, asset_id
from media_shared.ownership import owner_id
from tests.support.events import sqs_batch
from tests.support.s3events import object_created

ADA = owner_id("https://issuer.example", "ada")
GRANTED = f"incoming/{ADA}/{'0123456789abcdef' * 2}/cat.jpg"


def created(aws: Any, key: str, body: bytes) -> InboundEvent:
    """Upload ``body`` at ``key`` (as a POST with the grant would) and its S3 event."""
    response = aws.put_upload(key, body)
    event = object_created(aws.uploads, key, size=len(body), version_id=response["VersionId"])
    return InboundEvent(event=event, schema=None)


def test_a_second_upload_with_the_same_grant_is_refused_and_kept(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    idempotency_table: str,
    make_image: Callable[..., bytes],
) -> None:
    # given a first upload at the key one grant names, ingested
    ingestor = make_ingestor(idempotency_table=idempotency_table)
    first = created(aws, GRANTED, make_image(width=320))
    (ingested,) = ingestor(first)
    assert ingested.detail_type == "AssetIngested"

    # when the same grant is replayed: a second object version at that key
    replay = created(aws, GRANTED, make_image(width=640))
    replayed_version = replay.event["detail"]["object"]["version-id"]

    # then ingest refuses it permanently, naming the reason and the replayed upload's asset
    with pytest.raises(PermanentError) as refused:
        ingestor(replay)
    assert refused.value.reason == "grant_reused"
    assert refused.value.asset_id == asset_id(aws.uploads, GRANTED, replayed_version)
    assert ingested.data["asset_id"] in str(refused.value)
    # and makes no asset of it: the replay stays in the uploads bucket, nothing is copied for it
    (left,) = aws.upload_versions()
    assert (left["Key"], left["VersionId"]) == (GRANTED, replayed_version)
    originals = aws.s3.list_objects_v2(Bucket=aws.originals).get("Contents", [])
    assert [found["Key"] for found in originals] == [f"originals/{ingested.data['asset_id']}"]


def test_a_duplicate_delivery_of_the_granted_upload_is_still_the_same_asset(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    idempotency_table: str,
    make_image: Callable[..., bytes],
) -> None:
    # given an upload at a granted key, delivered twice (at-least-once), to two cold starts
    first = created(aws, GRANTED, make_image())
    (once,) = make_ingestor(idempotency_table=idempotency_table)(first)

    # when the second delivery arrives: the same version, not a replay
    (again,) = make_ingestor(idempotency_table=idempotency_table)(first)

    # then it states the same fact again
    assert (again.detail_type, again.event_id) == (once.detail_type, once.event_id)


def test_a_key_no_grant_made_may_be_uploaded_again_as_a_new_asset(
    aws: Any,
    make_ingestor: Callable[..., Ingestor],
    idempotency_table: str,
    make_image: Callable[..., bytes],
) -> None:
    # given the operator CLI's key (no owner, no grant) uploaded twice
    ingestor = make_ingestor(idempotency_table=idempotency_table)
    (first,) = ingestor(created(aws, "incoming/cat.jpg", make_image()))
    (second,) = ingestor(created(aws, "incoming/cat.jpg", make_image(width=500)))

    # then each version is an asset, as before
    assert first.detail_type == second.detail_type == "AssetIngested"
    assert first.data["asset_id"] != second.data["asset_id"]


def test_the_handler_parks_a_replayed_grant_with_processing_failed(
    aws: Any,
    handler_env: Callable[..., Any],
    idempotency_table: str,
    lambda_context: Any,
    make_image: Callable[..., bytes],
) -> None:
    # given ingest deployed with its Idempotency table, and a grant's upload already ingested
    handler = handler_env(IDEMPOTENCY_TABLE=idempotency_table)
    first = created(aws, GRANTED, make_image())
    assert handler.lambda_handler(sqs_batch(first.event), lambda_context) == {
        "batchItemFailures": []
    }
    (ingested,) = aws.published()

    # when the grant is posted again
    replay = created(aws, GRANTED, make_image(width=500))
    response = handler.lambda_handler(sqs_batch(replay.event), lambda_context)

    # then the replay is parked, not retried, and ProcessingFailed names its asset and why
    assert response == {"batchItemFailures": []}
    _, failed = aws.assert_parked(replay.event, reason="grant_reused")
    version = replay.event["detail"]["object"]["version-id"]
    assert failed["detail"]["data"]["asset_id"] == asset_id(aws.uploads, GRANTED, version)
    assert ingested["detail"]["data"]["asset_id"] in failed["detail"]["data"]["error_message"]
