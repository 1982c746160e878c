"""The deploy gate's comparison (tools.contracts): pure, on contracts built in the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from tools.contracts import (
    Contract,
    ContractError,
    Produced,
    candidate,
    check,
    deployed,
    produced_by,
)

REPO = Path(__file__).resolve().parents[2]
SERVICES = ["indexer", "ingest", "metadata-extractor", "thumbnailer"]


def _rule(source: Any, event: str, major: int | None = 1) -> dict[str, Any]:
    pattern: dict[str, Any] = {"source": [source], "detail-type": [event]}
    if major is not None:
        pattern["detail"] = {"metadata": {"schema_version": [{"prefix": f"{major}."}]}}
    return pattern


def _contract(service: str, produces: list[str], **rules: dict[str, Any]) -> Contract:
    return Contract.from_record({"service": service, "produces": produces, "consumes": rules})


@pytest.fixture
def environment() -> dict[str, Contract]:
    """What the repository deploys today, as recorded contracts."""
    return {service: candidate(service, REPO) for service in SERVICES}


def test_the_candidate_is_read_from_the_schemas_the_service_owns_and_its_rule_files() -> None:
    thumbnailer = candidate("thumbnailer", REPO)
    assert thumbnailer.produces == {
        Produced("ThumbnailsGenerated", 1),
        Produced("ProcessingFailed", 1),
    }
    assert set(thumbnailer.consumes) == {"asset-ingested"}
    assert produced_by("ingest", REPO) >= {
        Produced("AssetIngested", 1),
        Produced("AssetRejected", 1),
    }
    with pytest.raises(ContractError, match="no service 'nope'"):
        candidate("nope", REPO)


def test_the_repository_as_it_is_can_be_deployed_service_by_service(
    environment: dict[str, Contract],
) -> None:
    for service in SERVICES:
        assert check([environment[service]], environment) == [], service


def test_a_producer_that_drops_a_major_a_deployed_consumer_reads_is_refused(
    environment: dict[str, Contract],
) -> None:
    # Given the thumbnailer's candidate that publishes ThumbnailsGenerated v2 only
    v2_only = _contract(
        "thumbnailer",
        ["ThumbnailsGenerated/v2", "ProcessingFailed/v1"],
        **environment["thumbnailer"].consumes,
    )
    # When the gate compares it with the environment, where the indexer consumes v1
    refusals = check([v2_only], environment)
    # Then it refuses, naming the consumer, its rule, the event and the version
    assert [(r.consumer, r.rule, str(r.wanted)) for r in refusals] == [
        ("indexer", "thumbnails-generated", "ThumbnailsGenerated v1")
    ]
    assert "indexer (deployed)" in str(refusals[0])
    assert "thumbnailer would stop publishing ThumbnailsGenerated v1" in str(refusals[0])


def test_a_producer_that_publishes_the_old_and_the_new_major_side_by_side_is_allowed(
    environment: dict[str, Contract],
) -> None:
    both = _contract(
        "thumbnailer",
        ["ThumbnailsGenerated/v1", "ThumbnailsGenerated/v2", "ProcessingFailed/v1"],
        **environment["thumbnailer"].consumes,
    )
    assert check([both], environment) == []


def test_a_consumer_of_a_major_nobody_produces_is_refused(
    environment: dict[str, Contract],
) -> None:
    # Given the indexer moved to ThumbnailsGenerated v2 while the thumbnailer publishes v1
    moved = dict(environment["indexer"].consumes)
    moved["thumbnails-generated"] = _rule("media.thumbnailer", "ThumbnailsGenerated", 2)
    indexer = _contract("indexer", ["AssetIndexed/v1", "ProcessingFailed/v1"], **moved)
    refusals = check([indexer], environment)
    assert [str(r) for r in refusals] == [
        "indexer would consume ThumbnailsGenerated v2 through its rule 'thumbnails-generated', "
        "which nobody in the environment produces"
    ]
    # ... and the two deployed together (the producer's v2 with the consumer's move) are allowed
    producer = _contract(
        "thumbnailer",
        ["ThumbnailsGenerated/v2", "ProcessingFailed/v1"],
        **environment["thumbnailer"].consumes,
    )
    assert check([indexer, producer], environment) == []


def test_the_rule_must_name_the_producer_it_hears_from() -> None:
    # Given a consumer whose rule listens to media.alpha only, while media.beta publishes it
    recorded = {
        "beta": _contract("beta", ["ThingDone/v1"]),
        "gamma": _contract("gamma", [], things=_rule("media.alpha", "ThingDone")),
    }
    gamma = recorded["gamma"]
    assert [str(r.wanted) for r in check([gamma], recorded)] == ["ThingDone v1"]
    # A prefix on the source takes any producer
    anyone = _contract("gamma", [], things=_rule({"prefix": "media."}, "ThingDone"))
    assert check([anyone], recorded) == []


def test_a_deploy_is_not_blamed_for_a_rule_that_had_no_producer_before() -> None:
    recorded = {
        "alpha": _contract("alpha", ["ThingDone/v1"]),
        "gamma": _contract("gamma", [], orphan=_rule("media.delta", "OtherThing")),
    }
    assert check([_contract("alpha", ["ThingDone/v1", "ThingDone/v2"])], recorded) == []


def test_rules_off_the_media_bus_and_unversioned_rules() -> None:
    # S3's Object Created has no producer among the services: not compared
    s3 = {"source": ["aws.s3"], "detail-type": ["Object Created"]}
    assert check([_contract("ingest", [], uploads=s3)], {}) == []
    # A rule with no version filter wants every major that is published: dropping one strands it
    recorded = {
        "alpha": _contract("alpha", ["ThingDone/v1", "ThingDone/v2"]),
        "gamma": _contract("gamma", [], things=_rule("media.alpha", "ThingDone", None)),
    }
    refusals = check([_contract("alpha", ["ThingDone/v2"])], recorded)
    assert [str(r.wanted) for r in refusals] == ["ThingDone v1"]


def test_a_malformed_record_is_a_clear_error() -> None:
    with pytest.raises(ContractError, match="not a service contract"):
        Contract.from_record({"service": "x", "produces": ["Thing-v1"], "consumes": {}})


def test_the_recorded_contracts_are_read_from_the_environment_parameters(aws: None) -> None:
    # Given contracts recorded as the roots' applies write them, and parameters that are not
    ssm = boto3.client("ssm", region_name="us-east-1")
    record = _contract("alpha", ["ThingDone/v1"], things=_rule("media.beta", "X")).to_record()
    ssm.put_parameter(
        Name="/media-pipeline/dev/alpha/contract", Value=json.dumps(record), Type="String"
    )
    other = {"service": "beta", "produces": [], "consumes": {}}
    ssm.put_parameter(
        Name="/media-pipeline/prod/beta/contract", Value=json.dumps(other), Type="String"
    )
    ssm.put_parameter(Name="/media-pipeline/dev/platform/event-bus-name", Value="b", Type="String")
    # When the gate reads the dev environment
    contracts = deployed(ssm, "dev")  # type: ignore[arg-type]
    # Then it has dev's contract only, as recorded
    assert list(contracts) == ["alpha"]
    assert contracts["alpha"].produces == {Produced("ThingDone", 1)}
    assert contracts["alpha"].consumes == {"things": _rule("media.beta", "X")}
    # And a parameter that is not JSON is named
    ssm.put_parameter(Name="/media-pipeline/dev/beta/contract", Value="{", Type="String")
    with pytest.raises(ContractError, match="/media-pipeline/dev/beta/contract"):
        deployed(ssm, "dev")  # type: ignore[arg-type]
