"""The indexer's settings."""

from __future__ import annotations

import pytest

from indexer.settings import IndexerSettings
from media_shared import ConfigurationError

BASE = {"POWERTOOLS_SERVICE_NAME": "indexer", "EVENT_BUS_NAME": "media-dev-bus"}


def test_the_index_table_is_read_from_the_environment() -> None:
    settings = IndexerSettings.from_env({**BASE, "INDEX_TABLE": "media-dev-asset-index"})
    assert settings.index_table == "media-dev-asset-index"
    assert settings.common.service == "indexer"


def test_without_an_index_table_the_cold_start_fails_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="INDEX_TABLE"):
        IndexerSettings.from_env(BASE)
