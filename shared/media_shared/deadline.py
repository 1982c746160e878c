"""A deadline for each record of a batch, from the time left in the invocation.

When a function runs past its timeout, Lambda kills it and the whole batch counts as failed: the
records already handled are delivered again, and the ones after a slow record never got a
chance. So each record runs under a deadline: the invocation's remaining time less a reserve
(``DEFAULT_RESERVE_MS``, time to answer the batch's partial failures). A record that reaches it
is interrupted with :class:`RecordDeadlineError` (transient: it alone is retried, and after the
queue's maxReceiveCount it ends in the DLQ); a record that would start with less than the reserve
left is not started and is retried too. The records before it keep their success.

The interruption is ``SIGALRM`` (``signal.setitimer``), which Python delivers between bytecodes
on the main thread, as Lambda runs handlers; off the main thread only the start check applies.
Code that spends the whole time inside one C call is interrupted when the call returns, which
is why the work per file is also capped (``media_shared.limits``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from media_shared.exceptions import MediaPipelineError

DEFAULT_RESERVE_MS = 2000


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class RecordDeadlineError(MediaPipelineError):
    """The invocation's time ran out for this record; it is retried (transient)."""


@contextmanager
def record_deadline(
    context: RemainingTime, reserve_ms: int = DEFAULT_RESERVE_MS
) -> Iterator[float]:
    """Run the block under the invocation's deadline; yields the seconds it may take."""
    budget_ms = context.get_remaining_time_in_millis() - reserve_ms
    if budget_ms <= 0:
        raise RecordDeadlineError(
            f"less than {reserve_ms} ms left in the invocation: the record is not started "
            "and will be retried"
        )
    seconds = budget_ms / 1000
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield seconds
        return

    def expired(_signum: int, _frame: Any) -> None:
        raise RecordDeadlineError(
            f"the record ran out of the invocation's time ({seconds:.1f} s) and will be retried"
        )

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield seconds
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
