"""The indexer's settings."""

from __future__ import annotations

from typing import Any

import pytest

from indexer.settings import IndexerSettings
from media_shared import ConfigurationError
from tests.support.aws import handler_loader, lambda_env

BASE = {"POWERTOOLS_SERVICE_NAME": "indexer", "EVENT_BUS_NAME": "media-dev-bus"}


def test_the_index_table_is_read_from_the_environment() -> None:
    settings = IndexerSettings.from_env({**BASE, "INDEX_TABLE": "media-dev-asset-index"})
    assert settings.index_table == "media-dev-asset-index"
    assert settings.common.service == "indexer"


def test_without_an_index_table_the_cold_start_fails_naming_it() -> None:
    with pytest.raises(ConfigurationError, match="INDEX_TABLE"):
        IndexerSettings.from_env(BASE)


def test_the_publish_lease_comes_from_the_environment_else_120_s() -> None:
    table = {**BASE, "INDEX_TABLE": "t"}
    assert IndexerSettings.from_env(table).publish_lease_seconds == 120
    assert (
        IndexerSettings.from_env({**table, "PUBLISH_LEASE_SECONDS": "60"}).publish_lease_seconds
        == 60
    )
    with pytest.raises(ConfigurationError, match="PUBLISH_LEASE_SECONDS"):
        IndexerSettings.from_env({**table, "PUBLISH_LEASE_SECONDS": "0"})


def test_the_handler_holds_claims_for_the_configured_lease(
    monkeypatch: pytest.MonkeyPatch, aws: Any
) -> None:
    env = lambda_env(aws, INDEX_TABLE=aws.table, PUBLISH_LEASE_SECONDS="60")
    handler = handler_loader(monkeypatch, "indexer.handler", env)()
    assert handler.indexer.lease_seconds == 60
