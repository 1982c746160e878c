"""One grant, one upload: the first object version ingest sees at a granted key is the upload.

A presigned POST cannot be made single-use on S3's side: until it expires, its holder may post
it again, and each post is a new version at the granted key (the uploads bucket is versioned), so
a new asset. The upload API grants one key per upload (``<prefix><owner>/<random>/<name>``), so
ingest makes the grant single-use where it decides what an upload is: it *claims* the granted
key for the first version it handles there, with a conditional write (one wins, even when two
versions are handled at once), and refuses every other version at that key permanently
(``grant_reused``: the record goes to ingest's DLQ with a ProcessingFailed naming the replayed
upload's asset and the asset that holds the grant; the replayed object stays in the uploads
bucket, untouched, for an operator to look at). A duplicate delivery of the version that holds
the claim is that upload again, not a replay.

Keys no grant made (the operator CLI's ``incoming/<name>``: no owner in the key) are not
claimed: uploading such a key again is a new upload, as before.

The claims live in ingest's Powertools Idempotency table (deployed by default), under keys of
their own (``ingest.grant#<sha256 of bucket and key>``), and expire through its TTL
(``expiration``) after :data:`CLAIM_SECONDS`: far past any grant's expiry, and past the 14 days
a replayed record can wait in the DLQ to be redriven. Without the table there are no claims and
a replayed grant is ingested as another upload (logged once at cold start).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from media_shared import PermanentError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CLAIM_PREFIX: Final = "ingest.grant#"
CLAIM_SECONDS: Final = 15 * 24 * 60 * 60


class GrantReusedError(PermanentError):
    """A second object version at a key one grant made: the grant was posted again."""

    reason = "grant_reused"


def claim_id(bucket: str, key: str) -> str:
    return CLAIM_PREFIX + hashlib.sha256(f"{bucket}\n{key}".encode()).hexdigest()


class GrantClaims:
    """Claims of granted keys in a DynamoDB table keyed by ``id`` (the Idempotency table)."""

    def __init__(
        self, dynamodb: DynamoDBClient, table: str, *, now: Callable[[], float] = time.time
    ) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.now = now

    def claim(self, bucket: str, key: str, upload: str, asset: str) -> str | None:
        """Claim ``key`` for ``upload`` (its version id); None when it holds the claim.

        Otherwise the asset id of the upload that holds it. ``upload`` identifies one object
        version: a second delivery of the same version holds the claim again.
        """
        item_id = claim_id(bucket, key)
        try:
            self.dynamodb.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": item_id},
                    "upload": {"S": upload},
                    "asset_id": {"S": asset},
                    "expiration": {"N": str(int(self.now()) + CLAIM_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(id) OR #upload = :upload",
                ExpressionAttributeNames={"#upload": "upload"},
                ExpressionAttributeValues={":upload": {"S": upload}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            held = self.dynamodb.get_item(
                TableName=self.table, Key={"id": {"S": item_id}}, ConsistentRead=True
            ).get("Item", {})
            return str(held.get("asset_id", {}).get("S", "another upload"))
        return None


def build_claims(table: str | None, dynamodb: DynamoDBClient | None) -> GrantClaims | None:
    """Claims in ``table``, or None when ingest has no Idempotency table."""
    if not table or dynamodb is None:
        return None
    return GrantClaims(dynamodb, table)
