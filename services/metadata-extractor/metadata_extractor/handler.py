"""Lambda entry point of the metadata-extractor: SQS batch of AssetIngested -> MetadataExtracted.

Thin on purpose: settings, clients and the consumer are built once per cold start; each record
goes through the shared EventConsumer, which validates it, runs ``extract_metadata`` and
publishes, parks permanent failures in the DLQ, and lets anything else be retried.
"""

from __future__ import annotations

import functools

import boto3

from media_shared.service import CLIENT_CONFIG, Service
from metadata_extractor.logic import S3Objects, extract_metadata
from metadata_extractor.settings import MetadataExtractorSettings

settings = MetadataExtractorSettings.from_env()
service = Service.from_settings(settings.common)
s3 = boto3.client("s3", config=CLIENT_CONFIG)
consumer = service.consumer(
    functools.partial(
        extract_metadata, settings=settings, store=S3Objects(s3), catalog=service.catalog
    )
)
lambda_handler = service.handler(consumer)
