"""One slow record fails alone: each record runs under the invocation's remaining time."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from media_shared import Event, InboundEvent
from media_shared.deadline import RecordDeadlineError, record_deadline
from media_shared.service import Service
from tests.support.events import sqs_batch
from tests.unit.conftest import received
from tests.unit.test_consumer import Recorder
from tests.unit.test_service import SERVICE, named, service

__all__ = ["service"]  # the fixture, shared with test_service


@dataclass
class Clocked:
    """A Lambda context whose remaining time runs down with the wall clock, as Lambda's does."""

    function_name: str = f"media-test-{SERVICE}"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:123456789012:function:{SERVICE}"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    timeout_seconds: float = 3.0

    def __post_init__(self) -> None:
        self.ends = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends - time.monotonic()) * 1000))


class Stalls(Recorder):
    """The Recorder, but a file named stall.jpg takes far longer than the invocation has."""

    def __call__(self, inbound: InboundEvent) -> Sequence[Event]:
        if inbound.data.get("filename") == "stall.jpg":
            time.sleep(30)
        return super().__call__(inbound)


def test_a_record_that_would_outlast_the_invocation_fails_alone(
    service: Service, bus: dict[str, Any]
) -> None:
    # Given a batch whose second record stalls far beyond the function's 1.5 s timeout
    logic = Stalls(service.catalog)
    lambda_handler = service.handler(service.consumer(logic), reserve_ms=1000)
    batch = sqs_batch(named("a.jpg"), named("stall.jpg"), named("c.jpg"))
    started = time.monotonic()
    # When the handler runs it
    response = lambda_handler(batch, Clocked(timeout_seconds=1.5))
    took = time.monotonic() - started
    # Then it answers within the invocation: the first record's success stands, the stalled one
    # and the one it left no time for are reported for retry
    assert took < 1.5
    assert response == {
        "batchItemFailures": [{"itemIdentifier": "message-2"}, {"itemIdentifier": "message-3"}]
    }
    assert [e["detail-type"] for e in received(bus)] == ["MetadataExtracted"]


def test_a_record_with_less_than_the_reserve_left_is_not_started() -> None:
    context = Clocked(timeout_seconds=0.5)
    with pytest.raises(RecordDeadlineError, match="not started"), record_deadline(context, 1000):
        pytest.fail("the block must not run")


def test_the_deadline_is_cleared_after_a_record_that_finished_in_time() -> None:
    with record_deadline(Clocked(timeout_seconds=1.3), 1000) as seconds:
        assert 0 < seconds <= 0.3
    time.sleep(0.5)  # an alarm left behind would go off here
