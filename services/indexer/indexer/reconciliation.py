"""Reconciliation: every upload of a time window, accounted for in exactly one terminal state.

The core of ``mediactl reconcile`` (tools/cli/reconcile.py, which adds the services' DLQs and
the rendering) and of the scheduled reconciler (``indexer.reconciler``, which counts the uploads
stuck short of a terminal state): plain functions over boto3 clients and names
(:class:`Stores`), so both run the same code.

The promise (DESIGN.md, "Bad input"): every upload ends indexed, rejected with a reason, or in a
DLQ with its error, and the file is never lost. :func:`account_for` checks it for a window.

What "every upload" means
    An upload is one version of one object written to the uploads bucket (its asset id is
    ``media_shared.ids.asset_id(bucket, key, version)``). Ingest deletes that version only after
    it has confirmed a copy to ``originals/<asset_id>`` or ``quarantine/<asset_id>/...``, so at
    any moment every upload is in at least one of these places, each of which names its asset:

    * the **uploads bucket**: versions whose ``LastModified`` falls in the window (not handled
      yet, being handled, or failing);
    * the **asset index**: items of every status whose ``updated_at`` is at or after the start
      (an item's ``updated_at`` is its latest fact, never earlier than its upload), kept when the
      upload time they record (``uploaded_at``, else their first fact's time) is in the window;
      one query per status on the ``by_status`` index, no scan;
    * the **originals bucket**: ``originals/`` and ``quarantine/`` objects written since the
      start, i.e. uploads copied by ingest (an object the index does not know is reported);
    * the **dead-letter queues** of every service, peeked without consuming (``dead_letters``:
      the CLI reads them, the scheduled reconciler does not): S3 events name
      their upload, our events their asset; a message counts when its event time is in the
      window or its asset is otherwise in it.

    That union is every upload the deployment itself can still see. A version that vanished
    without its copy (the one thing the design rules out) would be invisible to it, so the
    caller can also pass what it knows was uploaded (``expected``; ``--expect FILE`` on the CLI,
    the asset ids the client got back): an expected asset found nowhere is **lost**. On AWS the
    independent record of uploads is the client's own log, or CloudTrail data events
    (``PutObject`` on the uploads bucket) for the window; their asset ids go in ``--expect``.

States
    Terminal: ``indexed`` (and its AssetIndexed published), ``rejected`` (with the reason code),
    ``failed`` (the index recorded a ProcessingFailed, or a DLQ holds one of the asset's
    messages; with the error or the receive count). Not terminal, hence *unaccounted for*:
    ``pending`` (in the index, still missing facts, or indexed but AssetIndexed not yet
    published), ``waiting`` (still in the uploads bucket), ``unindexed`` (copied to originals or
    quarantine but absent from the index), ``lost`` (expected, found nowhere). A DLQ message
    naming no asset in the window is reported too (``unattributed``). The index's state comes
    first: a dead letter of an asset the index calls indexed or rejected (a duplicate that
    failed) is noted, not counted twice.

Costs on AWS: the uploads-bucket and originals listings are proportional to the objects in
those buckets (S3 Inventory is the tool for very large ones); the index reads are queries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_plus

from botocore.exceptions import ClientError

from media_shared.ids import asset_id
from media_shared.index import BY_STATUS, STATUS, UPDATED_AT, Status, from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

ORIGINALS_PREFIX = "originals/"
QUARANTINE_PREFIX = "quarantine/"
# How far a DLQ message's timestamps may trail the window and still belong to it.
DLQ_SLACK = timedelta(minutes=15)


class State(StrEnum):
    INDEXED = "indexed"
    REJECTED = "rejected"
    FAILED = "failed"
    PENDING = "pending"
    WAITING = "waiting"
    UNINDEXED = "unindexed"
    LOST = "lost"


TERMINAL = frozenset({State.INDEXED, State.REJECTED, State.FAILED})


@dataclass
class Account:
    """One upload, where it was found, and the one state it is in."""

    asset_id: str
    state: State = State.LOST
    reason: str | None = None
    key: str | None = None
    version_id: str | None = None
    uploaded_at: datetime | None = None
    found_in: set[str] = field(default_factory=set)
    dead_letters: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL


@dataclass(frozen=True)
class Letter:
    """One message in a service's DLQ, reduced to what reconciliation needs."""

    service: str
    message_id: str
    asset_ids: tuple[str, ...]  # candidates (an S3 key may or may not be URL-encoded)
    event_time: datetime | None
    sent_at: datetime | None
    what: str  # "parked: <reason> (<error>)" or "after N receives"
    key: str | None = None
    version_id: str | None = None


@dataclass
class Reconciliation:
    start: datetime
    end: datetime
    accounts: list[Account]
    unattributed: list[Letter]

    def by_state(self, state: State) -> list[Account]:
        return [a for a in self.accounts if a.state == state]

    @property
    def counts(self) -> dict[str, int]:
        return {state.value: len(self.by_state(state)) for state in State}

    @property
    def unaccounted(self) -> list[Account]:
        return [a for a in self.accounts if not a.terminal]

    @property
    def lost(self) -> list[Account]:
        return self.by_state(State.LOST)

    @property
    def exact(self) -> bool:
        """Every upload in exactly one terminal state, and no dead letter of unknown origin."""
        return not self.unaccounted and not self.unattributed

    def account(self, asset: str) -> Account | None:
        return next((a for a in self.accounts if a.asset_id == asset), None)


@dataclass(frozen=True)
class Stores:
    """Where an upload can be: the index table and the two buckets, and the clients to read them.

    Reads only: Query on the table's ``by_status`` index (GetItem of expected assets),
    ListBucketVersions of the uploads bucket, List and HEAD under ``originals/`` and
    ``quarantine/`` of the originals bucket.
    """

    s3: S3Client
    dynamodb: DynamoDBClient
    index_table: str
    uploads_bucket: str
    originals_bucket: str


class WindowError(ValueError):
    """A window that ends before it starts."""


def window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """``[start, end]`` widened to whole seconds: S3 keeps LastModified to the second, so a
    window that is not would miss uploads made in the second it starts."""
    start = start.replace(microsecond=0)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    if start > end:
        raise WindowError(
            f"the window starts ({start.isoformat()}) after it ends ({end.isoformat()})"
        )
    return start, end


# -- reading the stores ---------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: Any) -> datetime | None:
    """An ISO 8601 time (what AWS sends), or epoch seconds (what some emulators send)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def index_items(stores: Stores, start: datetime) -> Iterator[dict[str, Any]]:
    """Every index item updated at or after ``start``: one paginated query per status."""
    for status in Status:
        request: dict[str, Any] = {
            "TableName": stores.index_table,
            "IndexName": BY_STATUS,
            "KeyConditionExpression": "#status = :status AND #updated >= :start",
            "ExpressionAttributeNames": {"#status": STATUS, "#updated": UPDATED_AT},
            "ExpressionAttributeValues": {
                ":status": {"S": status.value},
                ":start": {"S": _iso(start)},
            },
        }
        while True:
            page = stores.dynamodb.query(**request)
            for item in page.get("Items", []):
                yield from_item(item)
            last = page.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last


def _fact_data(item: dict[str, Any], name: str) -> dict[str, Any]:
    fact = item.get(name) or {}
    data = fact.get("data") if isinstance(fact, dict) else None
    return data if isinstance(data, dict) else {}


def _item_upload_time(item: dict[str, Any]) -> datetime | None:
    uploaded = _parse(_fact_data(item, "ingested").get("uploaded_at"))
    if uploaded is not None:
        return uploaded
    times = [
        _parse(fact.get("time"))
        for fact in [item.get(n) for n in ("ingested", "metadata", "thumbnails", "rejection")]
        + list((item.get("failure") or {}).values())
        if isinstance(fact, dict)
    ]
    known = [t for t in times if t is not None]
    return min(known) if known else None


def upload_versions(
    stores: Stores, bucket: str, start: datetime, end: datetime
) -> Iterator[tuple[str, str | None, datetime]]:
    """(key, version id, LastModified) of each version written to ``bucket`` in the window."""
    paginator = stores.s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            modified = version["LastModified"]
            if start <= modified <= end:
                raw = version.get("VersionId")
                yield version["Key"], (None if raw in (None, "null") else raw), modified


def copies_since(stores: Stores, bucket: str, prefix: str, start: datetime) -> Iterator[str]:
    """Keys under ``prefix`` written at or after ``start``."""
    paginator = stores.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for found in page.get("Contents", []):
            if found["LastModified"] >= start:
                yield found["Key"]


def _millis(value: str | None) -> datetime | None:
    if not value or not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def describe_letter(service: str, message: dict[str, Any]) -> Letter:
    attributes = {
        name: value.get("StringValue")
        for name, value in message.get("MessageAttributes", {}).items()
    }
    system = message.get("Attributes", {})
    try:
        body: Any = json.loads(message.get("Body", ""))
    except json.JSONDecodeError:
        body = None
    body = _object(body)
    detail = _object(body.get("detail"))
    metadata = _object(detail.get("metadata"))
    candidates: list[str] = []
    key = version = None
    if body.get("source") == "aws.s3":
        bucket = _object(detail.get("bucket")).get("name")
        obj = _object(detail.get("object"))
        raw, version = obj.get("key"), obj.get("version-id")
        if isinstance(bucket, str) and isinstance(raw, str):
            key = unquote_plus(raw)
            for candidate in dict.fromkeys((key, raw)):
                candidates.append(asset_id(bucket, candidate, version))
    for value in (metadata.get("correlation_id"), _object(detail.get("data")).get("asset_id")):
        if isinstance(value, str) and value not in candidates and not value.startswith("message:"):
            candidates.append(value)
    if attributes.get("reason"):
        what = (
            f"parked: {attributes.get('reason')} "
            f"({attributes.get('error_type')}: {attributes.get('error_message')})"
        )
    else:
        what = f"after {system.get('ApproximateReceiveCount', '?')} receives (error in its log)"
    return Letter(
        service=service,
        message_id=message["MessageId"],
        asset_ids=tuple(candidates),
        event_time=_parse(body.get("time")) or _parse(metadata.get("time")),
        sent_at=_millis(system.get("SentTimestamp")),
        what=what,
        key=key,
        version_id=version if isinstance(version, str) else None,
    )


# -- the accounting -------------------------------------------------------------------------


def _missing_facts(item: dict[str, Any]) -> str:
    missing = [n for n in ("ingested", "thumbnails", "metadata") if n not in item]
    return ", ".join(missing)


def _classify(account: Account, item: dict[str, Any] | None, letters: list[Letter]) -> None:
    status = item.get(STATUS) if item else None
    account.dead_letters = [f"{letter.service} DLQ: {letter.what}" for letter in letters]
    if item is not None and status == Status.INDEXED:
        if item.get("indexed_published") is False:
            account.state = State.PENDING
            account.reason = "indexed; its AssetIndexed is not published yet"
        else:
            account.state = State.INDEXED
    elif item is not None and status == Status.REJECTED:
        account.state = State.REJECTED
        detail = _fact_data(item, "rejection").get("detail")
        account.reason = str(item.get("reason") or "?") + (f": {detail}" if detail else "")
    elif item is not None and status == Status.FAILED:
        account.state = State.FAILED
        failures = item.get("failure") or {}
        account.reason = "; ".join(
            f"{service}: {_object(_object(failure).get('data')).get('reason')} "
            f"({_object(_object(failure).get('data')).get('error_message')})"
            for service, failure in sorted(failures.items())
        )
    elif letters:
        account.state = State.FAILED
        account.reason = "; ".join(account.dead_letters)
    elif item is not None:
        account.state = State.PENDING
        account.reason = f"in the index, {status}, waiting for: {_missing_facts(item)}"
    elif "uploads-bucket" in account.found_in:
        account.state = State.WAITING
        account.reason = "still in the uploads bucket: not handled yet"
    elif account.found_in & {"original", "quarantine"}:
        account.state = State.UNINDEXED
        where = " and ".join(sorted(account.found_in & {"original", "quarantine"}))
        account.reason = f"copied to {where} but not in the index"
    else:
        account.state = State.LOST
        account.reason = (
            "expected, but in none of: uploads bucket, originals, quarantine, index, DLQs"
        )
    if account.terminal and letters and status in (Status.INDEXED, Status.REJECTED):
        account.notes.append(
            f"{len(letters)} stale dead letter(s) of a duplicate delivery: "
            + "; ".join(account.dead_letters)
        )
    if account.terminal and "uploads-bucket" in account.found_in and status is not None:
        account.notes.append("its version is still in the uploads bucket")


def account_for(
    stores: Stores,
    start: datetime,
    end: datetime,
    *,
    expected: Iterable[str] = (),
    dead_letters: Callable[[], Iterable[Letter]] = tuple,
) -> Reconciliation:
    """Account for every upload made from ``start`` to ``end`` (see the module docstring).

    The window is taken as it is (:func:`window` widens one to whole seconds). ``expected``:
    asset ids the caller knows were uploaded in it (found nowhere: lost). ``dead_letters``:
    reads the messages parked in the services' DLQs (none by default), called once the index
    and the buckets are read. AWS errors (botocore's) are raised as they come.
    """
    expected = list(expected)
    accounts: dict[str, Account] = {}

    def account(asset: str) -> Account:
        if asset not in accounts:
            accounts[asset] = Account(asset)
        return accounts[asset]

    wanted = set(expected)
    items: dict[str, dict[str, Any]] = {}

    def indexed(item: dict[str, Any]) -> None:
        asset = str(item["asset_id"])
        items[asset] = item
        found = account(asset)
        found.found_in.add("index")
        found.uploaded_at = _item_upload_time(item)
        upload = _fact_data(item, "ingested").get("upload") or _fact_data(item, "rejection").get(
            "upload"
        )
        if isinstance(upload, dict):
            found.key, found.version_id = upload.get("key"), upload.get("version_id")

    for item in index_items(stores, start):
        uploaded = _item_upload_time(item)
        in_window = uploaded is not None and start <= uploaded <= end
        if in_window or str(item["asset_id"]) in wanted:
            indexed(item)
    for asset in sorted(wanted - set(items)):  # expected: looked up whatever its times say
        response = stores.dynamodb.get_item(
            TableName=stores.index_table, Key={"asset_id": {"S": asset}}, ConsistentRead=True
        )
        if "Item" in response:
            indexed(from_item(response["Item"]))

    uploads = stores.uploads_bucket
    for key, version, modified in upload_versions(stores, uploads, start, end):
        found = account(asset_id(uploads, key, version))
        found.found_in.add("uploads-bucket")
        found.key, found.version_id = found.key or key, found.version_id or version
        found.uploaded_at = found.uploaded_at or modified

    originals = stores.originals_bucket
    for prefix, where in ((ORIGINALS_PREFIX, "original"), (QUARANTINE_PREFIX, "quarantine")):
        for key in copies_since(stores, originals, prefix, start):
            asset = key[len(prefix) :].split("/", 1)[0]
            if asset in accounts:
                accounts[asset].found_in.add(where)
                continue
            # Not known from the index: read the upload it came from, to place it in the window.
            head = stores.s3.head_object(Bucket=originals, Key=key)
            metadata = head.get("Metadata", {})
            uploaded = _parse(metadata.get("uploaded-at")) or head["LastModified"]
            if not start <= uploaded <= end and asset not in wanted:
                continue
            found = account(asset)
            found.found_in.add(where)
            found.uploaded_at = uploaded
            if metadata.get("upload-key"):
                found.key = unquote(metadata["upload-key"])
            found.version_id = metadata.get("upload-version-id")

    for asset in sorted(wanted - set(items)):  # expected, not in the index: any copy of it?
        found = account(asset)
        try:
            stores.s3.head_object(Bucket=originals, Key=f"{ORIGINALS_PREFIX}{asset}")
            found.found_in.add("original")
        except ClientError as error:
            if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise
        listing = stores.s3.list_objects_v2(
            Bucket=originals, Prefix=f"{QUARANTINE_PREFIX}{asset}/", MaxKeys=1
        )
        if listing.get("Contents"):
            found.found_in.add("quarantine")

    letters_by_asset: dict[str, list[Letter]] = {}
    unattributed: list[Letter] = []
    for letter in dead_letters():
        known = [a for a in letter.asset_ids if a in accounts]
        moment = letter.event_time or letter.sent_at
        in_window = moment is not None and start <= moment <= end + DLQ_SLACK
        if known:
            letters_by_asset.setdefault(known[0], []).append(letter)
        elif letter.asset_ids and (in_window or letter.asset_ids[0] in wanted):
            found = account(letter.asset_ids[0])
            found.found_in.add(f"dlq:{letter.service}")
            found.key, found.version_id = letter.key, letter.version_id
            found.uploaded_at = letter.event_time
            letters_by_asset.setdefault(letter.asset_ids[0], []).append(letter)
        elif not letter.asset_ids and in_window:
            unattributed.append(letter)

    for asset in expected:
        account(asset).found_in.add("expected")

    for asset, found in accounts.items():
        letters = letters_by_asset.get(asset, [])
        for letter in letters:
            found.found_in.add(f"dlq:{letter.service}")
        _classify(found, items.get(asset), letters)
    ordered = sorted(
        accounts.values(), key=lambda a: (a.uploaded_at or end, a.key or "", a.asset_id)
    )
    return Reconciliation(start, end, ordered, unattributed)
