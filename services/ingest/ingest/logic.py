"""Ingest: decide what one upload is, move it where it belongs, say so once.

For each "Object Created" event in the uploads bucket:

1. find the object: the key decoded, else the key as sent, at the event's version;
2. if it is gone, the upload was already handled (a duplicate delivery): republish the facts read
   back from ``originals/<asset_id>`` or ``quarantine/<asset_id>/...``, else fail (``missing``);
3. at a key a grant made, claim the key for this version; another version there is a replayed
   grant, refused (``grant_reused``, ``ingest.grants``);
4. check it, cheapest first: size from S3's numbers, then the bytes streamed through SHA-256 into a
   spooled temporary file, magic bytes, header dimensions, a small decode;
5. accepted: server-side copy of that exact version to ``originals/<asset_id>`` (typed with the
   sniffed content type, facts in its metadata), then delete that version from uploads and return
   AssetIngested; rejected: the same to ``quarantine/<asset_id>/<filename>`` and AssetRejected.

Nothing is deleted before its copy is confirmed, so a crash at any point leaves the upload either
still in uploads (processed again) or already copied (found in step 2): never lost. The events carry
ids derived from the asset id, so whichever path produces them, a fact has one id.

Ingest never writes to the uploads bucket: that is what keeps it from triggering itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from ingest.grants import GrantClaims, GrantReusedError
from ingest.inspection import (
    CHUNK_BYTES,
    ImageInfo,
    UploadRejectedError,
    inspect_image,
    sniff,
    spool,
)
from ingest.ownership import owner_fields
from ingest.s3event import ObjectCreated
from ingest.settings import IngestSettings
from media_shared import (
    Event,
    InboundEvent,
    PermanentError,
    SchemaCatalog,
    asset_id,
    build_event,
    stable_event_id,
)
from media_shared.ownership import owner_of_key

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency.persistence.base import (
        BasePersistenceLayer,
    )
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import HeadObjectOutputTypeDef

ORIGINALS_PREFIX = "originals/"
QUARANTINE_PREFIX = "quarantine/"
QUARANTINE_CONTENT_TYPE = "application/octet-stream"
MAX_KEY_BYTES = 1024
# S3 allows 2 KB of user metadata (names and values); stay clear of it.
METADATA_BUDGET = 1800
MAX_DETAIL_CHARS = 400
IDEMPOTENCY_EXPIRY_SECONDS = 24 * 60 * 60
# Client errors that mean "no such object at that version" (404), or a delete marker (405).
_GONE_STATUSES = {404, 405}


def fact_event_id(producer: str, detail_type: str, asset: str) -> str:
    """The one event id of a fact about an asset, whichever delivery or code path produces it."""
    return stable_event_id(producer, detail_type, data={"asset_id": asset})


def filename_of(key: str) -> str:
    """Last segment of a key; "upload" for a key ending in "/"."""
    return key.rsplit("/", 1)[-1] or "upload"


def quarantine_key(asset: str, filename: str) -> str:
    """``quarantine/<asset_id>/<filename>``, the filename cut (on a character) to fit S3's limit."""
    prefix = f"{QUARANTINE_PREFIX}{asset}/"
    room = MAX_KEY_BYTES - len(prefix.encode())
    name = filename.encode()[:room].decode("utf-8", "ignore") or "upload"
    return prefix + name


def original_key(asset: str) -> str:
    return f"{ORIGINALS_PREFIX}{asset}"


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _quote(value: str) -> str:
    """S3 metadata travels in HTTP headers: keep it ASCII and reversible."""
    return quote(value, safe="/")


def fit_metadata(metadata: dict[str, str], *, droppable: tuple[str, ...]) -> dict[str, str]:
    """Drop ``droppable`` entries, in order, until the metadata fits S3's budget."""
    fitted = dict(metadata)
    for name in droppable:
        if sum(len(k) + len(v) for k, v in fitted.items()) <= METADATA_BUDGET:
            break
        fitted.pop(name, None)
    return fitted


@dataclass(frozen=True)
class Upload:
    """One upload as found in the uploads bucket, at one version."""

    bucket: str
    key: str
    version_id: str | None
    size: int
    declared_content_type: str | None
    last_modified: datetime | None
    etag: str | None = None

    @property
    def asset_id(self) -> str:
        return asset_id(self.bucket, self.key, self.version_id)

    @property
    def filename(self) -> str:
        return filename_of(self.key)

    def ref(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "version_id": self.version_id}


@dataclass(frozen=True)
class Examination:
    """What the checks found; ``rejection`` is None for an accepted upload."""

    sha256: str | None = None
    sniffed_content_type: str | None = None
    image: ImageInfo | None = None
    rejection: UploadRejectedError | None = None


@dataclass(frozen=True)
class Idempotency:
    """Powertools Idempotency, wired: the store and its configuration."""

    persistence: BasePersistenceLayer
    config: IdempotencyConfig


def build_idempotency(
    table_name: str | None, dynamodb: DynamoDBClient | None
) -> Idempotency | None:
    """Idempotency on ``table_name``, or None when no table is configured."""
    if not table_name:
        return None
    return Idempotency(
        persistence=DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb),
        config=IdempotencyConfig(
            event_key_jmespath="[bucket, key, version_id]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
        ),
    )


def event_to_dict(event: Event) -> dict[str, Any]:
    return {"source": event.source, "detail_type": event.detail_type, "detail": event.detail}


def event_from_dict(stored: Mapping[str, Any]) -> Event:
    return Event(
        source=str(stored["source"]),
        detail_type=str(stored["detail_type"]),
        detail=dict(stored["detail"]),
    )


class Ingestor:
    """The logic of the ingest service: ``(InboundEvent) -> [AssetIngested | AssetRejected]``.

    With ``idempotency``, a delivery of an upload already handled (same bucket, key as sent and
    version) returns the events stored the first time, without touching S3; the consumer publishes
    them again, with the same ids. Republishing is deliberate: the stored result is saved before
    the consumer publishes, so if that publish failed, the retry must publish, and downstream
    consumers are idempotent to a fact they have seen (the indexer merges it as a no-op).
    """

    def __init__(
        self,
        *,
        settings: IngestSettings,
        s3: S3Client,
        catalog: SchemaCatalog,
        logger: Logger | None = None,
        idempotency: Idempotency | None = None,
        transfer_config: TransferConfig | None = None,
        spool_dir: str | None = None,
        grants: GrantClaims | None = None,
    ) -> None:
        self.settings = settings
        self.s3 = s3
        self.catalog = catalog
        self.logger = logger or Logger(service=settings.common.service)
        self.transfer_config = transfer_config or TransferConfig()
        self.spool_dir = spool_dir
        self.idempotency = idempotency
        self.grants = grants
        self._idempotent: Callable[..., dict[str, Any]] | None = None
        if idempotency is not None:
            self._idempotent = idempotent_function(
                self._ingest_stored,
                data_keyword_argument="upload",
                persistence_store=idempotency.persistence,
                config=idempotency.config,
                key_prefix=f"{settings.common.service}.ingest",
            )

    @property
    def service(self) -> str:
        return self.settings.common.service

    def __call__(self, inbound: InboundEvent) -> list[Event]:
        # A correlation id left by the previous record must not label this one's logs.
        self.logger.set_correlation_id(None)
        created = ObjectCreated.from_event(inbound.event)
        if created.bucket != self.settings.uploads_bucket:
            raise PermanentError(
                f"ingest only takes uploads from {self.settings.uploads_bucket}, "
                f"not {created.bucket}",
                reason="wrong_bucket",
            )
        self.logger.append_keys(upload_key=created.raw_key, upload_version_id=created.version_id)
        try:
            if self._idempotent is None:
                return self.ingest(created)
            stored = self._idempotent(upload=created.idempotency_payload(), created=created)
            return [event_from_dict(event) for event in stored["events"]]
        finally:
            self.logger.remove_keys(["upload_key", "upload_version_id", "asset_id"])

    def _ingest_stored(self, *, upload: dict[str, Any], created: ObjectCreated) -> dict[str, Any]:
        """The unit Powertools makes idempotent; ``upload`` is the key it hashes."""
        return {"events": [event_to_dict(event) for event in self.ingest(created)]}

    # -- the work ------------------------------------------------------------------------------

    def ingest(self, created: ObjectCreated) -> list[Event]:
        upload = self.locate(created)
        if upload is None:
            return [self.recover(created)]
        self._correlate(upload.asset_id)
        self.check_grant(upload)
        examination = self.examine(upload)
        if examination.rejection is not None:
            return [self.quarantine(upload, examination, created.event_id)]
        return [self.accept(upload, examination, created.event_id)]

    def locate(self, created: ObjectCreated) -> Upload | None:
        """The upload at the event's version: decoded key first, then the key as sent."""
        for key in created.candidate_keys:
            head = self._head(created.bucket, key, created.version_id)
            if head is None:
                continue
            if key != created.decoded_key:
                self.logger.info(
                    "the decoded key does not exist; using the key exactly as the event sent it",
                    extra={"decoded_key": created.decoded_key, "raw_key": key},
                )
            if created.size is not None and created.size != head["ContentLength"]:
                self.logger.warning(
                    "the event's size differs from the object's; trusting the object",
                    extra={"event_size": created.size, "object_size": head["ContentLength"]},
                )
            return Upload(
                bucket=created.bucket,
                key=key,
                version_id=created.version_id,
                size=head["ContentLength"],
                declared_content_type=head.get("ContentType"),
                last_modified=head.get("LastModified"),
                etag=head.get("ETag"),
            )
        return None

    def check_grant(self, upload: Upload) -> None:
        """Refuse a second object version at a key one grant made (``ingest.grants``)."""
        if self.grants is None or owner_of_key(upload.key) is None:
            return
        # The version id names the upload; without versioning, its ETag and time must do.
        identity = upload.version_id or f"{upload.etag}@{upload.last_modified}"
        holder = self.grants.claim(upload.bucket, upload.key, identity, upload.asset_id)
        if holder is None:
            return
        self.logger.warning(
            "a grant was posted again: refusing the second upload at its key",
            extra={"reason": GrantReusedError.reason, "grant_holder_asset_id": holder},
        )
        raise GrantReusedError(
            f"s3://{upload.bucket}/{upload.key} (version {upload.version_id}) is a second upload "
            f"with one grant; the grant's upload is asset {holder}. The object is left in the "
            "uploads bucket",
            asset_id=upload.asset_id,
        )

    def examine(self, upload: Upload) -> Examination:
        """Run every check; the bytes are read only once size allows, and never held whole."""
        limit = self.settings.max_upload_bytes
        if upload.size == 0:
            return Examination(rejection=UploadRejectedError("empty", "the upload has 0 bytes"))
        if upload.size > limit:
            return Examination(
                rejection=UploadRejectedError(
                    "too_large", f"the upload has {upload.size} bytes, over the limit of {limit}"
                )
            )
        request: dict[str, Any] = {"Bucket": upload.bucket, "Key": upload.key}
        if upload.version_id:
            request["VersionId"] = upload.version_id
        body = self.s3.get_object(**request)["Body"]
        try:
            spooled = spool(
                body.iter_chunks(chunk_size=CHUNK_BYTES), limit=limit, directory=self.spool_dir
            )
        except UploadRejectedError as rejection:
            return Examination(rejection=rejection)
        finally:
            body.close()
        with spooled:
            if spooled.size == 0:
                return Examination(rejection=UploadRejectedError("empty", "the upload has 0 bytes"))
            sniffed = sniff(spooled.head)
            try:
                image = inspect_image(
                    spooled.file,
                    sniffed,
                    max_pixels=self.settings.max_image_pixels,
                    memory_budget=self.settings.decode_budget,
                    memory_mb=self.settings.memory_mb,
                )
            except UploadRejectedError as rejection:
                return Examination(
                    sha256=spooled.sha256,
                    sniffed_content_type=sniffed.content_type,
                    rejection=rejection,
                )
            return Examination(
                sha256=spooled.sha256, sniffed_content_type=sniffed.content_type, image=image
            )

    def accept(self, upload: Upload, examination: Examination, causation_id: str) -> Event:
        image = examination.image
        if image is None or examination.sha256 is None:
            raise ValueError("accept() needs an examined image")
        asset = upload.asset_id
        uploaded_at = iso_utc(upload.last_modified) if upload.last_modified else None
        metadata = {
            "asset-id": asset,
            "sha256": examination.sha256,
            "format": image.format,
            "width": str(image.width),
            "height": str(image.height),
            "upload-key": _quote(upload.key),
            "upload-version-id": upload.version_id or "null",
        }
        if uploaded_at:
            metadata["uploaded-at"] = uploaded_at
        target = original_key(asset)
        version = self._move(
            upload,
            target,
            content_type=image.content_type,
            metadata=fit_metadata(metadata, droppable=("upload-key",)),
        )
        self.logger.info(
            "upload accepted",
            extra={"format": image.format, "size_bytes": upload.size, "original_key": target},
        )
        return self._ingested(
            upload,
            original={
                "bucket": self.settings.originals_bucket,
                "key": target,
                "version_id": version,
            },
            image=image,
            sha256=examination.sha256,
            uploaded_at=uploaded_at,
            causation_id=causation_id,
        )

    def quarantine(self, upload: Upload, examination: Examination, causation_id: str) -> Event:
        rejection = examination.rejection
        if rejection is None:
            raise ValueError("quarantine() needs a rejection")
        asset = upload.asset_id
        target = quarantine_key(asset, upload.filename)
        metadata = {
            "asset-id": asset,
            "reason": rejection.reason,
            "detail": _quote(rejection.detail[:MAX_DETAIL_CHARS]),
            "size": str(upload.size),
            "upload-key": _quote(upload.key),
            "upload-version-id": upload.version_id or "null",
        }
        if examination.sha256:
            metadata["sha256"] = examination.sha256
        if examination.sniffed_content_type:
            metadata["sniffed-content-type"] = examination.sniffed_content_type
        if upload.declared_content_type:
            metadata["declared-content-type"] = _quote(upload.declared_content_type[:200])
        version = self._move(
            upload,
            target,
            content_type=QUARANTINE_CONTENT_TYPE,
            metadata=fit_metadata(metadata, droppable=("upload-key", "detail")),
        )
        self.logger.warning(
            "upload rejected",
            extra={
                "reason": rejection.reason,
                "detail": rejection.detail,
                "quarantine_key": target,
            },
        )
        return self._rejected(
            upload,
            quarantine={
                "bucket": self.settings.originals_bucket,
                "key": target,
                "version_id": version,
            },
            reason=rejection.reason,
            detail=rejection.detail,
            sniffed_content_type=examination.sniffed_content_type,
            sha256=examination.sha256,
            causation_id=causation_id,
        )

    def recover(self, created: ObjectCreated) -> Event:
        """The upload is gone: find what an earlier delivery did with it and say it again."""
        originals = self.settings.originals_bucket
        for key in created.candidate_keys:
            asset = asset_id(created.bucket, key, created.version_id)
            head = self._head(originals, original_key(asset), None)
            if head is not None:
                self._correlate(asset)
                self.logger.info("upload already ingested; republishing its AssetIngested")
                return self._ingested_from_original(created, key, head)
        for key in created.candidate_keys:
            asset = asset_id(created.bucket, key, created.version_id)
            listing = self.s3.list_objects_v2(
                Bucket=originals, Prefix=f"{QUARANTINE_PREFIX}{asset}/", MaxKeys=1
            )
            for found in listing.get("Contents", []):
                head = self._head(originals, found["Key"], None)
                if head is not None:
                    self._correlate(asset)
                    self.logger.info("upload already rejected; republishing its AssetRejected")
                    return self._rejected_from_quarantine(created, key, found["Key"], head)
        assets = ", ".join(
            asset_id(created.bucket, key, created.version_id) for key in created.candidate_keys
        )
        raise PermanentError(
            f"s3://{created.bucket}/{created.decoded_key} (version {created.version_id}, asset "
            f"{assets}) no longer exists and was neither ingested nor quarantined",
            reason="missing",
        )

    # -- events --------------------------------------------------------------------------------

    def _ingested(
        self,
        upload: Upload,
        *,
        original: dict[str, Any],
        image: ImageInfo,
        sha256: str,
        uploaded_at: str | None,
        causation_id: str,
    ) -> Event:
        asset = upload.asset_id
        data: dict[str, Any] = {
            "asset_id": asset,
            "upload": upload.ref(),
            "original": original,
            "filename": upload.filename,
            "content_type": image.content_type,
            "format": image.format,
            "size_bytes": upload.size,
            "sha256": sha256,
            "width": image.width,
            "height": image.height,
            **owner_fields(upload.key),
        }
        if uploaded_at:
            data["uploaded_at"] = uploaded_at
        return build_event(
            self.catalog.latest("AssetIngested"),
            producer=self.service,
            data=data,
            correlation_id=asset,
            causation_id=causation_id,
            event_id=fact_event_id(self.service, "AssetIngested", asset),
        )

    def _rejected(
        self,
        upload: Upload,
        *,
        quarantine: dict[str, Any],
        reason: str,
        detail: str,
        sniffed_content_type: str | None,
        sha256: str | None,
        causation_id: str,
    ) -> Event:
        asset = upload.asset_id
        return build_event(
            self.catalog.latest("AssetRejected"),
            producer=self.service,
            data={
                "asset_id": asset,
                "upload": upload.ref(),
                "quarantine": quarantine,
                "filename": upload.filename,
                "reason": reason,
                "detail": detail,
                "declared_content_type": upload.declared_content_type,
                "sniffed_content_type": sniffed_content_type,
                "size_bytes": upload.size,
                "sha256": sha256,
                **owner_fields(upload.key),
            },
            correlation_id=asset,
            causation_id=causation_id,
            event_id=fact_event_id(self.service, "AssetRejected", asset),
        )

    def _ingested_from_original(
        self, created: ObjectCreated, key: str, head: HeadObjectOutputTypeDef
    ) -> Event:
        metadata = head.get("Metadata", {})
        try:
            image = ImageInfo(
                format=metadata["format"],
                content_type=head["ContentType"],
                width=int(metadata["width"]),
                height=int(metadata["height"]),
            )
            sha256 = metadata["sha256"]
        except (KeyError, ValueError) as error:
            raise PermanentError(
                f"the original of {key} lacks the facts ingest stores with it ({error})",
                reason="inconsistent_original",
            ) from None
        upload = Upload(
            bucket=created.bucket,
            key=key,
            version_id=created.version_id,
            size=head["ContentLength"],
            declared_content_type=None,
            last_modified=None,
        )
        return self._ingested(
            upload,
            original={
                "bucket": self.settings.originals_bucket,
                "key": original_key(upload.asset_id),
                "version_id": head.get("VersionId"),
            },
            image=image,
            sha256=sha256,
            uploaded_at=metadata.get("uploaded-at"),
            causation_id=created.event_id,
        )

    def _rejected_from_quarantine(
        self, created: ObjectCreated, key: str, target: str, head: HeadObjectOutputTypeDef
    ) -> Event:
        metadata = head.get("Metadata", {})
        declared = metadata.get("declared-content-type")
        upload = Upload(
            bucket=created.bucket,
            key=key,
            version_id=created.version_id,
            size=int(metadata.get("size", head["ContentLength"])),
            declared_content_type=unquote(declared) if declared else None,
            last_modified=None,
        )
        reason = metadata.get("reason", "")
        return self._rejected(
            upload,
            quarantine={
                "bucket": self.settings.originals_bucket,
                "key": target,
                "version_id": head.get("VersionId"),
            },
            reason=reason,
            detail=unquote(metadata.get("detail", f"rejected: {reason}")),
            sniffed_content_type=metadata.get("sniffed-content-type"),
            sha256=metadata.get("sha256"),
            causation_id=created.event_id,
        )

    # -- S3 ------------------------------------------------------------------------------------

    def _move(
        self, upload: Upload, target: str, *, content_type: str, metadata: dict[str, str]
    ) -> str | None:
        """Copy that exact version server-side, confirm the copy, then delete the version.

        Returns the copy's version id (None in an unversioned bucket). The managed copy switches
        to a multipart copy for large objects, so no size is too big and no byte passes through
        the function.
        """
        source: dict[str, Any] = {"Bucket": upload.bucket, "Key": upload.key}
        if upload.version_id:
            source["VersionId"] = upload.version_id
        bucket = self.settings.originals_bucket
        self.s3.copy(
            CopySource=source,  # type: ignore[arg-type]
            Bucket=bucket,
            Key=target,
            ExtraArgs={
                "ContentType": content_type,
                "Metadata": metadata,
                "MetadataDirective": "REPLACE",
            },
            Config=self.transfer_config,
        )
        copied = self._head(bucket, target, None)
        if copied is None or copied["ContentLength"] != upload.size:
            # Not a permanent error: the upload is intact, and the next attempt copies again.
            raise RuntimeError(
                f"copy of {upload.key} to s3://{bucket}/{target} could not be confirmed "
                f"(expected {upload.size} bytes, found "
                f"{None if copied is None else copied['ContentLength']})"
            )
        delete: dict[str, Any] = {"Bucket": upload.bucket, "Key": upload.key}
        if upload.version_id:
            delete["VersionId"] = upload.version_id
        self.s3.delete_object(**delete)
        return copied.get("VersionId")

    def _head(
        self, bucket: str, key: str, version_id: str | None
    ) -> HeadObjectOutputTypeDef | None:
        """HEAD an object (at a version); None when it does not exist there."""
        request: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            request["VersionId"] = version_id
        try:
            return self.s3.head_object(**request)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = error.response.get("Error", {}).get("Code")
            if status in _GONE_STATUSES or code in {"NoSuchKey", "NoSuchVersion", "NotFound"}:
                return None
            if status == 400 and version_id:
                # A version id that cannot belong to this key (e.g. malformed for it).
                return None
            raise

    def _correlate(self, asset: str) -> None:
        self.logger.set_correlation_id(asset)
        self.logger.append_keys(asset_id=asset)
