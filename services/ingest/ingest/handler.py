"""Lambda entry point of ingest: wiring only; the work is in ``ingest.logic``."""

from __future__ import annotations

import boto3

from ingest.grants import build_claims
from ingest.logic import Ingestor, build_idempotency
from ingest.s3event import parse_object_created
from ingest.settings import IngestSettings
from media_shared.service import CLIENT_CONFIG, Service

settings = IngestSettings.from_env()
service = Service.from_settings(settings.common)
s3 = boto3.client("s3", config=CLIENT_CONFIG)
dynamodb = boto3.client("dynamodb", config=CLIENT_CONFIG) if settings.idempotency_table else None
idempotency = build_idempotency(settings.idempotency_table, dynamodb)
ingestor = Ingestor(
    settings=settings,
    s3=s3,
    catalog=service.catalog,
    logger=service.logger,
    idempotency=idempotency,
    grants=build_claims(settings.idempotency_table, dynamodb),
)
if ingestor.grants is None:
    service.logger.warning(
        "no IDEMPOTENCY_TABLE: a presigned grant posted twice is ingested as two uploads"
    )
consumer = service.consumer(ingestor, parse=parse_object_created)
lambda_handler = service.handler(
    consumer,
    # Lets an in-progress record expire with this invocation if it times out.
    on_invoke=idempotency.config.register_lambda_context if idempotency else None,
)
