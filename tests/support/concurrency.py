"""Racing many clients at once, as the local runtime's warm workers do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# The runtime runs up to five workers per function and four functions at once.
THREADS = 16


def race(count: int, work: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    """Run ``work(0..count-1)`` on ``threads`` threads released together; return the results."""
    start = threading.Barrier(min(count, threads))

    def run(index: int) -> Any:
        if index < threads:
            start.wait()
        return work(index)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, range(count)))
