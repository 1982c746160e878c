"""The metadata-extractor: AssetIngested -> read the original's headers -> MetadataExtracted.

``extract_metadata`` is the service's logic, a plain function the handler hands to the shared
EventConsumer and tests call directly. The image work is ``metadata_extractor.imaging`` (no AWS).

The S3 side reads only what Pillow asks for: ``S3RangeFile`` is a seekable file over one object
that fetches byte ranges on demand (64 KiB first, doubling while reads stay sequential or skip a
little forward, and pinned to the first response's ETag so every range comes from the same
object). Headers and EXIF sit at the start of a file, so a 40 MB photograph costs one small GET,
not a download; files whose frames or chunks must be walked (an animated GIF, a PNG's chunks
after its pixels) are read in a few growing ranges.

Idempotent: the output is a function of the original's bytes and the settings, and the event's
id is derived from the facts and the triggering event, so a duplicate delivery republishes the
same event.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
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
from media_shared.exceptions import TransientError
from media_shared.originals import ingested_original
from metadata_extractor.imaging import extract
from metadata_extractor.settings import MetadataExtractorSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PUBLISHES: Final = "MetadataExtracted"
FIRST_BLOCK: Final = 64 * 1024
MAX_BLOCK: Final = 8 * 1024 * 1024
_MISSING: Final = frozenset({"404", "NoSuchKey", "NoSuchVersion"})
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")

logger = Logger(child=True)


class OriginalReadError(TransientError):
    """Reading the original failed midway (transient, or the object changed): retry the event.

    Deliberately not an OSError, so that Pillow cannot mistake it for a broken file.
    """


class S3RangeFile(io.RawIOBase):
    """A read-only, seekable file over one S3 object, fetched in ranges as it is read."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        key: str,
        version_id: str | None = None,
        *,
        first_block: int = FIRST_BLOCK,
        max_block: int = MAX_BLOCK,
    ) -> None:
        super().__init__()
        self.client = client
        self.bucket = bucket
        self.key = key
        self.version_id = version_id
        self.first_block = first_block
        self.max_block = max_block
        self.requests = 0
        self.bytes_fetched = 0
        self._ranges: list[tuple[int, bytes]] = []
        self._position = 0
        self._next_block = first_block
        self._last_end = 0
        self._etag: str | None = None
        self.size = self._fetch_first()

    # -- S3 ----------------------------------------------------------------------------------

    def _get(self, start: int, end: int) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "Range": f"bytes={start}-{end - 1}",
        }
        if self.version_id:
            arguments["VersionId"] = self.version_id
        if self._etag:
            arguments["IfMatch"] = self._etag
        self.requests += 1
        response: dict[str, Any] = self.client.get_object(**arguments)  # type: ignore[assignment]
        return response

    def _fetch_first(self) -> int:
        try:
            response = self._get(0, self.first_block)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise OriginalMissingError(
                    f"original s3://{self.bucket}/{self.key} (version {self.version_id}) "
                    "does not exist"
                ) from None
            if code == "InvalidRange":  # an empty object has no byte 0
                return 0
            raise
        self._etag = response.get("ETag")
        data = response["Body"].read()
        self._store(0, data)
        match = _CONTENT_RANGE.match(str(response.get("ContentRange", "")))
        return int(match[3]) if match else len(data)

    def _store(self, start: int, data: bytes) -> None:
        self.bytes_fetched += len(data)
        self._ranges.append((start, data))
        self._last_end = start + len(data)

    def _fetch(self, start: int, wanted: int) -> None:
        # A short jump forward (skipping a PNG's pixel chunks to read the next chunk header) is
        # read through, as a sequential read: one growing range instead of a GET per chunk.
        if 0 < start - self._last_end <= self._next_block:
            wanted += start - self._last_end
            start = self._last_end
        sequential = start == self._last_end
        self._next_block = (
            min(self.max_block, self._next_block * 2) if sequential else (self.first_block)
        )
        end = min(self.size, start + max(wanted, self._next_block))
        try:
            response = self._get(start, end)
            data = response["Body"].read()
        except Exception as error:
            raise OriginalReadError(
                f"reading s3://{self.bucket}/{self.key} bytes {start}-{end - 1} failed: {error}"
            ) from error
        if not data:
            # S3 answered a range inside the object with nothing (a truncated response, or an
            # object shorter than it said): asking again would loop, so fail this read.
            raise OriginalReadError(
                f"reading s3://{self.bucket}/{self.key} bytes {start}-{end - 1} returned 0 bytes "
                f"of an object of {self.size}"
            )
        self._store(start, data)

    # -- io.RawIOBase ------------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def _cached(self, position: int) -> memoryview | None:
        for start, data in self._ranges:
            if start <= position < start + len(data):
                return memoryview(data)[position - start :]
        return None

    def readinto(self, buffer: Any) -> int:
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target) and self._position < self.size:
            available = self._cached(self._position)
            if available is None:
                self._fetch(self._position, len(target) - filled)
                continue
            count = min(len(available), len(target) - filled)
            target[filled : filled + count] = available[:count]
            filled += count
            self._position += count
        return filled


class ObjectStore(Protocol):
    """What the logic needs from storage (``S3Objects``, or a fake in tests)."""

    def original(
        self, bucket: str, key: str, version_id: str | None
    ) -> AbstractContextManager[IO[bytes]]: ...


class S3Objects:
    """Opens originals as lazily read, seekable files with one boto3 S3 client."""

    def __init__(self, client: S3Client, *, first_block: int = FIRST_BLOCK) -> None:
        self.client = client
        self.first_block = first_block

    @contextmanager
    def original(self, bucket: str, key: str, version_id: str | None) -> Iterator[IO[bytes]]:
        raw = S3RangeFile(self.client, bucket, key, version_id, first_block=self.first_block)
        try:
            yield io.BufferedReader(raw, buffer_size=16 * 1024)
        finally:
            logger.debug(
                "read the original in ranges",
                extra={"size": raw.size, "fetched": raw.bytes_fetched, "requests": raw.requests},
            )


def extract_metadata(
    inbound: InboundEvent,
    *,
    settings: MetadataExtractorSettings,
    store: ObjectStore,
    catalog: SchemaCatalog,
) -> list[Event]:
    """Read the asset's metadata and return the MetadataExtracted to publish."""
    original = ingested_original(
        inbound, service=settings.common.service, originals_bucket=settings.originals_bucket
    )
    asset_id = original.asset_id
    with store.original(original.bucket, original.key, original.version_id) as source:
        metadata = extract(
            source, include_gps=settings.include_gps, max_pixels=settings.max_image_pixels
        )
    facts = metadata.as_data(asset_id)
    logger.info(
        "metadata extracted",
        extra={
            "asset_id": asset_id,
            "format": metadata.format,
            "size": f"{metadata.width}x{metadata.height}",
            "skipped_tags": list(metadata.skipped_tags),
            "gps_withheld": metadata.gps_withheld,
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
