"""``mediactl reconcile``: every upload of a window, accounted for in exactly one terminal state.

The accounting itself is ``indexer.reconciliation`` (what "every upload" means, the states, the
costs on AWS: its docstring), the same code the indexer's scheduled reconciler runs
(``indexer.reconciler``). This module reads it from a :class:`Target` (the local stack or an AWS
environment), adds what only an operator should do, peeking every service's DLQ without
consuming it, and renders the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from indexer import reconciliation
from indexer.reconciliation import (
    TERMINAL,
    Account,
    Letter,
    Reconciliation,
    State,
    Stores,
    WindowError,
    _iso,
    describe_letter,
)
from tools.cli.errors import CliError
from tools.cli.services import ServiceQueues, service_queues
from tools.localstack.target import Target

__all__ = [
    "TERMINAL",
    "Account",
    "Letter",
    "Reconciliation",
    "State",
    "dead_letters",
    "describe_letter",
    "index_items",
    "read_expected",
    "reconcile",
    "render",
    "stores",
]

PEEK_ROUNDS = 100  # of 10 messages: a DLQ is read up to 1000 messages deep
BROWSE_VISIBILITY = 30


def stores(target: Target) -> Stores:
    """The index and the buckets of the target's environment (names from its SSM parameters)."""
    return Stores(
        s3=target.s3,
        dynamodb=target.dynamodb,
        index_table=target.index_table,
        uploads_bucket=target.bucket("uploads"),
        originals_bucket=target.bucket("originals"),
    )


def index_items(target: Target, start: datetime) -> Iterator[dict[str, Any]]:
    """Every index item updated at or after ``start``: one paginated query per status."""
    return reconciliation.index_items(stores(target), start)


def dead_letters(target: Target, queues: ServiceQueues) -> list[Letter]:
    """Every message in one service's DLQ, browsed, never consumed.

    Receiving with visibility 0 keeps returning the same first messages, so each batch is
    hidden for ``BROWSE_VISIBILITY`` seconds while the rest are read, then made visible again.
    """
    if queues.dlq_url is None:
        return []
    sqs = target.sqs
    seen: dict[str, Letter] = {}
    handles: list[str] = []
    try:
        for _ in range(PEEK_ROUNDS):
            messages = sqs.receive_message(
                QueueUrl=queues.dlq_url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=BROWSE_VISIBILITY,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                if message["MessageId"] not in seen:
                    seen[message["MessageId"]] = describe_letter(queues.service, dict(message))
    finally:
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(
                QueueUrl=queues.dlq_url,
                Entries=[
                    {"Id": str(number), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                    for number, handle in enumerate(handles[start : start + 10])
                ],
            )
    return list(seen.values())


def reconcile(
    target: Target,
    start: datetime,
    end: datetime | None = None,
    *,
    expected: Iterable[str] = (),
) -> Reconciliation:
    """Account for every upload made from ``start`` to ``end`` (now), the DLQs included.

    ``expected``: asset ids the caller knows were uploaded in the window (found nowhere: lost).
    """
    try:
        start, end = reconciliation.window(start, end or datetime.now(UTC))
    except WindowError as error:
        raise CliError(str(error)) from None

    def letters() -> list[Letter]:
        return [
            letter
            for queues in service_queues(target).values()
            for letter in dead_letters(target, queues)
        ]

    try:
        return reconciliation.account_for(
            stores(target), start, end, expected=expected, dead_letters=letters
        )
    except (BotoCoreError, ClientError) as error:
        raise CliError(f"cannot reconcile on the {target.describe()}: {error}") from error


# -- showing it -----------------------------------------------------------------------------


def render(report: Reconciliation, *, verbose: bool = False) -> list[str]:
    """Lines for a person: the counts, then every upload not in a terminal state."""
    counts = report.counts
    lines = [
        f"reconciliation {_iso(report.start)} .. {_iso(report.end)}: "
        f"{len(report.accounts)} upload(s): "
        + ", ".join(
            f"{counts[s.value]} {s.value}" for s in State if counts[s.value] or s in TERMINAL
        )
    ]
    shown = (
        report.accounts if verbose else [a for a in report.accounts if not a.terminal or a.notes]
    )
    for found in shown:
        where = f" s3 key {found.key!r}" if found.key else ""
        lines.append(f"  {found.state.value:<9} {found.asset_id}{where}")
        if found.reason and (verbose or not found.terminal):
            lines.append(f"            {found.reason}")
        for note in found.notes:
            lines.append(f"            note: {note}")
    for letter in report.unattributed:
        lines.append(
            f"  unattributed dead letter {letter.message_id} in the {letter.service} DLQ: "
            f"{letter.what}"
        )
    if report.exact:
        lines.append("every upload is accounted for in exactly one terminal state")
    else:
        lines.append(
            f"NOT reconciled: {len(report.unaccounted)} upload(s) unaccounted for"
            f" ({len(report.lost)} lost), {len(report.unattributed)} unattributed dead letter(s)"
        )
    return lines


def read_expected(path: str) -> list[str]:
    """Asset ids from a file: one per line, or JSON lines with an ``asset_id``."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = [line.strip() for line in handle if line.strip()]
    except OSError as error:
        raise CliError(f"cannot read {path}: {error}") from None
    ids = []
    for number, line in enumerate(lines, start=1):
        if line.startswith("{"):
            try:
                value = json.loads(line).get("asset_id")
            except (json.JSONDecodeError, AttributeError):
                value = None
        else:
            value = line
        if not isinstance(value, str) or len(value) != 32:
            raise CliError(f"{path}:{number}: not an asset id: {line[:80]!r}")
        ids.append(value)
    return ids
