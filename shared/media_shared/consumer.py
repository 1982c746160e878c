"""The one skeleton every service runs: SQS batch of EventBridge events -> logic -> publish.

A service supplies ``logic``: a plain function from a validated inbound event to the events it
publishes. The consumer does the rest, the same way for every service:

* a body that is not JSON, an event that fails its schema, or a ``PermanentError`` from the logic is
  *parked*: the message goes to the service's DLQ verbatim, with the error as message attributes, a
  ProcessingFailed event is published, and the record counts as handled (never retried forever);
* any other exception fails only that record (BatchProcessor reports it in ``batchItemFailures``),
  so SQS retries it and, after the queue's maxReceiveCount, redrives it to the same DLQ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from media_shared.envelope import Event, build_event
from media_shared.exceptions import InvalidEventError, PermanentError
from media_shared.publisher import EventPublisher
from media_shared.schemas import EventSchema, SchemaCatalog

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

MAX_ATTRIBUTE_CHARS = 1024


@dataclass(frozen=True)
class InboundEvent:
    """A received EventBridge event that passed its schema.

    ``schema`` is None for events the project does not own (S3's "Object Created"), which the
    consuming service checks with its own ``parse`` function.
    """

    event: dict[str, Any]
    schema: EventSchema | None

    @property
    def id(self) -> str:
        return str(self.event.get("id") or self.metadata["event_id"])

    @property
    def detail_type(self) -> str:
        return str(self.event["detail-type"])

    @property
    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self.event["detail"]["metadata"]
        return metadata

    @property
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.event["detail"]["data"]
        return data

    @property
    def asset_id(self) -> str | None:
        return _asset_id_of(self.event)


Logic = Callable[[InboundEvent], Sequence[Event]]


def _asset_id_of(event: Mapping[str, Any] | None) -> str | None:
    if not event:
        return None
    detail = event.get("detail")
    if isinstance(detail, Mapping):
        metadata = detail.get("metadata")
        if isinstance(metadata, Mapping) and isinstance(metadata.get("correlation_id"), str):
            return str(metadata["correlation_id"])
    return None


class EventConsumer:
    """Record handler for Powertools' BatchProcessor (SQS) running one service's logic."""

    def __init__(
        self,
        *,
        service: str,
        catalog: SchemaCatalog,
        publisher: EventPublisher,
        logic: Logic,
        sqs: SQSClient | None = None,
        dlq_url: str | None = None,
        logger: Logger | None = None,
        metrics: Metrics | None = None,
        parse: Callable[[dict[str, Any]], InboundEvent] | None = None,
    ) -> None:
        self.service = service
        self.catalog = catalog
        self.publisher = publisher
        self.logic = logic
        self.sqs = sqs
        self.dlq_url = dlq_url
        self.logger = logger or Logger(service=service)
        self.metrics = metrics
        self.parse = parse or self.validate

    def validate(self, event: dict[str, Any]) -> InboundEvent:
        return InboundEvent(event=event, schema=self.catalog.validate(event))

    def __call__(self, record: SQSRecord) -> list[str]:
        """Handle one SQS record; return the ids of the events published for it."""
        event: dict[str, Any] | None = None
        # A correlation id left by the previous record must not label this one's logs.
        self.logger.set_correlation_id(None)
        try:
            try:
                loaded = json.loads(record.body)
            except json.JSONDecodeError as error:
                raise InvalidEventError(f"message body is not JSON: {error}") from None
            if not isinstance(loaded, dict):
                raise InvalidEventError("message body is not a JSON object")
            event = loaded
            inbound = self.parse(event)
            if inbound.asset_id:
                self.logger.set_correlation_id(inbound.asset_id)
            self.logger.append_keys(detail_type=inbound.detail_type, event_id=inbound.id)
            published = self.publisher.publish(self.logic(inbound))
        except PermanentError as error:
            self.park(record, error, event)
            return []
        except Exception:
            # Transient: the record fails alone and SQS redelivers it; say why, every time.
            self.logger.exception(
                "processing failed; the message will be retried",
                extra={
                    "message_id": record.message_id,
                    "receive_count": record.attributes.approximate_receive_count,
                },
            )
            raise
        finally:
            self.logger.remove_keys(["detail_type", "event_id"])
        self._count("EventsProcessed")
        self._count("EventsPublished", len(published))
        return published

    def park(self, record: SQSRecord, error: PermanentError, event: dict[str, Any] | None) -> None:
        """Send the message to the DLQ with its error and publish ProcessingFailed."""
        asset_id = error.asset_id or _asset_id_of(event)
        self.logger.error(
            "permanent failure, parking message in the DLQ",
            extra={
                "reason": error.reason,
                "error_type": type(error).__name__,
                "error": str(error),
                "asset_id": asset_id,
                "message_id": record.message_id,
            },
        )
        if self.sqs is None or self.dlq_url is None:
            # Without a DLQ to park in, let SQS retry and redrive it (still nothing is lost).
            raise error
        self.sqs.send_message(
            QueueUrl=self.dlq_url,
            MessageBody=record.body,
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value[:MAX_ATTRIBUTE_CHARS] or "-"}
                for name, value in {
                    "service": self.service,
                    "reason": error.reason,
                    "error_type": type(error).__name__,
                    "error_message": str(error),
                    "source_message_id": record.message_id,
                }.items()
            },
        )
        self._count("EventsParked")
        failed = build_event(
            self.catalog.latest("ProcessingFailed"),
            producer=self.service,
            data={
                "service": self.service,
                "asset_id": asset_id,
                "reason": error.reason,
                "error_type": type(error).__name__,
                "error_message": str(error)[:MAX_ATTRIBUTE_CHARS],
                "failed_event": None
                if event is None
                else {
                    "id": _str_or_none(event.get("id")),
                    "source": _str_or_none(event.get("source")),
                    "detail-type": _str_or_none(event.get("detail-type")),
                },
            },
            correlation_id=asset_id or f"message:{record.message_id}",
            causation_id=_str_or_none(event.get("id")) if event else None,
        )
        self.publisher.publish([failed])

    def _count(self, name: str, value: int = 1) -> None:
        if self.metrics is not None and value:
            self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
