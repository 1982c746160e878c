"""What Terraform deployed, read back through the Lambda and SQS APIs (never from Terraform files).

Every enabled SQS event source mapping becomes a :class:`Mapping`: the queue it polls (with its
visibility timeout and redrive policy), the batch size and window, whether the function reports
partial batch failures, the concurrency cap, and the function's configuration (handler, runtime,
timeout, memory, environment, the digest of its code).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient


@dataclass(frozen=True)
class Function:
    name: str
    arn: str
    runtime: str
    handler: str
    timeout: int
    memory_size: int
    code_sha256: str
    environment: dict[str, str] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)
    reserved_concurrency: int | None = None
    code_location: str | None = None

    @property
    def service(self) -> str:
        """The service the function belongs to (its POWERTOOLS_SERVICE_NAME), else its name."""
        return self.environment.get("POWERTOOLS_SERVICE_NAME") or self.name


@dataclass(frozen=True)
class Queue:
    arn: str
    url: str
    visibility_timeout: int
    dead_letter_arn: str | None
    max_receive_count: int | None

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Mapping:
    uuid: str
    function: Function
    queue: Queue
    batch_size: int
    batching_window: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None


def queue_url_from_arn(sqs: SQSClient, arn: str) -> str:
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {arn}")
    return sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]


def read_queue(sqs: SQSClient, arn: str) -> Queue:
    url = queue_url_from_arn(sqs, arn)
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
    )["Attributes"]
    redrive: dict[str, Any] = json.loads(attributes.get("RedrivePolicy") or "{}")
    return Queue(
        arn=arn,
        url=url,
        visibility_timeout=int(attributes.get("VisibilityTimeout", "30")),
        dead_letter_arn=redrive.get("deadLetterTargetArn"),
        max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
    )


def read_function(client: LambdaClient, name_or_arn: str) -> Function:
    got = client.get_function(FunctionName=name_or_arn)
    config = got["Configuration"]
    reserved = got.get("Concurrency", {}).get("ReservedConcurrentExecutions")
    return Function(
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        runtime=config.get("Runtime", ""),
        handler=config.get("Handler", ""),
        timeout=int(config.get("Timeout", 3)),
        memory_size=int(config.get("MemorySize", 128)),
        code_sha256=config.get("CodeSha256", ""),
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        architectures=tuple(config.get("Architectures", ["x86_64"])),
        reserved_concurrency=int(reserved) if reserved is not None else None,
        code_location=got.get("Code", {}).get("Location"),
    )


def discover(
    client: LambdaClient, sqs: SQSClient, functions: Iterable[str] = ()
) -> tuple[list[Mapping], list[str]]:
    """The enabled SQS mappings (of ``functions`` only, if given), and notes on what was skipped."""
    wanted = set(functions)
    mappings: list[Mapping] = []
    notes: list[str] = []
    read: dict[str, Function] = {}
    for page in client.get_paginator("list_event_source_mappings").paginate():
        for raw in page["EventSourceMappings"]:
            function_arn = raw.get("FunctionArn", "")
            function_name = function_arn.rsplit(":", 1)[-1]
            if wanted and function_name not in wanted and function_arn not in wanted:
                continue
            source = raw.get("EventSourceArn", "")
            if not source.startswith("arn:aws:sqs:"):
                notes.append(f"{function_name}: skipped mapping from {source} (not SQS)")
                continue
            if raw.get("State", "Enabled") not in {"Enabled", "Enabling", "Updating"}:
                notes.append(f"{function_name}: skipped mapping from {source} ({raw.get('State')})")
                continue
            function = read.get(function_arn) or read_function(client, function_arn)
            read[function_arn] = function
            scaling = raw.get("ScalingConfig") or {}
            mappings.append(
                Mapping(
                    uuid=raw["UUID"],
                    function=function,
                    queue=read_queue(sqs, source),
                    batch_size=int(raw.get("BatchSize") or 10),
                    batching_window=int(raw.get("MaximumBatchingWindowInSeconds") or 0),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (raw.get("FunctionResponseTypes") or []),
                    maximum_concurrency=scaling.get("MaximumConcurrency"),
                )
            )
    return mappings, notes
