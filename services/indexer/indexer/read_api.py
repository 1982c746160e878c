"""The gallery's read API (behind API Gateway's JWT authorizer), over the asset index.

Every read is the caller's own: the caller is the owner id of the verified token's issuer and
subject (``media_shared.ownership.owner_id``, as the upload API put it in the upload's key), and
an asset is the caller's when its record's ``owner`` is that id. Routes, each one ``GetItem`` or
one ``Query`` of an index (never a Scan):

* ``GET /assets?status=indexed&limit=24``: the caller's assets in a status (default
  ``indexed``), most recently updated first, at most ``limit`` (1-100, default 24): one query of
  the ``by_owner`` index;
* ``GET /assets/{asset_id}``: one of the caller's assets; 404 when the index has no record of it
  **or it is another owner's** (the same answer, so a 404 never confirms that an id exists);
* ``GET /assets/by-upload?key=...&version_id=...``: the asset an upload became. Its id is derived
  from (uploads bucket, key, version id) as ingest derives it, so a page that just posted a file
  (S3 answers the new version's id in ``x-amz-version-id``) can follow it; 404 with the
  ``asset_id`` while the index has nothing yet, or when it is not the caller's.

The operator scope: a token whose ``scope`` (or ``scp``) claim holds ``OPERATOR_SCOPE`` (set per
environment; unset, nobody has it) reads every asset, unowned ones included (uploads of the
operator CLI), and lists through the ``by_status`` index. Every such read is logged (``operator
read``) with the caller's issuer, subject and owner id, the route and what it returned.

An asset is its record's display fields, the metadata extractor's facts (``metadata``), and its
thumbnails, each with a presigned GET URL on the derived bucket valid for
``THUMBNAIL_URL_EXPIRES_SECONDS`` (900): the browser loads them straight from S3. Only keys the
thumbnailer writes for that asset (``thumbnails/<asset_id>/...`` in the derived bucket) are
signed, whatever else a fact names.

The handler refuses (401) a request without the JWT authorizer's issuer and subject, so a route
deployed without the authorizer serves nobody.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from media_shared import settings as env_names
from media_shared.ids import asset_id
from media_shared.index import AssetIndex, AssetRecord, Status
from media_shared.ownership import owner_id
from media_shared.settings import integer, optional, required

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

THUMBNAIL_URL_EXPIRES_SECONDS = "THUMBNAIL_URL_EXPIRES_SECONDS"
OPERATOR_SCOPE = "OPERATOR_SCOPE"
DEFAULT_URL_EXPIRES_SECONDS = 900
DEFAULT_LIMIT = 24
MAX_LIMIT = 100
_ASSET_ID = re.compile(r"^[0-9a-f]{32}$")
# Facts of the metadata extractor that say nothing to a person looking at a gallery.
_METADATA_HIDDEN = frozenset({"asset_id", "skipped_tags"})


@dataclass(frozen=True)
class ReadApiSettings:
    """What the read API reads from its environment, once, at cold start."""

    index_table: str
    derived_bucket: str
    uploads_bucket: str
    url_expires_seconds: int = DEFAULT_URL_EXPIRES_SECONDS
    #: The JWT scope that reads every asset; None: no caller has it.
    operator_scope: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReadApiSettings:
        source = os.environ if env is None else env
        return cls(
            index_table=required(env_names.INDEX_TABLE, source),
            derived_bucket=required(env_names.DERIVED_BUCKET, source),
            uploads_bucket=required(env_names.UPLOADS_BUCKET, source),
            url_expires_seconds=integer(
                THUMBNAIL_URL_EXPIRES_SECONDS, DEFAULT_URL_EXPIRES_SECONDS, source, minimum=1
            ),
            operator_scope=optional(OPERATOR_SCOPE, "", source).strip() or None,
        )


@dataclass(frozen=True)
class Caller:
    """Who asks: the verified token's issuer and subject, their owner id, and the operator flag."""

    issuer: str
    subject: str
    owner: str
    operator: bool = False

    def may_read(self, record: AssetRecord) -> bool:
        return self.operator or record.owner == self.owner

    def log_fields(self) -> dict[str, Any]:
        return {"caller_issuer": self.issuer, "caller_subject": self.subject, "caller": self.owner}


class Gallery:
    """Assets as the page shows them: records of the index plus presigned thumbnail URLs."""

    def __init__(self, index: AssetIndex, s3: S3Client, settings: ReadApiSettings) -> None:
        self.index = index
        self.s3 = s3
        self.settings = settings

    def thumbnail_url(self, key: str) -> str:
        return self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.settings.derived_bucket, "Key": key},
            ExpiresIn=self.settings.url_expires_seconds,
        )

    def describe(self, record: AssetRecord) -> dict[str, Any]:
        metadata = ((record.item.get("metadata") or {}).get("data")) or {}
        failure = record.item.get("failure") or {}
        thumbnails = [
            {
                "size": rendition.get("size"),
                "width": rendition.get("width"),
                "height": rendition.get("height"),
                "format": rendition.get("format"),
                "bytes": rendition.get("bytes"),
                "url": self.thumbnail_url(str(rendition["key"])),
            }
            for rendition in sorted(record.thumbnails, key=lambda r: int(r.get("size") or 0))
            # Only what the thumbnailer wrote for this asset to the derived bucket is signed.
            if rendition.get("bucket") == self.settings.derived_bucket
            and str(rendition.get("key") or "").startswith(f"thumbnails/{record.asset_id}/")
        ]
        return {
            "asset_id": record.asset_id,
            "status": record.status,
            "updated_at": record.updated_at,
            "filename": record.filename,
            "format": record.format,
            "width": record.width,
            "height": record.height,
            "camera_make": record.camera_make,
            "camera_model": record.camera_model,
            "taken_at": record.taken_at,
            "reason": record.reason,
            "failures": sorted(failure) if isinstance(failure, Mapping) else [],
            "metadata": {k: v for k, v in metadata.items() if k not in _METADATA_HIDDEN},
            "thumbnails": thumbnails,
            "blurhash": record.blurhash,
        }

    def get(self, asset: str, caller: Caller) -> dict[str, Any] | None:
        """The asset, or None when it is unknown or not the caller's (indistinguishably)."""
        record = self.index.get(asset)
        if record is None or not caller.may_read(record):
            return None
        return self.describe(record)

    def list(self, status: str, limit: int, caller: Caller) -> list[dict[str, Any]]:
        """The caller's assets in ``status`` (every asset for the operator), newest first."""
        records = (
            self.index.by_status(status, limit=limit)
            if caller.operator
            else self.index.by_owner(caller.owner, status, limit=limit)
        )
        return [self.describe(record) for record in records if caller.may_read(record)]

    def upload_asset_id(self, key: str, version_id: str | None) -> str:
        return asset_id(self.settings.uploads_bucket, key, version_id)


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    return claims if isinstance(claims, Mapping) else {}


def subject(event: Mapping[str, Any]) -> str | None:
    """The token's subject as API Gateway's JWT authorizer passed it, or None."""
    sub = _claims(event).get("sub")
    return sub if isinstance(sub, str) and sub else None


def _scopes(claims: Mapping[str, Any]) -> set[str]:
    # API Gateway passes every claim as a string: "a b", or "[a b]" for a JSON array.
    raw = claims.get("scope") or claims.get("scp") or ""
    return set(str(raw).strip("[]").split())


def caller_of(event: Mapping[str, Any], operator_scope: str | None) -> Caller | None:
    """The caller the JWT authorizer verified, or None without an issuer and a subject."""
    claims = _claims(event)
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or not isinstance(sub, str) or not sub:
        return None
    return Caller(
        issuer=iss,
        subject=sub,
        owner=owner_id(iss, sub),
        operator=operator_scope is not None and operator_scope in _scopes(claims),
    )


def _json(status: int, body: Any) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body)
    )


def error(status: int, reason: str, message: str, **extra: Any) -> Response[str]:
    return _json(status, {"reason": reason, "message": message, **extra})


def build_app(gallery: Gallery, logger: Logger | None = None) -> APIGatewayHttpResolver:
    """The API's routes over ``gallery`` (tests build one over a moto table and bucket)."""
    app = APIGatewayHttpResolver()
    log = logger or Logger(service="indexer")
    statuses = {str(s) for s in Status}

    def caller() -> Caller | Response[str]:
        found = caller_of(app.current_event.raw_event, gallery.settings.operator_scope)
        if found is None:
            return error(401, "unauthorized", "a valid bearer token is required")
        return found

    def audited(who: Caller, route: str, **what: Any) -> None:
        if who.operator:
            log.info("operator read", extra={"route": route, **who.log_fields(), **what})

    @app.get("/assets")
    def list_assets() -> Response[str]:
        who = caller()
        if isinstance(who, Response):
            return who
        status = app.current_event.get_query_string_value("status", str(Status.INDEXED)) or ""
        if status not in statuses:
            return error(400, "bad_request", f"status must be one of {', '.join(sorted(statuses))}")
        raw_limit = app.current_event.get_query_string_value("limit", str(DEFAULT_LIMIT)) or ""
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            return error(400, "bad_request", f"limit must be an integer from 1 to {MAX_LIMIT}")
        assets = gallery.list(status, int(raw_limit), who)
        log.debug("listed assets", extra={"status": status, "count": len(assets)})
        audited(who, "GET /assets", status=status, count=len(assets))
        return _json(200, {"status": status, "assets": assets})

    @app.get("/assets/by-upload")
    def asset_of_upload() -> Response[str]:
        who = caller()
        if isinstance(who, Response):
            return who
        key = app.current_event.get_query_string_value("key", "") or ""
        version = app.current_event.get_query_string_value("version_id", "") or None
        if not key:
            return error(400, "bad_request", "key (the uploaded object's key) is required")
        asset = gallery.upload_asset_id(key, version)
        found = gallery.get(asset, who)
        audited(who, "GET /assets/by-upload", asset_id=asset, found=found is not None)
        if found is None:
            return error(404, "not_found", "not in the index yet", asset_id=asset)
        return _json(200, found)

    @app.get("/assets/<asset_id>")
    def get_asset(asset_id: str) -> Response[str]:
        who = caller()
        if isinstance(who, Response):
            return who
        if not _ASSET_ID.match(asset_id):
            return error(400, "bad_request", "an asset id is 32 lowercase hex characters")
        found = gallery.get(asset_id, who)
        audited(who, "GET /assets/{asset_id}", asset_id=asset_id, found=found is not None)
        if found is None:
            return error(404, "not_found", "no such asset in the index", asset_id=asset_id)
        return _json(200, found)

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return error(404, "not_found", "no such route")

    return app
