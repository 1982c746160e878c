"""The browser upload API: ``POST /uploads`` answers a presigned POST for one new upload.

A browser never gets credentials. It asks this API, behind API Gateway's JWT authorizer, for a
presigned POST (``boto3``'s ``generate_presigned_post``) and sends the file straight to the uploads
bucket with it. The policy S3 enforces binds:

* the bucket and the exact key ``<prefix><owner>/<random>/<sanitised file name>`` (``incoming/``
  by default): one new object, never an existing one, never outside the prefix, never under
  another owner's id. ``<owner>`` is derived from the verified token's issuer and subject
  (``media_shared.ownership.owner_id``), never from anything the client sends; ingest reads it
  back from the key and every later fact about the asset carries it;
* the exact ``Content-Type`` declared, which must be one of the image types ingest accepts (all
  ``image/``), so a text file is refused before a byte is sent;
* ``content-length-range`` of exactly the declared size (at most ``MAX_UPLOAD_BYTES``), so a
  grant for a small file cannot carry a large one;
* an expiry ``UPLOAD_URL_EXPIRES_SECONDS`` (300) from now. S3 lets a grant be posted again until
  then; ingest takes only the first version at the key as the upload (``ingest.grants``).

The declared type and size are checked here too, so the page can say why at once; ingest still
sniffs every upload's bytes and rejects what is not an image (the declaration is not trusted).

Authorisation: API Gateway validates the bearer token (JWT authorizer: issuer, audience, expiry,
signature) before the function runs, and passes its claims in ``requestContext.authorizer.jwt``.
The handler refuses (401) a request without an issuer and a subject there, so a route deployed
without the authorizer refuses everything rather than serving anyone.

Request: ``{"filename": "cat.jpg", "content_type": "image/jpeg", "size": 123456}``. Answer 201:
``{"url", "fields", "bucket", "key", "content_type", "max_bytes", "expires_at"}``; 400 with
``{"reason", "message"}`` (``bad_request``, ``unsupported_type``, ``too_large``, ``empty``).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types

from ingest.inspection import CONTENT_TYPES
from ingest.settings import DEFAULT_MAX_UPLOAD_BYTES, MAX_UPLOAD_BYTES
from media_shared import settings as env_names
from media_shared.ownership import owner_id
from media_shared.settings import integer, optional, required

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

UPLOAD_KEY_PREFIX = "UPLOAD_KEY_PREFIX"
UPLOAD_URL_EXPIRES_SECONDS = "UPLOAD_URL_EXPIRES_SECONDS"
DEFAULT_KEY_PREFIX = "incoming/"
DEFAULT_EXPIRES_SECONDS = 300
#: The image types ingest accepts (it decides from the bytes; this is the declared type).
ACCEPTED_CONTENT_TYPES = frozenset(CONTENT_TYPES.values())
MAX_FILENAME_CHARS = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadApiSettings:
    """What the upload API reads from its environment, once, at cold start."""

    uploads_bucket: str
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    key_prefix: str = DEFAULT_KEY_PREFIX
    expires_seconds: int = DEFAULT_EXPIRES_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UploadApiSettings:
        source = os.environ if env is None else env
        prefix = optional(UPLOAD_KEY_PREFIX, DEFAULT_KEY_PREFIX, source)
        return cls(
            uploads_bucket=required(env_names.UPLOADS_BUCKET, source),
            max_upload_bytes=integer(MAX_UPLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES, source, minimum=1),
            key_prefix=prefix if prefix.endswith("/") else prefix + "/",
            expires_seconds=integer(
                UPLOAD_URL_EXPIRES_SECONDS, DEFAULT_EXPIRES_SECONDS, source, minimum=1
            ),
        )


class UploadRequestError(ValueError):
    """The request cannot be granted: ``reason`` is a code the page can act on."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def sanitise_filename(name: str) -> str:
    """A safe last key segment from what the browser says the file is called.

    The base name only (no folders, either slash), NFKD-folded to ASCII, anything but letters,
    digits, ``.``, ``_`` and ``-`` turned into ``-``, no leading dot or dash, at most 100
    characters with the extension kept; ``upload`` when nothing is left.
    """
    base = re.split(r"[\\/]", name)[-1]
    ascii_name = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", ascii_name).strip(".-_")
    cleaned = re.sub(r"-{2,}", "-", cleaned)
    if not cleaned:
        return "upload"
    if len(cleaned) > MAX_FILENAME_CHARS:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            cleaned = (
                stem[: MAX_FILENAME_CHARS - len(extension) - 1].rstrip(".-_") + "." + extension
            )
        else:
            cleaned = cleaned[:MAX_FILENAME_CHARS]
    return cleaned


@dataclass(frozen=True)
class UploadRequest:
    filename: str
    content_type: str
    size: int

    @classmethod
    def parse(cls, body: Any, max_bytes: int) -> UploadRequest:
        """The request body, checked; UploadRequestError saying what is wrong."""
        if not isinstance(body, Mapping):
            raise UploadRequestError(
                "bad_request", "send a JSON object: filename, content_type, size"
            )
        filename, content_type, size = (
            body.get("filename"),
            body.get("content_type"),
            body.get("size"),
        )
        if not isinstance(filename, str) or not filename.strip():
            raise UploadRequestError("bad_request", "filename is required")
        if not isinstance(content_type, str) or not content_type:
            raise UploadRequestError("bad_request", "content_type is required")
        if isinstance(size, bool) or not isinstance(size, int):
            raise UploadRequestError("bad_request", "size (bytes, an integer) is required")
        declared = content_type.split(";", 1)[0].strip().lower()
        if declared not in ACCEPTED_CONTENT_TYPES:
            accepted = ", ".join(sorted(ACCEPTED_CONTENT_TYPES))
            raise UploadRequestError(
                "unsupported_type",
                f"{filename!s} is {declared or 'of no known type'}: only images can be uploaded "
                f"({accepted})",
            )
        if size < 1:
            raise UploadRequestError("empty", f"{filename} is empty")
        if size > max_bytes:
            raise UploadRequestError(
                "too_large",
                f"{filename} is {size:,} bytes: the largest upload accepted is {max_bytes:,} bytes",
            )
        return cls(filename=filename, content_type=declared, size=size)


@dataclass(frozen=True)
class UploadGrant:
    """A presigned POST for one object: where to send the form, and its fields."""

    url: str
    fields: dict[str, str]
    bucket: str
    key: str
    content_type: str
    max_bytes: int
    expires_at: str

    def as_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "fields": self.fields,
            "bucket": self.bucket,
            "key": self.key,
            "content_type": self.content_type,
            "max_bytes": self.max_bytes,
            "expires_at": self.expires_at,
        }


def presign_upload(
    s3: S3Client,
    settings: UploadApiSettings,
    request: UploadRequest,
    *,
    owner: str,
    token: Callable[[], str] = lambda: uuid.uuid4().hex,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> UploadGrant:
    """A presigned POST for one new object of ``owner``; its conditions bind everything."""
    key = f"{settings.key_prefix}{owner}/{token()}/{sanitise_filename(request.filename)}"
    issued = now()
    post = s3.generate_presigned_post(
        Bucket=settings.uploads_bucket,
        Key=key,  # botocore adds {"bucket": ...} and {"key": key}: this object and no other
        Fields={"Content-Type": request.content_type},
        Conditions=[
            {"Content-Type": request.content_type},
            # exactly the declared size (parse() kept it within 1..max_upload_bytes)
            ["content-length-range", request.size, request.size],
        ],
        ExpiresIn=settings.expires_seconds,
    )
    expires = issued + timedelta(seconds=settings.expires_seconds)
    return UploadGrant(
        url=post["url"],
        fields={str(k): str(v) for k, v in post["fields"].items()},
        bucket=settings.uploads_bucket,
        key=key,
        content_type=request.content_type,
        max_bytes=settings.max_upload_bytes,
        expires_at=expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
    )


def _claims(event: Mapping[str, Any]) -> Mapping[str, Any]:
    context = event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims") or {}
    return claims if isinstance(claims, Mapping) else {}


def subject(event: Mapping[str, Any]) -> str | None:
    """The token's subject as API Gateway's JWT authorizer passed it, or None."""
    sub = _claims(event).get("sub")
    return sub if isinstance(sub, str) and sub else None


def caller_owner(event: Mapping[str, Any]) -> str | None:
    """The owner id of the verified token's issuer and subject, or None without both."""
    claims = _claims(event)
    iss, sub = claims.get("iss"), claims.get("sub")
    if not isinstance(iss, str) or not iss or not isinstance(sub, str) or not sub:
        return None
    return owner_id(iss, sub)


def error(status: int, reason: str, message: str) -> Response[str]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"reason": reason, "message": message}),
    )


def build_app(
    s3: S3Client, settings: UploadApiSettings, logger: Logger | None = None
) -> APIGatewayHttpResolver:
    """The API's routes over ``s3`` and ``settings`` (tests build one with a moto client)."""
    app = APIGatewayHttpResolver()
    log = logger or Logger(service="ingest")

    @app.post("/uploads")
    def create_upload() -> Response[str]:
        sub = subject(app.current_event.raw_event)
        owner = caller_owner(app.current_event.raw_event)
        if sub is None or owner is None:
            return error(401, "unauthorized", "a valid bearer token is required")
        try:
            # decoded: API Gateway base64-encodes a body it does not take for text
            body = json.loads(app.current_event.decoded_body or "")
        except ValueError:
            body = None
        try:
            request = UploadRequest.parse(body, settings.max_upload_bytes)
        except UploadRequestError as refused:
            log.info("upload refused", extra={"reason": refused.reason, "subject": sub})
            return error(400, refused.reason, str(refused))
        grant = presign_upload(s3, settings, request, owner=owner)
        log.info(
            "upload presigned",
            extra={
                "key": grant.key,
                "content_type": grant.content_type,
                "subject": sub,
                "owner": owner,
            },
        )
        return Response(
            status_code=201,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(grant.as_json()),
        )

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        return error(404, "not_found", "no such route")

    return app
