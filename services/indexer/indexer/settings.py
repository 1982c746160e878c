"""Everything the indexer reads from its environment, read once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from media_shared import settings as env_names
from media_shared.settings import CommonSettings, required


@dataclass(frozen=True)
class IndexerSettings:
    """Where to publish (common) and which table holds the index."""

    common: CommonSettings
    index_table: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IndexerSettings:
        source = os.environ if env is None else env
        return cls(
            common=CommonSettings.from_env(source),
            index_table=required(env_names.INDEX_TABLE, source),
        )
