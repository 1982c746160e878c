"""Lambda entry point of the metadata-extractor: SQS batch of AssetIngested -> MetadataExtracted.

Thin on purpose: settings, clients and the consumer are built once per cold start; each record
goes through the shared EventConsumer, which validates it, runs ``extract_metadata`` and
publishes, parks permanent failures in the DLQ, and lets anything else be retried.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from media_shared import EventConsumer, EventPublisher, SchemaCatalog
from metadata_extractor.logic import S3Objects, extract_metadata
from metadata_extractor.settings import MetadataExtractorSettings

settings = MetadataExtractorSettings.from_env()
logger = Logger(service=settings.common.service)
tracer = Tracer(service=settings.common.service)
metrics = Metrics(service=settings.common.service)

catalog = SchemaCatalog(settings.common.schemas_dir)
s3 = boto3.client("s3")
publisher = EventPublisher(boto3.client("events"), settings.common.event_bus_name, catalog)
consumer = EventConsumer(
    service=settings.common.service,
    catalog=catalog,
    publisher=publisher,
    logic=functools.partial(
        extract_metadata, settings=settings, store=S3Objects(s3), catalog=catalog
    ),
    sqs=boto3.client("sqs"),
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
