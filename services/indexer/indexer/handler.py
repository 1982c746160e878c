"""Lambda entry point of the indexer: wiring only; the work is in ``indexer.logic``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from indexer.logic import Indexer, IndexStore
from indexer.settings import IndexerSettings
from media_shared import EventConsumer, EventPublisher, SchemaCatalog

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = IndexerSettings.from_env()
logger = Logger(service=settings.common.service)
tracer = Tracer(service=settings.common.service)
metrics = Metrics(service=settings.common.service)

dynamodb = boto3.client("dynamodb")
sqs = boto3.client("sqs")
events = boto3.client("events")

catalog = SchemaCatalog(settings.common.schemas_dir)
publisher = EventPublisher(events, settings.common.event_bus_name, catalog)
indexer = Indexer(
    store=IndexStore(dynamodb, settings.index_table),
    publisher=publisher,
    catalog=catalog,
    service=settings.common.service,
    logger=logger,
    metrics=metrics,
)
consumer = EventConsumer(
    service=settings.common.service,
    catalog=catalog,
    publisher=publisher,
    logic=indexer,
    sqs=sqs,
    dlq_url=settings.common.dlq_url,
    logger=logger,
    metrics=metrics,
)
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=consumer, processor=processor, context=context
    )
