"""Which calls fail, how and how often: the fault proxy's rules."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tools.runtime.faults.protocol import Call, error_for


@dataclass(eq=False)
class Rule:
    """Which calls fail, how, and how often.

    A call matches when every given criterion does: ``service`` (SigV4 name: "s3", "dynamodb",
    "events", "sqs"), ``operation`` (API name), ``function`` (the function's name, or its
    service's: "thumbnailer" matches ``media-local-thumbnailer``), ``contains`` (text in the
    percent-decoded path or the body, e.g. an asset id or a key). A matching call fails with
    ``probability`` while fewer than ``times`` calls have failed (``times=None``: until the
    rule is removed). ``partial`` (PutEvents only): the call is forwarded with every other
    entry (the first, third, ... fail) and the response lists those as failed.
    """

    service: str
    operation: str | None = None
    kind: str = "throttle"
    times: int | None = 1
    function: str | None = None
    contains: str | None = None
    probability: float = 1.0
    partial: bool = False
    seed: int | None = None
    hits: int = 0
    failed_entries: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        error_for(self.service, self.kind)  # validates the kind
        if self.partial and (self.service, self.operation) != ("events", "PutEvents"):
            raise ValueError("a partial failure rule is for events PutEvents only")
        if not 0 < self.probability <= 1:
            raise ValueError(f"probability must be in (0, 1], got {self.probability}")
        if self.seed is not None:
            self._random.seed(self.seed)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, call: Call) -> bool:
        if self.service != call.service:
            return False
        if self.operation is not None and self.operation != call.operation:
            return False
        if self.function is not None:
            name = call.function or ""
            if name != self.function and not name.endswith("-" + self.function):
                return False
        return self.contains is None or self.contains in call.text()

    def fires(self, call: Call) -> bool:
        """Whether this call fails (counts it); call with the proxy's lock held."""
        if self.exhausted or not self.matches(call):
            return False
        if self.probability < 1 and self._random.random() >= self.probability:
            return False
        self.hits += 1
        return True
