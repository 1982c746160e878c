"""Errors raised by the shared library and the services. Every one derives from MediaPipelineError.

The permanent errors more than one service raises live here too, so that one failure has one
class name (``error_type`` in ProcessingFailed) and one reason code wherever it happens.
"""

from __future__ import annotations

import struct


class MediaPipelineError(Exception):
    """Base class of every error the project raises on purpose."""


class TransientError(MediaPipelineError):
    """Retrying may help (a read that failed midway): never classified as a broken file."""


class ConfigurationError(MediaPipelineError):
    """A required setting is missing or malformed (raised at cold start)."""


class PermanentError(MediaPipelineError):
    """Retrying cannot help: the message is parked in the DLQ with this error.

    ``reason`` is a stable, machine-readable code (``invalid_event``, ``corrupt``, ...);
    ``asset_id`` names the asset when the event that failed does not carry it in its envelope
    (S3's own events), so the ProcessingFailed event can still say which asset failed.
    """

    reason = "permanent_error"

    def __init__(
        self, message: str, *, reason: str | None = None, asset_id: str | None = None
    ) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        self.asset_id = asset_id


class InvalidEventError(PermanentError):
    """An event does not match its schema, or names no known schema."""

    reason = "invalid_event"

    def __init__(self, message: str, *, schema: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.schema = schema
        self.path = path


class UnknownSchemaError(InvalidEventError):
    """No schema is registered for the event's detail-type and major version."""


class PublishError(MediaPipelineError):
    """Entries could not be delivered to the bus after every retry."""

    def __init__(self, message: str, *, failed: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.failed = failed


class OriginalMissingError(PermanentError):
    """The original an event names is not in the originals bucket (deleted, or never there)."""

    reason = "original_missing"


class UnexpectedBucketError(PermanentError):
    """The event names an original outside the bucket this service reads."""

    reason = "unexpected_bucket"


class CorruptImageError(PermanentError):
    """The file is not an image Pillow can read, or its data breaks before what is needed of it."""

    reason = "corrupt"


class UnsupportedImageError(PermanentError):
    """The file is not in one of the formats the pipeline accepts, or a variant it cannot decode."""

    reason = "unsupported_type"


class DecompressionBombError(PermanentError):
    """The file declares more pixels than the service will open or decode."""

    reason = "decompression_bomb"


# What Pillow raises on a file it cannot parse or decode: it has no single base class for it.
# Its UnidentifiedImageError is an OSError, so this needs no Pillow import (the indexer has none).
DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    ZeroDivisionError,
    struct.error,
)
