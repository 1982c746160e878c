"""The project's shared library, packaged into every Lambda: contracts, publishing, the consumer."""

from media_shared.consumer import EventConsumer, InboundEvent, Logic
from media_shared.envelope import Event, build_event, derived_event, source_for
from media_shared.exceptions import (
    ConfigurationError,
    CorruptImageError,
    DecompressionBombError,
    InvalidEventError,
    MediaPipelineError,
    OriginalMissingError,
    PermanentError,
    PublishError,
    UnexpectedBucketError,
    UnknownSchemaError,
    UnsupportedImageError,
)
from media_shared.ids import asset_id, stable_event_id
from media_shared.publisher import EventPublisher
from media_shared.schemas import EventSchema, SchemaCatalog
from media_shared.settings import CommonSettings

__all__ = [
    "CommonSettings",
    "ConfigurationError",
    "CorruptImageError",
    "DecompressionBombError",
    "Event",
    "EventConsumer",
    "EventPublisher",
    "EventSchema",
    "InboundEvent",
    "InvalidEventError",
    "Logic",
    "MediaPipelineError",
    "OriginalMissingError",
    "PermanentError",
    "PublishError",
    "SchemaCatalog",
    "UnexpectedBucketError",
    "UnknownSchemaError",
    "UnsupportedImageError",
    "asset_id",
    "build_event",
    "derived_event",
    "source_for",
    "stable_event_id",
]
