"""Everything the indexer reads from its environment, read once at cold start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from media_shared import settings as env_names
from media_shared.settings import CommonSettings, integer, required

PUBLISH_LEASE_SECONDS = "PUBLISH_LEASE_SECONDS"
#: Without the variable: the claim outlives a 60 s invocation twice over.
DEFAULT_PUBLISH_LEASE_SECONDS = 120


@dataclass(frozen=True)
class IndexerSettings:
    """Where to publish (common), which table holds the index, and how long a publish claim lasts.

    ``publish_lease_seconds`` must outlast the longest invocation (the function's timeout) and
    be shorter than the queue's visibility timeout; the Terraform root sets it to twice the
    timeout (the visibility timeout is six times it). See ``indexer.logic``.
    """

    common: CommonSettings
    index_table: str
    publish_lease_seconds: int = DEFAULT_PUBLISH_LEASE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IndexerSettings:
        source = os.environ if env is None else env
        return cls(
            common=CommonSettings.from_env(source),
            index_table=required(env_names.INDEX_TABLE, source),
            publish_lease_seconds=integer(
                PUBLISH_LEASE_SECONDS, DEFAULT_PUBLISH_LEASE_SECONDS, source, minimum=1
            ),
        )
