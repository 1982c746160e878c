"""Replay a time window of an archive onto the bus it archives (where the backend supports it).

The media bus's archive (the default) holds every event the services publish; the uploads
archive (``uploads=True``, ``mediactl replay --uploads``) holds the uploads bucket's S3 events,
which S3 sends to the account's default bus: replayed there, they reach ingest again.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from tools.cli.errors import CliError
from tools.localstack.target import Target

TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
UNSUPPORTED = frozenset({"NotImplemented", "NotImplementedError", "UnsupportedOperation"})


@dataclass(frozen=True)
class ReplayResult:
    name: str
    archive: str
    start: datetime
    end: datetime
    state: str
    reason: str | None


_AGO = re.compile(r"^-?(?P<count>[0-9]+)\s*(?P<unit>[smhd])(\s+ago)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(value: str) -> datetime:
    """ISO 8601 (``2026-11-23T10:00``, ``...Z``, ``...+01:00``), ``now``, or a time ago:
    ``30m``, ``2h``, ``1d`` (also ``-30m``, ``30m ago``)."""
    text = value.strip().lower()
    if text == "now":
        return datetime.now(UTC)
    ago = _AGO.match(text)
    if ago:
        seconds = int(ago["count"]) * _UNITS[ago["unit"]]
        return datetime.fromtimestamp(time.time() - seconds, UTC)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"cannot read time {value!r}: use ISO 8601, now, or a time ago such as 30m, 2h, 1d"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _unsupported(target: Target, error: Exception) -> CliError:
    return CliError(
        f"the {target.describe()} does not support EventBridge archive replay ({error}); "
        "on this backend, re-publish the events instead (`mediactl publish`)"
    )


def archive_for(target: Target, name: str | None = None) -> str:
    try:
        archives = target.events.list_archives(EventSourceArn=target.bus_arn)["Archives"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in UNSUPPORTED:
            raise _unsupported(target, error) from error
        raise CliError(f"cannot list the archives of {target.bus_name}: {error}") from error
    names = [a["ArchiveName"] for a in archives if "ArchiveName" in a]
    if name is not None:
        if name not in names:
            raise CliError(f"no archive {name!r} on {target.bus_name}; archives: {names or 'none'}")
        return name
    if not names:
        raise CliError(f"the bus {target.bus_name} has no archive to replay from")
    if len(names) > 1:
        raise CliError(f"several archives on {target.bus_name} ({', '.join(names)}): pick one")
    return names[0]


UPLOADS_ARCHIVE_PARAMETER = "platform/archives/uploads/name"


def replay(
    target: Target,
    start: datetime,
    end: datetime,
    *,
    archive: str | None = None,
    uploads: bool = False,
    wait: float = 0.0,
) -> ReplayResult:
    """Start replaying ``[start, end)`` of the archive onto the bus; wait up to ``wait`` seconds.

    ``uploads``: the uploads archive (the platform's ``archives/uploads/name``), onto the
    default bus, instead of the media bus's archive.
    """
    if start >= end:
        raise CliError(f"--from {start.isoformat()} is not before --to {end.isoformat()}")
    if uploads and archive is not None:
        raise CliError("--uploads names its archive: give --archive or --uploads, not both")
    if end > datetime.now(UTC):
        end = datetime.now(UTC)
    chosen = (
        target.parameter(UPLOADS_ARCHIVE_PARAMETER) if uploads else archive_for(target, archive)
    )
    events = target.events
    try:
        archived = events.describe_archive(ArchiveName=chosen)
        name = f"mediactl-{datetime.now(UTC):%Y%m%dT%H%M%S}"
        events.start_replay(
            ReplayName=name,
            EventSourceArn=archived["ArchiveArn"],
            EventStartTime=start,
            EventEndTime=end,
            # A replay goes back to the bus the archive keeps (EventBridge allows no other).
            Destination={"Arn": archived.get("EventSourceArn") or target.bus_arn},
        )
        state, reason = "STARTING", None
        deadline = time.monotonic() + wait
        while True:
            described = events.describe_replay(ReplayName=name)
            state, reason = described.get("State", "?"), described.get("StateReason")
            if state in TERMINAL_STATES or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in UNSUPPORTED:
            raise _unsupported(target, error) from error
        raise CliError(f"replay from {chosen} failed: {error}") from error
    except BotoCoreError as error:
        raise CliError(f"replay from {chosen} failed: {error}") from error
    return ReplayResult(name, chosen, start, end, state, reason)
