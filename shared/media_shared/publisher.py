"""PutEvents that validates first, batches within the API's limits and never drops an entry."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from media_shared.envelope import Event
from media_shared.exceptions import PublishError
from media_shared.schemas import SchemaCatalog

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024


def entry_size(entry: PutEventsRequestEntryTypeDef) -> int:
    """Size of one entry as EventBridge counts it (UTF-8 bytes of its strings)."""
    size = 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if isinstance(value, str):
            size += len(value.encode("utf-8"))
    for resource in entry.get("Resources", []):
        size += len(resource.encode("utf-8"))
    if "Time" in entry:
        size += 14
    return size


def batches(
    entries: Sequence[PutEventsRequestEntryTypeDef],
    *,
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> Iterator[list[PutEventsRequestEntryTypeDef]]:
    """Consecutive groups of at most ``max_entries`` entries and ``max_bytes`` bytes."""
    batch: list[PutEventsRequestEntryTypeDef] = []
    batch_bytes = 0
    for entry in entries:
        size = entry_size(entry)
        if size > max_bytes:
            raise PublishError(
                f"entry {entry.get('DetailType')} is {size} bytes, over the {max_bytes}-byte limit",
                failed=[{"DetailType": str(entry.get("DetailType")), "ErrorCode": "EntryTooLarge"}],
            )
        if batch and (len(batch) == max_entries or batch_bytes + size > max_bytes):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(entry)
        batch_bytes += size
    if batch:
        yield batch


class EventPublisher:
    """Publishes events to one bus; every event is validated against its schema before sending.

    Entries that come back failed are retried alone, with exponential backoff and full jitter;
    whatever still fails after ``max_attempts`` raises PublishError (nothing is dropped silently).
    """

    def __init__(
        self,
        client: EventBridgeClient,
        bus_name: str,
        catalog: SchemaCatalog,
        *,
        max_attempts: int = 5,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.bus_name = bus_name
        self.catalog = catalog
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep

    def entry(self, event: Event) -> PutEventsRequestEntryTypeDef:
        return {
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": event.detail_json(),
            "EventBusName": self.bus_name,
        }

    def publish(self, events: Sequence[Event]) -> list[str]:
        """Validate then send ``events``; return their event ids in order."""
        for event in events:
            self.catalog.validate(event.as_event())
        entries = [self.entry(event) for event in events]
        for batch in batches(entries):
            self._send(batch)
        return [event.event_id for event in events]

    def _send(self, batch: list[PutEventsRequestEntryTypeDef]) -> None:
        pending = batch
        for attempt in range(1, self.max_attempts + 1):
            response = self.client.put_events(Entries=pending)
            if response.get("FailedEntryCount", 0) == 0:
                return
            results = response["Entries"]
            failed = [
                (entry, result)
                for entry, result in zip(pending, results, strict=True)
                if result.get("ErrorCode")
            ]
            pending = [entry for entry, _ in failed]
            if attempt == self.max_attempts:
                raise PublishError(
                    f"{len(pending)} of {len(batch)} entries not delivered to {self.bus_name} "
                    f"after {self.max_attempts} attempts",
                    failed=[
                        {
                            "DetailType": str(entry.get("DetailType")),
                            "ErrorCode": str(result.get("ErrorCode")),
                            "ErrorMessage": str(result.get("ErrorMessage", "")),
                        }
                        for entry, result in failed
                    ],
                )
            delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            self.sleep(random.uniform(0, delay))
