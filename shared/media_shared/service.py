"""What every service's Lambda is made of, built once per cold start from ``CommonSettings``.

Every handler module is the same wiring around a different logic: Powertools Logger, Tracer and
Metrics named after the service, the schema catalog, a publisher on the bus, the SQS client that
parks messages in the DLQ, an :class:`EventConsumer` and a decorated ``lambda_handler`` running
Powertools' BatchProcessor over the SQS batch. :class:`Service` is that wiring, written once, so a
handler module holds only its service's specifics and one hand-off::

    settings = ThumbnailerSettings.from_env()
    service = Service.from_settings(settings.common)
    consumer = service.consumer(functools.partial(generate_thumbnails, ...))
    lambda_handler = service.handler(consumer)

Build it at module level (Lambda's cold start), so that the clients, the catalog and the
settings are made once per execution environment and a bad setting fails the cold start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from botocore.config import Config

from media_shared.consumer import EventConsumer, InboundEvent, Logic
from media_shared.deadline import DEFAULT_RESERVE_MS, RecordDeadlineError, record_deadline
from media_shared.publisher import EventPublisher
from media_shared.schemas import SchemaCatalog
from media_shared.settings import CommonSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

# Every AWS client of a service: the SDKs' standard retry mode (exponential backoff with jitter on
# throttling, 5xx and timeouts, within a retry quota) with 5 attempts in all rather than its
# default 3, so a call throttled or failing a few times succeeds within the invocation; past
# that the record fails and SQS redelivers it.
CLIENT_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5})

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], "PartialItemFailureResponse"]


@dataclass(frozen=True)
class Service:
    """One service's Powertools utilities, contract catalog, publisher and DLQ client."""

    settings: CommonSettings
    logger: Logger
    tracer: Tracer
    metrics: Metrics
    catalog: SchemaCatalog
    publisher: EventPublisher
    sqs: SQSClient

    @classmethod
    def from_settings(
        cls,
        settings: CommonSettings,
        *,
        events: EventBridgeClient | None = None,
        sqs: SQSClient | None = None,
    ) -> Service:
        """Everything named after ``settings.service``; boto3's default clients unless given."""
        catalog = SchemaCatalog(settings.schemas_dir)
        return cls(
            settings=settings,
            logger=Logger(service=settings.service),
            tracer=Tracer(service=settings.service),
            metrics=Metrics(service=settings.service),
            catalog=catalog,
            publisher=EventPublisher(
                events or boto3.client("events", config=CLIENT_CONFIG),
                settings.event_bus_name,
                catalog,
            ),
            sqs=sqs or boto3.client("sqs", config=CLIENT_CONFIG),
        )

    @property
    def name(self) -> str:
        return self.settings.service

    def consumer(
        self, logic: Logic, *, parse: Callable[[dict[str, Any]], InboundEvent] | None = None
    ) -> EventConsumer:
        """The record handler running ``logic``: parks permanent failures in the service's DLQ."""
        return EventConsumer(
            service=self.name,
            catalog=self.catalog,
            publisher=self.publisher,
            logic=logic,
            sqs=self.sqs,
            dlq_url=self.settings.dlq_url,
            logger=self.logger,
            metrics=self.metrics,
            parse=parse,
        )

    def handler(
        self,
        consumer: EventConsumer,
        *,
        on_invoke: Callable[[LambdaContext], None] | None = None,
        reserve_ms: int = DEFAULT_RESERVE_MS,
    ) -> LambdaHandler:
        """The Lambda entry point: an SQS batch through ``consumer``, partial failures reported.

        ``on_invoke`` runs first on every invocation with its context (e.g. to hand it to
        Powertools Idempotency, so an in-progress record expires with a timed-out invocation).
        Each record runs under the invocation's deadline less ``reserve_ms``
        (``media_shared.deadline``): one slow record fails alone instead of timing the whole
        batch out.
        """
        processor = BatchProcessor(event_type=EventType.SQS)
        logger = self.logger

        @self.logger.inject_lambda_context
        @self.tracer.capture_lambda_handler
        @self.metrics.log_metrics
        def lambda_handler(
            event: dict[str, Any], context: LambdaContext
        ) -> PartialItemFailureResponse:
            if on_invoke is not None:
                on_invoke(context)

            def record_handler(record: SQSRecord) -> list[str]:
                try:
                    with record_deadline(context, reserve_ms):
                        return consumer(record)
                except RecordDeadlineError as error:
                    logger.warning(str(error), extra={"message_id": record.message_id})
                    raise

            return process_partial_response(
                event=event, record_handler=record_handler, processor=processor, context=context
            )

        return lambda_handler
