"""What waits in each service's dead-letter queue, and moving it back to the service's queue.

Two kinds of message end in a DLQ: those the consumer *parked* (a permanent error: the message
carries ``service``, ``reason``, ``error_type``, ``error_message`` attributes) and those SQS
*redrove* after ``maxReceiveCount`` failed receives (no attributes: the error is in the
function's log). Listing peeks (visibility timeout 0), so it never hides or consumes a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tools.cli.errors import CliError
from tools.cli.services import ServiceQueues, service, service_queues
from tools.localstack.target import Target

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

PARKING_ATTRIBUTES = ("service", "reason", "error_type", "error_message", "source_message_id")
PEEK_ROUNDS = 20


@dataclass(frozen=True)
class DeadLetter:
    service: str
    message_id: str
    receive_count: int
    detail_type: str | None
    asset_id: str | None
    reason: str | None
    error_type: str | None
    error_message: str | None
    body: str = field(repr=False)

    @property
    def kind(self) -> str:
        return "parked" if self.reason else "redriven"


@dataclass(frozen=True)
class DlqReport:
    service: str
    dlq_url: str | None
    approximate: int
    messages: list[DeadLetter]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _describe(service_name: str, message: MessageTypeDef) -> DeadLetter:
    attributes = {
        name: value.get("StringValue")
        for name, value in message.get("MessageAttributes", {}).items()
    }
    detail_type = asset = None
    try:
        body: Any = json.loads(message.get("Body", ""))
    except json.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        detail_type = body.get("detail-type")
        detail = _object(body.get("detail"))
        metadata = _object(detail.get("metadata"))
        asset = metadata.get("correlation_id") or (detail.get("data") or {}).get("asset_id")
    return DeadLetter(
        service=service_name,
        message_id=message["MessageId"],
        receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", "0")),
        detail_type=detail_type,
        asset_id=asset if isinstance(asset, str) else None,
        reason=attributes.get("reason"),
        error_type=attributes.get("error_type"),
        error_message=attributes.get("error_message"),
        body=message.get("Body", ""),
    )


def peek(target: Target, queues: ServiceQueues, limit: int = 50) -> DlqReport:
    """Up to ``limit`` messages of one service's DLQ, left where they are."""
    if queues.dlq_url is None:
        return DlqReport(queues.service, None, 0, [])
    sqs = target.sqs
    count = int(
        sqs.get_queue_attributes(
            QueueUrl=queues.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    seen: dict[str, DeadLetter] = {}
    for _ in range(PEEK_ROUNDS):
        if len(seen) >= min(limit, count):
            break
        messages = sqs.receive_message(
            QueueUrl=queues.dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen.setdefault(message["MessageId"], _describe(queues.service, message))
    return DlqReport(queues.service, queues.dlq_url, count, list(seen.values())[:limit])


def list_dead_letters(target: Target, only: str | None = None, limit: int = 50) -> list[DlqReport]:
    queues = [service(target, only)] if only else list(service_queues(target).values())
    return [peek(target, q, limit) for q in queues]


def redrive(target: Target, service_name: str, limit: int | None = None) -> int:
    """Move the messages in the service's DLQ back to its queue; how many were moved.

    Each message is sent to the queue (body and attributes, less the parking ones, so a message
    parked again gets fresh ones) before it is deleted from the DLQ: at worst a duplicate, which
    every consumer tolerates, never a loss.
    """
    queues = service(target, service_name)
    if queues.dlq_url is None:
        raise CliError(f"{service_name} has no DLQ (its queue has no redrive policy)")
    sqs = target.sqs
    # Only what is there now: a message that fails again is parked again while this runs, and
    # must wait for the next redrive rather than go round in circles.
    waiting = int(
        sqs.get_queue_attributes(
            QueueUrl=queues.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    limit = waiting if limit is None else min(limit, waiting)
    moved = 0
    while moved < limit:
        want = min(10, limit - moved)
        messages = sqs.receive_message(
            QueueUrl=queues.dlq_url,
            MaxNumberOfMessages=want,
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            break
        entries = []
        for number, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(number), "MessageBody": message["Body"]}
            kept = {
                name: {
                    k: v
                    for k, v in value.items()
                    if k in {"DataType", "StringValue", "BinaryValue"}
                }
                for name, value in message.get("MessageAttributes", {}).items()
                if name not in PARKING_ATTRIBUTES
            }
            if kept:
                entry["MessageAttributes"] = kept
            entries.append(entry)
        sent = sqs.send_message_batch(QueueUrl=queues.queue_url, Entries=entries)  # type: ignore[arg-type]
        failed = {f["Id"]: f.get("Message", "") for f in sent.get("Failed", [])}
        done = [m for n, m in enumerate(messages) if str(n) not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queues.dlq_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)
                ],
            )
        moved += len(done)
        if failed:
            raise CliError(
                f"moved {moved} message(s); {len(failed)} could not be sent to "
                f"{queues.queue_url}: {'; '.join(sorted(set(failed.values())))}"
            )
    return moved
