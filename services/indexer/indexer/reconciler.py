"""The scheduled reconciler: how many uploads are stuck short of a terminal state.

An EventBridge schedule (services/indexer/infra/reconciler.tf) runs it every few minutes. It
accounts for the uploads of a window with ``indexer.reconciliation`` (the code behind
``mediactl reconcile``) and publishes how many are not in a terminal state, as the metric
``UploadsStuck``, which an alarm watches. The window is ``[now - lookback, now - stuck_after]``:
an upload younger than ``stuck_after`` may still be on its way (retries take up to the queues'
visibility timeouts times their receive counts), so only the older ones count.

What it does not do: peek the services' DLQs (only ``mediactl reconcile`` does, an operator's
act: it hides their messages for half a minute and needs every service's queue). An upload whose
message a DLQ holds without a ProcessingFailed in the index therefore counts as stuck here, and
its DLQ's own alarm fires too: both say the same upload did not finish. An upload stuck longer
than ``lookback`` leaves the window, and the count, after alarming for that long.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from indexer.reconciliation import Reconciliation, Stores, account_for, window
from media_shared import settings as env_names
from media_shared.settings import integer, required

STUCK_AFTER_MINUTES = "STUCK_AFTER_MINUTES"
LOOKBACK_HOURS = "LOOKBACK_HOURS"
METRIC_ENVIRONMENT = "METRIC_ENVIRONMENT"
DEFAULT_STUCK_AFTER_MINUTES = 120
DEFAULT_LOOKBACK_HOURS = 168
#: The metric the alarm watches, in the namespace every service's metrics use.
METRIC = "UploadsStuck"
NAMESPACE = "MediaPipeline"
#: Stuck uploads named one by one in the log (the count is always whole).
LOGGED = 100


@dataclass(frozen=True)
class ReconcilerSettings:
    """Where uploads can be, how old one must be to count as stuck, and how far back to look."""

    index_table: str
    uploads_bucket: str
    originals_bucket: str
    environment: str
    stuck_after: timedelta = timedelta(minutes=DEFAULT_STUCK_AFTER_MINUTES)
    lookback: timedelta = timedelta(hours=DEFAULT_LOOKBACK_HOURS)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ReconcilerSettings:
        source = os.environ if env is None else env
        return cls(
            index_table=required(env_names.INDEX_TABLE, source),
            uploads_bucket=required(env_names.UPLOADS_BUCKET, source),
            originals_bucket=required(env_names.ORIGINALS_BUCKET, source),
            environment=required(METRIC_ENVIRONMENT, source),
            stuck_after=timedelta(
                minutes=integer(STUCK_AFTER_MINUTES, DEFAULT_STUCK_AFTER_MINUTES, source)
            ),
            lookback=timedelta(
                hours=integer(LOOKBACK_HOURS, DEFAULT_LOOKBACK_HOURS, source, minimum=1)
            ),
        )


def stuck_uploads(
    stores: Stores, now: datetime, *, stuck_after: timedelta, lookback: timedelta
) -> Reconciliation:
    """The reconciliation of the uploads made from ``now - lookback`` to ``now - stuck_after``:
    its ``unaccounted`` are the stuck ones."""
    start, end = window(now - lookback, now - stuck_after)
    return account_for(stores, start, end)


def summary(report: Reconciliation) -> dict[str, Any]:
    """What one run found: the window, how many uploads, how many stuck, the counts by state."""
    return {
        "window": [report.start.isoformat(), report.end.isoformat()],
        "uploads": len(report.accounts),
        "stuck": len(report.unaccounted),
        "states": {state: count for state, count in report.counts.items() if count},
    }


def stuck_lines(report: Reconciliation, limit: int = LOGGED) -> list[dict[str, Any]]:
    """One log record per stuck upload (the first ``limit``): what it is and why it is stuck."""
    return [
        {
            "asset_id": found.asset_id,
            "state": found.state.value,
            "reason": found.reason,
            "key": found.key,
            "uploaded_at": found.uploaded_at.isoformat() if found.uploaded_at else None,
        }
        for found in report.unaccounted[:limit]
    ]
