"""Every event published through EventPublisher during a test session (filled by conftest.py)."""

from __future__ import annotations

from typing import Any

PUBLISHED: list[dict[str, Any]] = []
