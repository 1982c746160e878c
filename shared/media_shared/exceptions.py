"""Errors raised by the shared library. Every one derives from MediaPipelineError."""

from __future__ import annotations


class MediaPipelineError(Exception):
    """Base class of every error the project raises on purpose."""


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
