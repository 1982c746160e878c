"""Lambda entry point of the scheduled reconciler: wiring only; see ``indexer.reconciler``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from indexer.reconciler import (
    METRIC,
    NAMESPACE,
    ReconcilerSettings,
    stuck_lines,
    stuck_uploads,
    summary,
)
from indexer.reconciliation import Stores
from media_shared.service import CLIENT_CONFIG

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

settings = ReconcilerSettings.from_env()
logger = Logger()  # service: POWERTOOLS_SERVICE_NAME (indexer-reconciler)
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
metrics.set_default_dimensions(environment=settings.environment)
stores = Stores(
    s3=boto3.client("s3", config=CLIENT_CONFIG),
    dynamodb=boto3.client("dynamodb", config=CLIENT_CONFIG),
    index_table=settings.index_table,
    uploads_bucket=settings.uploads_bucket,
    originals_bucket=settings.originals_bucket,
)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(raise_on_empty_metrics=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = stuck_uploads(
        stores, datetime.now(UTC), stuck_after=settings.stuck_after, lookback=settings.lookback
    )
    found = summary(report)
    metrics.add_metric(name=METRIC, unit=MetricUnit.Count, value=found["stuck"])
    for line in stuck_lines(report):
        logger.warning("upload stuck short of a terminal state", extra=line)
    logger.info("reconciled", extra=found)
    return found
