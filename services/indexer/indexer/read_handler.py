"""Lambda entry point of the read API (behind API Gateway): wiring only; see ``read_api``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from botocore.config import Config

from indexer.read_api import Gallery, ReadApiSettings, build_app
from media_shared.index import AssetIndex

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

settings = ReadApiSettings.from_env()
logger = Logger()  # service: POWERTOOLS_SERVICE_NAME (indexer)
tracer = Tracer()
dynamodb: DynamoDBClient = boto3.client("dynamodb")
# SigV4: presigned GETs of SSE-KMS objects must be SigV4-signed.
s3: S3Client = boto3.client("s3", config=Config(signature_version="s3v4"))
app = build_app(Gallery(AssetIndex(dynamodb, settings.index_table), s3, settings), logger)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
# Not the response: it is a presigned POST policy or presigned URLs, credentials in all but name.
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
