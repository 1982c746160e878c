"""An SQS event source mapping, run locally the way the Lambda service runs it.

Per mapping: poll the queue (long polling), gather a batch of up to ``BatchSize`` messages (more
than one receive only within ``MaximumBatchingWindowInSeconds``), invoke the function with an SQS
event of that batch, then delete what succeeded:

* the function raised, timed out or crashed: nothing is deleted;
* it returned normally: everything is deleted, unless the mapping has ``ReportBatchItemFailures``,
  in which case the messages named in ``batchItemFailures`` stay (an invalid response fails the
  whole batch, as Lambda does).

What is not deleted becomes visible again after the queue's visibility timeout, and SQS itself
moves a message to the dead-letter queue once it was received ``maxReceiveCount`` times.
At most ``ScalingConfig.MaximumConcurrency`` batches of one mapping are in flight at once.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping as MappingType
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from tools.runtime.awslambda.discovery import Mapping
from tools.runtime.awslambda.invoker import FunctionPool, Invocation

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

LOG = logging.getLogger("tools.runtime")
POLL_WAIT_SECONDS = 1  # long polling, short enough to stop promptly


@dataclass(frozen=True)
class BatchOutcome:
    """One invocation of a mapping: what was sent, what failed, how long it took."""

    service: str
    function: str
    size: int
    failed_ids: frozenset[str]
    invocation: Invocation

    @property
    def failed(self) -> int:
        return len(self.failed_ids)


def sqs_record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda builds from a received message."""
    attributes: dict[str, Any] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        binary = value.get("BinaryValue")
        attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode("ascii") if binary else None,
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": [
                base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
            ],
            "dataType": value.get("DataType", "String"),
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_message_ids(
    invocation: Invocation, batch_ids: list[str], report_batch_item_failures: bool
) -> tuple[frozenset[str], str | None]:
    """Which messages of the batch failed, and why the whole batch did if it did."""
    everything = frozenset(batch_ids)
    if not invocation.ok:
        return everything, invocation.error_summary
    if not report_batch_item_failures:
        return frozenset(), None
    payload = invocation.payload
    if payload is None or payload == {} or payload == "":
        return frozenset(), None
    if not isinstance(payload, MappingType):
        return everything, f"response is not a JSON object: {payload!r:.200}"
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return frozenset(), None
    if not isinstance(failures, list):
        return everything, "batchItemFailures is not a list"
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, MappingType) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything, f"invalid batchItemFailures entry {item!r:.200}"
        failed.add(identifier)
    return frozenset(failed), None


class MappingPoller:
    """Polls one queue and invokes one function's pool, with at most ``concurrency`` in flight."""

    def __init__(
        self,
        mapping: Mapping,
        *,
        sqs: SQSClient,
        pool: FunctionPool,
        region: str,
        concurrency: int,
        on_batch: Callable[[BatchOutcome], None] | None = None,
        retry_visibility: int | None = None,
    ) -> None:
        self.mapping = mapping
        self.retry_visibility = retry_visibility
        self.sqs = sqs
        self.pool = pool
        self.region = region
        self.concurrency = max(1, concurrency)
        self.on_batch = on_batch
        self._slots = threading.Semaphore(self.concurrency)
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix=f"invoke-{mapping.function.service}"
        )
        self._thread = threading.Thread(
            target=self._run, name=f"poll-{mapping.function.service}", daemon=True
        )

    @property
    def service(self) -> str:
        return self.mapping.function.service

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop polling; return once every batch in flight has finished."""
        self._stop.set()
        self._thread.join()
        self._executor.shutdown(wait=True)

    def _receive(self, count: int, wait: int) -> list[MessageTypeDef]:
        response = self.sqs.receive_message(
            QueueUrl=self.mapping.queue.url,
            MaxNumberOfMessages=max(1, min(10, count)),
            WaitTimeSeconds=wait,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def gather(self) -> list[MessageTypeDef]:
        """One batch: what one receive returns, topped up within the batching window."""
        batch = self._receive(self.mapping.batch_size, POLL_WAIT_SECONDS)
        if not batch or self.mapping.batching_window <= 0:
            return batch
        deadline = time.monotonic() + self.mapping.batching_window
        while len(batch) < self.mapping.batch_size and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            batch += self._receive(self.mapping.batch_size - len(batch), min(1, int(remaining)))
        return batch

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.25):
                continue
            try:
                messages = self.gather()
            except (BotoCoreError, ClientError) as error:
                self._slots.release()
                LOG.warning(
                    "%s: receive from %s failed: %s", self.service, self.mapping.queue.name, error
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            backoff = 0.5
            if not messages:
                self._slots.release()
                continue
            self._executor.submit(self._process, messages)

    def _process(self, messages: list[MessageTypeDef]) -> None:
        try:
            self.process(messages)
        except Exception:
            LOG.exception("%s: batch handling failed", self.service)
        finally:
            self._slots.release()

    def process(self, messages: list[MessageTypeDef]) -> BatchOutcome:
        """Invoke the function with ``messages`` and settle them; what happened."""
        queue = self.mapping.queue
        event = {"Records": [sqs_record(m, queue.arn, self.region) for m in messages]}
        invocation = self.pool.invoke(event)
        ids = [m["MessageId"] for m in messages]
        failed, why = failed_message_ids(invocation, ids, self.mapping.report_batch_item_failures)
        succeeded = [m for m in messages if m["MessageId"] not in failed]
        self._delete(succeeded)
        if self.retry_visibility is not None and failed:
            self._retry_sooner([m for m in messages if m["MessageId"] in failed])
        outcome = BatchOutcome(
            service=self.service,
            function=self.mapping.function.name,
            size=len(messages),
            failed_ids=failed,
            invocation=invocation,
        )
        cold = f" cold={invocation.init_ms:.0f}ms" if invocation.init_ms is not None else ""
        reason = f" ({why})" if why else ""
        LOG.info(
            "%-18s batch=%d failed=%d duration=%.0fms%s%s",
            self.service,
            outcome.size,
            outcome.failed,
            invocation.duration_ms,
            cold,
            reason,
        )
        if self.on_batch is not None:
            self.on_batch(outcome)
        return outcome

    def _retry_sooner(self, messages: list[MessageTypeDef]) -> None:
        """Make failed messages visible after ``retry_visibility`` s (a test knob, not Lambda's)."""
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            try:
                self.sqs.change_message_visibility_batch(
                    QueueUrl=self.mapping.queue.url,
                    Entries=[
                        {
                            "Id": str(number),
                            "ReceiptHandle": m["ReceiptHandle"],
                            "VisibilityTimeout": int(self.retry_visibility or 0),
                        }
                        for number, m in enumerate(chunk)
                    ],
                )
            except (BotoCoreError, ClientError) as error:  # the queue's timeout still applies
                LOG.warning("%s: could not shorten visibility: %s", self.service, error)

    def _delete(self, messages: list[MessageTypeDef]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            response = self.sqs.delete_message_batch(
                QueueUrl=self.mapping.queue.url,
                Entries=[
                    {"Id": str(number), "ReceiptHandle": m["ReceiptHandle"]}
                    for number, m in enumerate(chunk)
                ],
            )
            for failure in response.get("Failed", []):
                LOG.warning(
                    "%s: could not delete message %s: %s",
                    self.service,
                    chunk[int(failure["Id"])]["MessageId"],
                    failure.get("Message"),
                )
