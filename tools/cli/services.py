"""The deployed services of an environment, found through their event source mappings.

A service's function is ``media-<env>-<service>``; its mapping names the queue it reads, and the
queue's redrive policy names its DLQ. Reading them back from the Lambda and SQS APIs means the CLI
follows whatever Terraform deployed, on AWS and locally alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from tools.cli.errors import CliError
from tools.localstack.target import Target
from tools.runtime.awslambda import queue_url_from_arn


@dataclass(frozen=True)
class ServiceQueues:
    service: str
    function: str
    queue_url: str
    queue_arn: str
    dlq_url: str | None
    dlq_arn: str | None
    max_receive_count: int | None


def service_queues(target: Target) -> dict[str, ServiceQueues]:
    """Every service of the target's environment with an SQS mapping, by service name."""
    prefix = f"media-{target.environment}-"
    found: dict[str, ServiceQueues] = {}
    try:
        pages = target.lambda_.get_paginator("list_event_source_mappings").paginate()
        for page in pages:
            for mapping in page["EventSourceMappings"]:
                function = mapping.get("FunctionArn", "").rsplit(":", 1)[-1]
                source = mapping.get("EventSourceArn", "")
                if not function.startswith(prefix) or ":sqs:" not in source:
                    continue
                service = function.removeprefix(prefix)
                queue_url = queue_url_from_arn(target.sqs, source)
                attributes = target.sqs.get_queue_attributes(
                    QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]
                )["Attributes"]
                redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
                dlq_arn = redrive.get("deadLetterTargetArn")
                found[service] = ServiceQueues(
                    service=service,
                    function=function,
                    queue_url=queue_url,
                    queue_arn=source,
                    dlq_url=queue_url_from_arn(target.sqs, dlq_arn) if dlq_arn else None,
                    dlq_arn=dlq_arn,
                    max_receive_count=int(redrive["maxReceiveCount"])
                    if "maxReceiveCount" in redrive
                    else None,
                )
    except (BotoCoreError, ClientError) as error:
        raise CliError(
            f"cannot read the deployed services on the {target.describe()}: {error}"
        ) from error
    return dict(sorted(found.items()))


BACKLOG_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def backlog(target: Target, queues: dict[str, ServiceQueues] | None = None) -> dict[str, int]:
    """Messages waiting, in flight or delayed in each service's queue (all 0: nothing to do)."""
    counts = {}
    for name, found in (queues if queues is not None else service_queues(target)).items():
        attributes = target.sqs.get_queue_attributes(
            QueueUrl=found.queue_url,
            AttributeNames=BACKLOG_ATTRIBUTES,  # type: ignore[arg-type]
        )["Attributes"]
        counts[name] = sum(int(value) for value in attributes.values())
    return counts


def service(target: Target, name: str) -> ServiceQueues:
    found = service_queues(target)
    if name not in found:
        known = ", ".join(found) or "none"
        raise CliError(
            f"no service {name!r} deployed on the {target.describe()}; services: {known}"
        )
    return found[name]
