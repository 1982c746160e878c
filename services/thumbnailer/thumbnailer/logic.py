"""The thumbnailer: AssetIngested -> renditions in the derived bucket -> ThumbnailsGenerated.

``generate_thumbnails`` is the service's logic, a plain function the handler hands to the shared
EventConsumer and tests call directly. The image work is in ``thumbnailer.imaging`` (no AWS); the
S3 side is the small ``S3Objects`` adapter around a boto3 client.

Idempotent by construction: the keys depend only on the asset id and the size, the renditions are
a deterministic function of the original's bytes and the settings, and the published event's id
is derived from the facts and the triggering event. A duplicate delivery overwrites the same
objects with the same bytes and republishes the same facts under the same event id.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import IO, TYPE_CHECKING, Any, Final, Protocol

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from media_shared import (
    Event,
    InboundEvent,
    OriginalMissingError,
    SchemaCatalog,
    derived_event,
)
from media_shared.originals import ingested_original
from thumbnailer.imaging import RenderResult, Rendition, render
from thumbnailer.settings import ThumbnailerSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PUBLISHES: Final = "ThumbnailsGenerated"
# A rendition's key names its asset, size and format, and an asset's original never changes, so
# the bytes at a key only change if the quality setting does: immutable. But a thumbnail is its
# owner's, served only through a presigned URL the read API gives the owner: ``private`` keeps
# it out of shared caches (a proxy or CDN), and a day bounds how long a browser keeps it.
CACHE_CONTROL: Final = "private, max-age=86400, immutable"
# Originals up to this size are held in memory, larger ones spill to /tmp.
SPOOL_BYTES: Final = 64 * 1024 * 1024
UPLOAD_WORKERS: Final = 4

logger = Logger(child=True)


class ObjectStore(Protocol):
    """What the logic needs from storage (``S3Objects``, or a fake in tests)."""

    def original(
        self, bucket: str, key: str, version_id: str | None
    ) -> AbstractContextManager[IO[bytes]]: ...

    def put_renditions(self, bucket: str, renditions: Sequence[tuple[str, Rendition]]) -> None: ...


class S3Objects:
    """Reads originals and writes renditions with one boto3 S3 client."""

    def __init__(
        self,
        client: S3Client,
        *,
        spool_bytes: int = SPOOL_BYTES,
        upload_workers: int = UPLOAD_WORKERS,
    ) -> None:
        self.client = client
        self.spool_bytes = spool_bytes
        self.upload_workers = upload_workers

    @contextmanager
    def original(self, bucket: str, key: str, version_id: str | None) -> Iterator[IO[bytes]]:
        """The original's bytes as a seekable file: in memory, or in /tmp past ``spool_bytes``."""
        with tempfile.SpooledTemporaryFile(max_size=self.spool_bytes) as spool:
            try:
                self.client.download_fileobj(
                    bucket, key, spool, ExtraArgs={"VersionId": version_id} if version_id else None
                )
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", ""))
                if code in {"404", "NoSuchKey", "NoSuchVersion"}:
                    raise OriginalMissingError(
                        f"original s3://{bucket}/{key} (version {version_id}) does not exist"
                    ) from None
                raise
            spool.seek(0)
            yield spool

    def put_rendition(self, bucket: str, key: str, rendition: Rendition) -> None:
        self.client.put_object(
            Bucket=bucket,
            Key=key,
            Body=rendition.data,
            ContentType=rendition.content_type,
            CacheControl=CACHE_CONTROL,
        )

    def put_renditions(self, bucket: str, renditions: Sequence[tuple[str, Rendition]]) -> None:
        """Write every rendition (in parallel); raises the first error after all have finished."""
        if len(renditions) == 1:
            key, rendition = renditions[0]
            self.put_rendition(bucket, key, rendition)
            return
        with ThreadPoolExecutor(max_workers=self.upload_workers) as pool:
            futures = [
                pool.submit(self.put_rendition, bucket, key, rendition)
                for key, rendition in renditions
            ]
        for future in futures:
            future.result()


def rendition_key(asset_id: str, rendition: Rendition) -> str:
    return f"thumbnails/{asset_id}/{rendition.size}.{rendition.extension}"


def thumbnails_data(
    asset_id: str, bucket: str, result: RenderResult, keys: Sequence[str]
) -> dict[str, Any]:
    """The ``data`` of ThumbnailsGenerated for ``result``'s renditions written at ``keys``."""
    data: dict[str, Any] = {
        "asset_id": asset_id,
        "source_width": result.source_width,
        "source_height": result.source_height,
        "renditions": [
            {
                "size": rendition.size,
                "bucket": bucket,
                "key": key,
                "width": rendition.width,
                "height": rendition.height,
                "format": rendition.format,
                "content_type": rendition.content_type,
                "bytes": len(rendition.data),
            }
            for rendition, key in zip(result.renditions, keys, strict=True)
        ],
    }
    if result.blurhash:
        data["blurhash"] = result.blurhash
    return data


def generate_thumbnails(
    inbound: InboundEvent,
    *,
    settings: ThumbnailerSettings,
    store: ObjectStore,
    catalog: SchemaCatalog,
) -> list[Event]:
    """Render the asset's renditions, write them, and return the ThumbnailsGenerated to publish."""
    original = ingested_original(
        inbound, service=settings.common.service, originals_bucket=settings.originals_bucket
    )
    asset_id = original.asset_id
    with store.original(original.bucket, original.key, original.version_id) as source:
        result = render(
            source,
            sizes=settings.sizes,
            output=settings.format,
            quality=settings.quality,
            also=settings.extra_formats,
            max_pixels=settings.max_image_pixels,
            memory_budget=settings.decode_budget,
            memory_mb=settings.memory_mb,
        )
    keys = [rendition_key(asset_id, rendition) for rendition in result.renditions]
    store.put_renditions(settings.derived_bucket, list(zip(keys, result.renditions, strict=True)))
    facts = thumbnails_data(asset_id, settings.derived_bucket, result, keys)
    logger.info(
        "thumbnails written",
        extra={
            "asset_id": asset_id,
            "source_format": result.source_format,
            "source_size": f"{result.source_width}x{result.source_height}",
            "decoded_size": f"{result.decoded_width}x{result.decoded_height}",
            "renditions": [f"{r.size}:{r.width}x{r.height}" for r in result.renditions],
            "timings_ms": result.timings_ms,
        },
    )
    return [
        derived_event(
            catalog.latest(PUBLISHES),
            producer=settings.common.service,
            data=facts,
            correlation_id=asset_id,
            causation_id=inbound.metadata.get("event_id"),
        )
    ]
