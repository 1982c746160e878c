"""Canonical example events from schemas/, loaded by one helper, with factories for variations."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"


def example(name: str, variant: str = "valid-basic", major: int = 1) -> dict[str, Any]:
    """A fresh copy of ``schemas/events/<name>/examples/v<major>/<variant>.json``."""
    path = SCHEMAS / "events" / name / "examples" / f"v{major}" / f"{variant}.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def with_data(event: dict[str, Any], **data: Any) -> dict[str, Any]:
    """A copy of ``event`` with fields of ``detail.data`` replaced."""
    changed = copy.deepcopy(event)
    changed["detail"]["data"].update(data)
    return changed


def sqs_batch(
    *bodies: dict[str, Any] | str,
    queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:media-test-queue",
) -> dict[str, Any]:
    """A Lambda SQS event carrying ``bodies`` in order (dicts are JSON-encoded), as the event
    source mapping delivers it; the records' message ids are ``message-1``, ``message-2``, ..."""
    records = []
    for number, body in enumerate(bodies, start=1):
        records.append(
            {
                "messageId": f"message-{number}",
                "receiptHandle": f"receipt-{number}",
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1763892929000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1763892929001",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}
