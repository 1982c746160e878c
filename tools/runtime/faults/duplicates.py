"""Duplicate deliveries: EventBridge delivering an event more than once, on demand.

:class:`DuplicateDeliveries` makes EventBridge deliver every event twice (or more) to the
services' queues, the way at-least-once delivery sometimes does: each rule with an SQS target is
cloned for as long as the context lasts, so every matching event reaches the queue once per copy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import TargetTypeDef

LOG = logging.getLogger("tools.runtime.faults")

DUPLICATE_MARK = "-dup"


@dataclass(frozen=True)
class ClonedRule:
    bus: str
    name: str
    original: str
    target_ids: tuple[str, ...]


def sampled(pattern: dict[str, Any], digits: int) -> dict[str, Any]:
    """``pattern`` narrowed to events whose id starts with one of the first ``digits`` hex
    digits."""
    narrowed = json.loads(json.dumps(pattern))
    prefixes = [{"prefix": digit} for digit in "0123456789abcdef"[:digits]]
    detail = narrowed.setdefault("detail", {})
    if narrowed.get("source") == ["aws.s3"]:
        detail.setdefault("object", {})["version-id"] = prefixes
    else:
        detail.setdefault("metadata", {})["event_id"] = prefixes
    return dict(narrowed)


def _queue_targets(targets: Iterable[Any]) -> list[TargetTypeDef]:
    return [t for t in targets if ":sqs:" in t.get("Arn", "")]


class DuplicateDeliveries:
    """While active, every event a service rule matches reaches its queue ``1 + copies`` times.

    Clones each rule of ``buses`` that targets an SQS queue (only the queues of ``queue_arns``
    when given, e.g. the services' queues and not a tail's; only rules whose name ``select``
    accepts) under the name ``<rule>-dup<n>``, with the same pattern and those targets.
    EventBridge then delivers one message per rule: the same event, the same ``id``, several
    times, which is what at-least-once delivery amounts to at the consumer.

    ``share`` < 1 duplicates only about that share of the events: the clones' patterns also
    require the event's id (``detail.metadata.event_id``; for S3's events the object's version
    id) to start with one of the first ``round(16 * share)`` hex digits.
    """

    def __init__(
        self,
        events: EventBridgeClient,
        buses: Iterable[str],
        *,
        copies: int = 1,
        queue_arns: Iterable[str] | None = None,
        select: Callable[[str], bool] | None = None,
        share: float = 1.0,
    ) -> None:
        if copies < 1:
            raise ValueError("copies must be at least 1")
        if not 1 / 16 <= share <= 1:
            raise ValueError(f"share must be between 1/16 and 1, got {share}")
        self.events = events
        self.share = share
        self.queue_arns = None if queue_arns is None else set(queue_arns)
        self.buses = list(buses)
        self.copies = copies
        self.select = select
        self.clones: list[ClonedRule] = []

    def _rules(self, bus: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            request: dict[str, Any] = {"EventBusName": bus}
            if token:
                request["NextToken"] = token
            page = self.events.list_rules(**request)
            yield from page.get("Rules", [])  # type: ignore[misc]
            token = page.get("NextToken")
            if not token:
                return

    def __enter__(self) -> DuplicateDeliveries:
        try:
            for bus in self.buses:
                for rule in list(self._rules(bus)):
                    name = str(rule["Name"])
                    if DUPLICATE_MARK in name or not rule.get("EventPattern"):
                        continue
                    if self.select is not None and not self.select(name):
                        continue
                    targets = _queue_targets(
                        self.events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
                    )
                    if self.queue_arns is not None:
                        targets = [t for t in targets if t["Arn"] in self.queue_arns]
                    if not targets:
                        continue
                    for copy in range(1, self.copies + 1):
                        self._clone(bus, rule, targets, copy)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _clone(
        self, bus: str, rule: dict[str, Any], targets: list[TargetTypeDef], copy: int
    ) -> None:
        name = f"{str(rule['Name'])[:56]}{DUPLICATE_MARK}{copy}"
        pattern = str(rule["EventPattern"])
        if self.share < 1:
            pattern = json.dumps(sampled(json.loads(pattern), round(16 * self.share)))
        self.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=pattern,
            State="ENABLED",
            Description=f"duplicate deliveries of {rule['Name']} (test machinery; temporary)",
        )
        cloned: list[TargetTypeDef] = []
        for target in targets:
            copy_of = dict(target)
            copy_of["Id"] = f"{str(target['Id'])[:58]}{DUPLICATE_MARK}{copy}"
            cloned.append(copy_of)  # type: ignore[arg-type]
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=cloned)
        self.clones.append(
            ClonedRule(bus, name, str(rule["Name"]), tuple(str(t["Id"]) for t in cloned))
        )

    def __exit__(self, *exc_info: object) -> None:
        clones, self.clones = self.clones, []
        for clone in clones:
            try:
                self.events.remove_targets(
                    Rule=clone.name, EventBusName=clone.bus, Ids=list(clone.target_ids)
                )
                self.events.delete_rule(Name=clone.name, EventBusName=clone.bus)
            except Exception as error:  # keep removing the others
                LOG.warning("could not remove duplicate rule %s: %s", clone.name, error)
