"""Lambda entry point of ingest: wiring only; the work is in ``ingest.logic``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from ingest.logic import Ingestor, build_idempotency
from ingest.s3event import parse_object_created
from ingest.settings import IngestSettings
from media_shared import EventConsumer, EventPublisher, SchemaCatalog

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = IngestSettings.from_env()
logger = Logger(service=settings.common.service)
tracer = Tracer(service=settings.common.service)
metrics = Metrics(service=settings.common.service)

s3 = boto3.client("s3")
sqs = boto3.client("sqs")
events = boto3.client("events")
dynamodb = boto3.client("dynamodb") if settings.idempotency_table else None

catalog = SchemaCatalog(settings.common.schemas_dir)
publisher = EventPublisher(events, settings.common.event_bus_name, catalog)
idempotency = build_idempotency(settings.idempotency_table, dynamodb)
ingestor = Ingestor(
    settings=settings, s3=s3, catalog=catalog, logger=logger, idempotency=idempotency
)
consumer = EventConsumer(
    service=settings.common.service,
    catalog=catalog,
    publisher=publisher,
    logic=ingestor,
    sqs=sqs,
    dlq_url=settings.common.dlq_url,
    logger=logger,
    metrics=metrics,
    parse=parse_object_created,
)
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    if idempotency is not None:
        # Lets an in-progress record expire with this invocation if it times out.
        idempotency.config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=consumer, processor=processor, context=context
    )
