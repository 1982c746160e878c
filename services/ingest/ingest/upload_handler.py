"""Lambda entry point of the upload API (behind API Gateway): wiring only; see ``upload_api``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from botocore.config import Config

from ingest.upload_api import UploadApiSettings, build_app

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client

settings = UploadApiSettings.from_env()
logger = Logger()  # service: POWERTOOLS_SERVICE_NAME (ingest)
tracer = Tracer()
# SigV4: what SSE-KMS buckets require, and the policy fields a presigned POST carries.
s3: S3Client = boto3.client("s3", config=Config(signature_version="s3v4"))
app = build_app(s3, settings, logger)


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
# Not the response: it is a presigned POST policy or presigned URLs, credentials in all but name.
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
