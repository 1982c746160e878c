"""Every environment variable the services read, named once, read in one place.

An explicit argument beats the environment, which beats the default; a missing required value
raises ConfigurationError at cold start, not in the middle of a batch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from media_shared.exceptions import ConfigurationError

# Common to every service.
EVENT_BUS_NAME = "EVENT_BUS_NAME"
SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
DLQ_URL = "DLQ_URL"
IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
SCHEMAS_DIR = "MEDIA_SCHEMAS_DIR"
# Buckets and tables, each read only by the services that use them.
UPLOADS_BUCKET = "UPLOADS_BUCKET"
ORIGINALS_BUCKET = "ORIGINALS_BUCKET"
DERIVED_BUCKET = "DERIVED_BUCKET"
INDEX_TABLE = "INDEX_TABLE"


def _lookup(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value if value else None


def required(name: str, env: Mapping[str, str] | None = None) -> str:
    """The value of a required variable, or ConfigurationError naming it."""
    value = _lookup(os.environ if env is None else env, name)
    if value is None:
        raise ConfigurationError(f"environment variable {name} is required and not set")
    return value


def optional(name: str, default: str, env: Mapping[str, str] | None = None) -> str:
    value = _lookup(os.environ if env is None else env, name)
    return default if value is None else value


def integer(
    name: str, default: int, env: Mapping[str, str] | None = None, *, minimum: int = 0
) -> int:
    raw = optional(name, str(default), env)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def boolean(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    raw = optional(name, "true" if default else "false", env).strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def integer_list(
    name: str, default: tuple[int, ...], env: Mapping[str, str] | None = None
) -> tuple[int, ...]:
    raw = optional(name, ",".join(str(v) for v in default), env)
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be comma-separated integers, got {raw!r}") from None
    if not values or any(v <= 0 for v in values):
        raise ConfigurationError(f"{name} must list positive integers, got {raw!r}")
    return values


def default_schemas_dir() -> Path:
    """Where the JSON Schemas are: packaged beside this library in a Lambda, else the repo's."""
    packaged = Path(__file__).resolve().parent / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class CommonSettings:
    """What every service needs: where to publish, where to park, who it is."""

    service: str
    event_bus_name: str
    dlq_url: str | None = None
    schemas_dir: Path = field(default_factory=default_schemas_dir)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CommonSettings:
        source = os.environ if env is None else env
        schemas = _lookup(source, SCHEMAS_DIR)
        return cls(
            service=required(SERVICE_NAME, source),
            event_bus_name=required(EVENT_BUS_NAME, source),
            dlq_url=_lookup(source, DLQ_URL),
            schemas_dir=Path(schemas) if schemas else default_schemas_dir(),
        )
