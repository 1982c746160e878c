"""Lambda entry point of the indexer: wiring only; the work is in ``indexer.logic``."""

from __future__ import annotations

import boto3

from indexer.logic import Indexer, IndexStore
from indexer.settings import IndexerSettings
from media_shared.service import CLIENT_CONFIG, Service

settings = IndexerSettings.from_env()
service = Service.from_settings(settings.common)
dynamodb = boto3.client("dynamodb", config=CLIENT_CONFIG)
indexer = Indexer(
    store=IndexStore(dynamodb, settings.index_table),
    publisher=service.publisher,
    catalog=service.catalog,
    service=service.name,
    logger=service.logger,
    metrics=service.metrics,
    lease_seconds=settings.publish_lease_seconds,
)
consumer = service.consumer(indexer)
lambda_handler = service.handler(consumer)
