"""The indexer: merge each fact into its asset's record; announce a complete asset exactly once.

Writing the record
    Read the item (consistently), merge the fact (``indexer.merge``: pure, order-independent),
    write back only if nobody changed it meanwhile: an UpdateItem conditioned on the item's
    ``revision`` (or on its absence, for a new item). On a conflict, read and merge again. A
    duplicate fact merges into an identical record and writes nothing.

Publishing AssetIndexed once
    The write that turns the status into ``indexed`` is a conditional write only one delivery can
    win. In that same write it stores the AssetIndexed event id, ``indexed_published = false`` and
    a claim time. The winner then publishes and marks the record published (conditionally, so only
    once). The claim makes the window between the two safe:

    * crash (or failed PutEvents) after the transition and before the mark: the record stays
      indexed but unpublished. The message is redelivered (it was never deleted), or any later
      fact for the asset arrives; either finds "indexed, not published" and, once the claim is
      older than ``lease_seconds`` (longer than one invocation can run), takes the claim over
      with a compare-and-set and publishes, **with the stored event id**. A consumer that has
      seen that id knows it is the same event;
    * a concurrent delivery that sees "indexed, not published" while the claim is fresh does not
      publish: it fails with PublishInProgressError (transient), so SQS retries it later, when
      the winner has marked the record (nothing to do) or has died (its claim has expired).

    The only way to publish twice is a winner stalled longer than the lease between PutEvents and
    the mark; the copies then share one event id. Failing PutEvents releases the claim at once,
    so the retry does not wait for the lease.

Why the indexer publishes AssetIndexed itself, rather than returning it to the consumer: the
``published`` mark must follow a successful PutEvents, and the consumer publishes only after the
logic has returned. The indexer therefore returns no events to the consumer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from indexer.merge import (
    INDEXED_CAUSATION_ID,
    INDEXED_CLAIMED_AT,
    INDEXED_EVENT_ID,
    INDEXED_PUBLISHED,
    REVISION,
    Fact,
    asset_indexed_data,
    fact_from,
    merge,
)
from media_shared import (
    Event,
    EventPublisher,
    InboundEvent,
    MediaPipelineError,
    SchemaCatalog,
    build_event,
)
from media_shared.index import ASSET_ID, STATUS, Status, from_item, serialize

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

DEFAULT_LEASE_SECONDS = 120
MAX_WRITE_ATTEMPTS = 8


class IndexConflictError(MediaPipelineError):
    """Too many concurrent writers on one record in a row; transient, SQS retries."""


class PublishInProgressError(MediaPipelineError):
    """Another delivery holds a fresh claim to publish this asset's AssetIndexed; transient."""


def _conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class IndexStore:
    """The asset table, through the few operations the indexer needs."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name

    def _key(self, asset: str) -> dict[str, AttributeValueTypeDef]:
        return {ASSET_ID: {"S": asset}}

    def read(self, asset: str) -> dict[str, Any] | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key=self._key(asset), ConsistentRead=True
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def write(self, before: Mapping[str, Any] | None, after: dict[str, Any]) -> bool:
        """Write the attributes that changed, if the record is still at ``before``'s revision.

        Returns False when someone else wrote first. On success ``after`` carries its new revision.
        """
        names: dict[str, str] = {"#revision": REVISION}
        values: dict[str, AttributeValueTypeDef] = {}
        assignments: list[str] = []
        removals: list[str] = []
        for number, (name, value) in enumerate(sorted(after.items())):
            if name in (ASSET_ID, REVISION):
                continue
            if before is not None and name in before and before[name] == value:
                continue
            names[f"#a{number}"] = name
            values[f":v{number}"] = serialize(value)
            assignments.append(f"#a{number} = :v{number}")
        for number, name in enumerate(sorted(set(before or {}) - set(after))):
            names[f"#r{number}"] = name
            removals.append(f"#r{number}")
        revision = int((before or {}).get(REVISION, 0))
        values[":next"] = {"N": str(revision + 1)}
        assignments.append("#revision = :next")
        if before is None:
            names["#pk"] = ASSET_ID
            condition = "attribute_not_exists(#pk)"
        else:
            values[":expected"] = {"N": str(revision)}
            condition = "#revision = :expected"
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(str(after[ASSET_ID])),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        after[REVISION] = revision + 1
        return True

    def _guarded_update(
        self,
        asset: str,
        expression: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, AttributeValueTypeDef],
    ) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=self._key(asset),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={**names, "#revision": REVISION},
                ExpressionAttributeValues={**values, ":one": {"N": "1"}},
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def claim(self, asset: str, event_id: str, *, previous: int | None, now: int) -> bool:
        """Take over the claim to publish, if it is still ``previous`` and still unpublished."""
        names = {
            "#event": INDEXED_EVENT_ID,
            "#published": INDEXED_PUBLISHED,
            "#claim": INDEXED_CLAIMED_AT,
        }
        values: dict[str, AttributeValueTypeDef] = {
            ":event": {"S": event_id},
            ":false": {"BOOL": False},
            ":now": {"N": str(now)},
        }
        if previous is None:
            condition = "#event = :event AND #published = :false AND attribute_not_exists(#claim)"
        else:
            values[":previous"] = {"N": str(previous)}
            condition = "#event = :event AND #published = :false AND #claim = :previous"
        return self._guarded_update(
            asset, "SET #claim = :now, #revision = #revision + :one", condition, names, values
        )

    def release(self, asset: str, event_id: str, *, claim: int) -> bool:
        """Give the claim up (publishing failed), so the retry need not wait for the lease."""
        return self._guarded_update(
            asset,
            "SET #claim = :zero, #revision = #revision + :one",
            "#event = :event AND #claim = :claim",
            {"#event": INDEXED_EVENT_ID, "#claim": INDEXED_CLAIMED_AT},
            {":event": {"S": event_id}, ":claim": {"N": str(claim)}, ":zero": {"N": "0"}},
        )

    def mark_published(self, asset: str, event_id: str) -> bool:
        """Record that AssetIndexed went out; False if it was already marked."""
        return self._guarded_update(
            asset,
            "SET #published = :true, #revision = #revision + :one REMOVE #claim",
            "#event = :event AND #published = :false",
            {
                "#event": INDEXED_EVENT_ID,
                "#published": INDEXED_PUBLISHED,
                "#claim": INDEXED_CLAIMED_AT,
            },
            {":event": {"S": event_id}, ":true": {"BOOL": True}, ":false": {"BOOL": False}},
        )


class Indexer:
    """The logic of the indexer: ``(InboundEvent) -> []``, publishing AssetIndexed itself."""

    def __init__(
        self,
        *,
        store: IndexStore,
        publisher: EventPublisher,
        catalog: SchemaCatalog,
        service: str = "indexer",
        logger: Logger | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.catalog = catalog
        self.service = service
        self.logger = logger or Logger(service=service)
        self.metrics = metrics
        self.clock = clock
        self.lease_seconds = lease_seconds

    def __call__(self, inbound: InboundEvent) -> list[Event]:
        fact = fact_from(inbound)
        if fact is None:
            self.logger.info(
                "event names no asset to index; nothing to do",
                extra={"detail_type": inbound.detail_type},
            )
            return []
        record, won = self.apply(fact)
        self.announce(record, won=won)
        return []

    def apply(self, fact: Fact) -> tuple[dict[str, Any], bool]:
        """Merge ``fact`` into its record; True if this write made the asset indexed."""
        for _ in range(MAX_WRITE_ATTEMPTS):
            current = self.store.read(fact.asset_id)
            merged = merge(current, fact)
            if current is not None and merged == current:
                self.logger.debug("fact already known; record unchanged")
                return current, False
            became_indexed = merged.get(INDEXED_EVENT_ID) is not None and (
                current is None or current.get(INDEXED_EVENT_ID) is None
            )
            if became_indexed:
                merged[INDEXED_CLAIMED_AT] = int(self.clock())
            if self.store.write(current, merged):
                self.logger.info(
                    "record updated",
                    extra={
                        "fact": fact.attribute,
                        "status": merged[STATUS],
                        "revision": merged[REVISION],
                    },
                )
                return merged, became_indexed
        raise IndexConflictError(
            f"record {fact.asset_id} changed under {MAX_WRITE_ATTEMPTS} attempts in a row"
        )

    def announce(self, record: Mapping[str, Any], *, won: bool) -> None:
        """Publish AssetIndexed if the record is indexed and not yet announced."""
        if record.get(STATUS) != Status.INDEXED or record.get(INDEXED_PUBLISHED) is not False:
            return
        asset = str(record[ASSET_ID])
        event_id = str(record[INDEXED_EVENT_ID])
        claimed = record.get(INDEXED_CLAIMED_AT)
        claim = int(claimed) if claimed is not None else None
        if not won:
            now = int(self.clock())
            if claim is not None and now - claim < self.lease_seconds:
                raise PublishInProgressError(
                    f"AssetIndexed {event_id} for {asset} is being published by another "
                    f"delivery (claimed {now - claim}s ago); retry later"
                )
            if not self.store.claim(asset, event_id, previous=claim, now=now):
                raise PublishInProgressError(
                    f"another delivery took over publishing AssetIndexed {event_id}; retry later"
                )
            self.logger.warning(
                "taking over an unpublished AssetIndexed (earlier attempt failed or crashed)",
                extra={"indexed_event_id": event_id},
            )
            claim = now
        event = build_event(
            self.catalog.latest("AssetIndexed"),
            producer=self.service,
            data=asset_indexed_data(record),
            correlation_id=asset,
            causation_id=record.get(INDEXED_CAUSATION_ID),
            event_id=event_id,
        )
        try:
            self.publisher.publish([event])
        except Exception:
            if claim is not None:
                try:
                    self.store.release(asset, event_id, claim=claim)
                except Exception:  # the lease expires by itself; keep the original error
                    self.logger.exception("could not release the publish claim")
            raise
        self.store.mark_published(asset, event_id)
        self.logger.info("asset indexed and announced", extra={"indexed_event_id": event_id})
        if self.metrics is not None:
            self.metrics.add_metric(name="AssetsIndexed", unit=MetricUnit.Count, value=1)
