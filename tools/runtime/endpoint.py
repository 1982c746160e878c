"""The local stack's endpoint, as ``make up`` records it in ``.local/moto.json``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REGION = "us-east-1"


def stack_dir() -> Path:
    """Where the local stack keeps its files: ``$MEDIA_STACK_DIR``, else ``.local/``."""
    configured = os.environ.get("MEDIA_STACK_DIR")
    return Path(configured).resolve() if configured else REPO / ".local"


@dataclass(frozen=True)
class LocalStack:
    endpoint: str
    region: str
    pid: int | None
    path: Path

    @property
    def running(self) -> bool:
        """Whether the recorded server process still exists (True when no pid was recorded)."""
        if self.pid is None:
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def read_local_stack(path: Path | None = None) -> LocalStack | None:
    """What ``make up`` recorded, or None when there is no local stack file."""
    path = path if path is not None else stack_dir() / "moto.json"
    if not path.is_file():
        return None
    state = json.loads(path.read_text(encoding="utf-8"))
    endpoint = state.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise ValueError(f"{path} names no endpoint")
    pid = state.get("pid")
    return LocalStack(
        endpoint=endpoint,
        region=str(state.get("region") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION),
        pid=int(pid) if isinstance(pid, int | str) and str(pid).isdigit() else None,
        path=path,
    )
