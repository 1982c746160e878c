"""Follow the bus: a temporary catch-all rule into a temporary queue, read until stopped.

The rule and the queue exist only while tailing (``with BusTail(...)``) and are removed on the
way out, whatever ends the tail (Ctrl-C, ``--max``, ``--timeout``, an error).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.cli.errors import CliError
from tools.localstack.target import Target

TAIL_PREFIX = "tail"


def pattern(detail_types: Sequence[str] = ()) -> dict[str, Any]:
    """Every event of the bus (EventBridge needs a non-empty pattern), or these detail-types."""
    if detail_types:
        return {"detail-type": list(detail_types)}
    return {"source": [{"prefix": ""}]}


class BusTail:
    """A temporary rule and queue on the target's bus; iterate :meth:`events` inside ``with``."""

    def __init__(
        self, target: Target, detail_types: Sequence[str] = (), bus: str | None = None
    ) -> None:
        self.target = target
        self.detail_types = list(detail_types)
        self.bus = bus
        self.name = f"media-{target.environment}-{TAIL_PREFIX}-{uuid.uuid4().hex[:8]}"
        self.queue_url: str | None = None
        self.rule_created = False

    def __enter__(self) -> BusTail:
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _create(self) -> None:
        events, sqs = self.target.events, self.target.sqs
        self.bus = self.bus or self.target.bus_name
        try:
            self.queue_url = sqs.create_queue(
                QueueName=self.name, Attributes={"MessageRetentionPeriod": "3600"}
            )["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
            rule_arn = events.put_rule(
                Name=self.name,
                EventBusName=self.bus,
                EventPattern=json.dumps(pattern(self.detail_types)),
                Description="mediactl tail (temporary; removed when the tail ends)",
            )["RuleArn"]
            self.rule_created = True
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                    }
                ],
            }
            sqs.set_queue_attributes(
                QueueUrl=self.queue_url, Attributes={"Policy": json.dumps(policy)}
            )
            events.put_targets(
                Rule=self.name, EventBusName=self.bus, Targets=[{"Id": "tail", "Arn": queue_arn}]
            )
        except (BotoCoreError, ClientError) as error:
            raise CliError(f"cannot set up the tail on bus {self.bus}: {error}") from error

    def events(
        self, max_events: int | None = None, timeout: float | None = None
    ) -> Iterator[dict[str, Any]]:
        """Events as they arrive, until ``max_events`` were seen or ``timeout`` seconds passed."""
        if self.queue_url is None:
            raise RuntimeError("use BusTail inside a with block")
        deadline = None if timeout is None else time.monotonic() + timeout
        seen = 0
        while max_events is None or seen < max_events:
            wait = 5
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                wait = max(0, min(wait, int(remaining)))
            messages = self.target.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
            ).get("Messages", [])
            for message in messages:
                self.target.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
                try:
                    event = json.loads(message["Body"])
                except json.JSONDecodeError:
                    event = {"unparsed": message["Body"]}
                seen += 1
                yield event
                if max_events is not None and seen >= max_events:
                    return

    def close(self) -> None:
        """Remove the rule (targets first) and the queue; report, never raise, a failure."""
        events, sqs = self.target.events, self.target.sqs
        if self.rule_created and self.bus is not None:
            try:
                events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["tail"])
                events.delete_rule(Name=self.name, EventBusName=self.bus)
            except (BotoCoreError, ClientError) as error:
                print(f"warning: could not remove rule {self.name}: {error}", file=sys.stderr)
            self.rule_created = False
        if self.queue_url is not None:
            try:
                sqs.delete_queue(QueueUrl=self.queue_url)
            except (BotoCoreError, ClientError) as error:
                print(f"warning: could not delete tail queue {self.name}: {error}", file=sys.stderr)
            self.queue_url = None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def render(event: dict[str, Any]) -> str:
    """One event for a person: a header line, then the detail as indented JSON."""
    detail = _object(event.get("detail"))
    metadata = _object(detail.get("metadata"))
    header = " ".join(
        part
        for part in (
            str(event.get("time", "")),
            str(event.get("detail-type", "?")),
            f"from {event.get('source', '?')}",
            f"asset {metadata['correlation_id']}" if metadata.get("correlation_id") else "",
        )
        if part
    )
    return f"{header}\n{json.dumps(detail or event, indent=2, sort_keys=True)}\n"
