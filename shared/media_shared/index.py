"""The asset index: one DynamoDB item per asset, its key schema, and the queries run on it.

The indexer writes the items (``indexer.logic``); anything that reads the index (the CLI, tests)
uses :class:`AssetIndex`. The names of the table's keys and indexes live here, once, and
``services/indexer/infra/README-table.md`` describes the same table for Terraform.

Key schema (every key attribute is a string)::

    table      asset_id (partition)
    by_status  status (partition)      updated_at (sort)     newest first: list assets by status
    by_camera  camera (partition)      taken_at (sort)       camera = "<make>#<model>", normalised
    by_taken   taken_year (partition)  taken_at (sort)       date-taken ranges, one year at a time
    by_owner   owner (partition)       owner_listing (sort)  one owner's assets by status

``owner_listing`` is ``"<status>#<updated_at>"``: one query lists an owner's assets in a status,
newest first. The indexes are sparse: an asset without EXIF make/model is not in ``by_camera``,
one without a date taken is in neither ``by_camera`` nor ``by_taken``, an unowned one (no
``owner``, see ``media_shared.ownership``) is not in ``by_owner``. Every index projects all
attributes, so a query returns whole records. No query here scans the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, QueryInputTypeDef

# Attribute names.
ASSET_ID = "asset_id"
STATUS = "status"
UPDATED_AT = "updated_at"
CAMERA = "camera"
TAKEN_AT = "taken_at"
TAKEN_YEAR = "taken_year"
OWNER = "owner"
OWNER_LISTING = "owner_listing"

# Global secondary indexes.
BY_STATUS = "by_status"
BY_CAMERA = "by_camera"
BY_TAKEN = "by_taken"
BY_OWNER = "by_owner"

# Sorts after every character an ISO 8601 timestamp uses: "<prefix>~" ends a prefix range.
_PREFIX_END = "~"
_YEAR = re.compile(r"^[0-9]{4}")


class Status(StrEnum):
    """Where an asset stands. ``indexed`` needs its original, metadata and thumbnails."""

    PENDING = "pending"
    INDEXED = "indexed"
    REJECTED = "rejected"
    FAILED = "failed"


def _normalise_camera_part(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def camera_key(make: str | None, model: str | None) -> str | None:
    """The ``camera`` attribute: ``"<make>#<model>"``, whitespace collapsed, case folded.

    None when neither is known. Writers and readers both call this, so "FUJIFILM" / "X-T4" and
    "fujifilm " / "x-t4" find the same assets.
    """
    make_part, model_part = _normalise_camera_part(make), _normalise_camera_part(model)
    if not make_part and not model_part:
        return None
    return f"{make_part}#{model_part}"


def owner_listing(status: str, updated_at: str) -> str:
    """The ``owner_listing`` attribute: ``"<status>#<updated_at>"``, so that one ``by_owner``
    query lists an owner's assets in one status, newest first."""
    return f"{status}#{updated_at}"


def taken_year(taken_at: str | None) -> str | None:
    """The ``taken_year`` attribute: the first four digits of ``taken_at``, if it has them."""
    if not taken_at:
        return None
    match = _YEAR.match(taken_at)
    return match.group(0) if match else None


# -- DynamoDB values <-> plain JSON values ------------------------------------------------------

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo_value(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): _to_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo_value(v) for v in value]
    return value


def _from_dynamo_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): _from_dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_from_dynamo_value(v) for v in value]
    return value


def serialize(value: Any) -> AttributeValueTypeDef:
    """One plain JSON value (floats allowed) as a DynamoDB attribute value."""
    serialized: AttributeValueTypeDef = _serializer.serialize(_to_dynamo_value(value))
    return serialized


def deserialize(value: AttributeValueTypeDef | Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value as a plain JSON value (numbers as int or float)."""
    raw: Any = dict(value)
    return _from_dynamo_value(_deserializer.deserialize(raw))


def to_item(values: Mapping[str, Any]) -> dict[str, AttributeValueTypeDef]:
    return {name: serialize(value) for name, value in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: deserialize(value) for name, value in item.items()}


def normalise(value: Any) -> Any:
    """``value`` as it reads back after a round trip through DynamoDB (23.0 becomes 23)."""
    return _from_dynamo_value(_to_dynamo_value(value))


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetRecord:
    """One asset as the index knows it; ``item`` holds every stored attribute."""

    asset_id: str
    status: str
    updated_at: str
    filename: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    taken_at: str | None = None
    blurhash: str | None = None
    original: dict[str, Any] | None = None
    thumbnails: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    owner: str | None = None
    item: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> AssetRecord:
        values = from_item(item)
        return cls(
            asset_id=str(values[ASSET_ID]),
            status=str(values.get(STATUS, Status.PENDING)),
            updated_at=str(values.get(UPDATED_AT, "")),
            filename=values.get("filename"),
            format=values.get("format"),
            width=values.get("width"),
            height=values.get("height"),
            camera_make=values.get("camera_make"),
            camera_model=values.get("camera_model"),
            taken_at=values.get(TAKEN_AT),
            blurhash=values.get("blurhash"),
            original=values.get("original"),
            thumbnails=list(
                ((values.get("thumbnails") or {}).get("data") or {}).get("renditions") or []
            ),
            reason=values.get("reason"),
            owner=values.get(OWNER),
            item=values,
        )


def _bound(value: date | datetime | str) -> str:
    """A date-taken bound as the stored strings start: ``YYYY-MM-DD[THH:MM:SS]``."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


class AssetIndex:
    """Read side of the asset index: get by id, list by status, find by camera or date taken."""

    def __init__(self, dynamodb: DynamoDBClient, table_name: str) -> None:
        self.dynamodb = dynamodb
        self.table_name = table_name

    def get(self, asset_id: str) -> AssetRecord | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key={ASSET_ID: {"S": asset_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return AssetRecord.from_item(item) if item else None

    def by_status(self, status: Status | str, *, limit: int | None = None) -> Iterator[AssetRecord]:
        """Assets in ``status``, most recently updated first."""
        return self._query(
            {
                "TableName": self.table_name,
                "IndexName": BY_STATUS,
                "KeyConditionExpression": "#status = :status",
                "ExpressionAttributeNames": {"#status": STATUS},
                "ExpressionAttributeValues": {":status": {"S": str(status)}},
                "ScanIndexForward": False,
            },
            limit,
        )

    def by_owner(
        self, owner: str, status: Status | str, *, limit: int | None = None
    ) -> Iterator[AssetRecord]:
        """``owner``'s assets in ``status``, most recently updated first (unowned ones never)."""
        return self._query(
            {
                "TableName": self.table_name,
                "IndexName": BY_OWNER,
                "KeyConditionExpression": "#owner = :owner AND begins_with(#listing, :status)",
                "ExpressionAttributeNames": {"#owner": OWNER, "#listing": OWNER_LISTING},
                "ExpressionAttributeValues": {
                    ":owner": {"S": owner},
                    ":status": {"S": owner_listing(str(status), "")},
                },
                "ScanIndexForward": False,
            },
            limit,
        )

    def by_camera(
        self,
        make: str | None,
        model: str | None,
        *,
        newest_first: bool = True,
        limit: int | None = None,
    ) -> Iterator[AssetRecord]:
        """Assets taken with this camera (make and model, matched case-insensitively)."""
        camera = camera_key(make, model)
        if camera is None:
            raise ValueError("give a camera make, a model, or both")
        return self._query(
            {
                "TableName": self.table_name,
                "IndexName": BY_CAMERA,
                "KeyConditionExpression": "#camera = :camera",
                "ExpressionAttributeNames": {"#camera": CAMERA},
                "ExpressionAttributeValues": {":camera": {"S": camera}},
                "ScanIndexForward": not newest_first,
            },
            limit,
        )

    def taken_between(
        self,
        start: date | datetime | str,
        end: date | datetime | str,
        *,
        limit: int | None = None,
    ) -> Iterator[AssetRecord]:
        """Assets taken from ``start`` to ``end`` inclusive, oldest first.

        Bounds compare with the stored local date and time (as the camera recorded it): a date
        covers its whole day, ``"2026-08"`` as an end covers all of August. One query per year.
        """
        low, high = _bound(start), _bound(end)
        first, last = taken_year(low), taken_year(high)
        if first is None or last is None:
            raise ValueError(f"bounds must start with a four-digit year: {low!r}, {high!r}")
        if low > high:
            raise ValueError(f"start {low!r} is after end {high!r}")

        def records() -> Iterator[AssetRecord]:
            for year in range(int(first), int(last) + 1):
                yield from self._query(
                    {
                        "TableName": self.table_name,
                        "IndexName": BY_TAKEN,
                        "KeyConditionExpression": "#year = :year AND #taken BETWEEN :low AND :high",
                        "ExpressionAttributeNames": {"#year": TAKEN_YEAR, "#taken": TAKEN_AT},
                        "ExpressionAttributeValues": {
                            ":year": {"S": f"{year:04d}"},
                            ":low": {"S": low},
                            ":high": {"S": high + _PREFIX_END},
                        },
                        "ScanIndexForward": True,
                    },
                    None,
                )

        return _limited(records(), limit)

    def _query(self, request: QueryInputTypeDef, limit: int | None) -> Iterator[AssetRecord]:
        def pages() -> Iterator[AssetRecord]:
            query = dict(request)
            while True:
                response = self.dynamodb.query(**query)  # type: ignore[arg-type]
                for item in response.get("Items", []):
                    yield AssetRecord.from_item(item)
                last = response.get("LastEvaluatedKey")
                if not last:
                    return
                query["ExclusiveStartKey"] = last

        return _limited(pages(), limit)


def _limited(records: Iterator[AssetRecord], limit: int | None) -> Iterator[AssetRecord]:
    if limit is not None and limit < 1:
        return
    for count, record in enumerate(records, start=1):
        yield record
        if limit is not None and count >= limit:
            return
