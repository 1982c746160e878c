"""Consumers' EventBridge rules, read from the Terraform that deploys them, against the schemas."""

from __future__ import annotations

import ast
import copy
import json
import re

import pytest

from media_shared import SchemaCatalog, UnknownSchemaError
from media_shared.schemas import parse_version
from tests.support.events import REPO
from tools.compat import fields
from tools.patterns import Rule, field_paths, load_rules, matches

CATALOG = SchemaCatalog(REPO / "schemas")
RULES = load_rules(REPO)
MEDIA_RULES = [rule for rule in RULES if rule.on_media_bus]


def _kebab(event: str) -> str:
    """``AssetIngested`` -> ``asset-ingested``: the name of the rule file that consumes it."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", event).lower()


#: The events of the catalog, by the name of the rule file that consumes one (one file per event).
EVENT_OF_RULE_FILE = {_kebab(schema.name): schema.name for schema in CATALOG}
#: What each consumer consumes, from the names of its rule files (the skeleton's convention:
#: ``services/<name>/infra/rules/<event-in-kebab-case>.json``, one per consumed event), so a
#: service added by ``make new-service`` is checked like the four.
CONSUMES: dict[str, set[str]] = {}
for _rule in MEDIA_RULES:
    CONSUMES.setdefault(_rule.service, set()).add(EVENT_OF_RULE_FILE.get(_rule.name, _rule.name))


def _declared_consumes(service: str) -> set[str] | None:
    """The events a service's logic module declares as ``CONSUMES = (...)``, if it does."""
    package = service.replace("-", "_")
    logic = REPO / "services" / service / package / "logic.py"
    if not logic.is_file():
        return None
    for node in ast.walk(ast.parse(logic.read_text(encoding="utf-8"))):
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else node.targets[0]
            if isinstance(node, ast.Assign) and len(node.targets) == 1
            else None
        )
        if isinstance(target, ast.Name) and target.id == "CONSUMES" and node.value is not None:
            value = ast.literal_eval(node.value)
            return {value} if isinstance(value, str) else set(value)
    return None


pytestmark = pytest.mark.skipif(not RULES, reason="no services/*/infra/rules/*.json yet")


def _id(rule: Rule) -> str:
    return f"{rule.service}/{rule.name}"


def _schemas_for(rule: Rule) -> list[tuple[str, int]]:
    """(event, major) pairs a rule claims: its detail-types at every major its pattern admits."""
    claimed = []
    for name in rule.detail_types:
        for schema in CATALOG:
            if schema.name != name:
                continue
            probe = {"detail": {"metadata": {"schema_version": f"{schema.major}.0"}}}
            version_filter = rule.pattern.get("detail", {}).get("metadata", {})
            if "schema_version" in version_filter and not matches(
                version_filter, probe["detail"]["metadata"]
            ):
                continue
            claimed.append((schema.name, schema.major))
    return claimed


def test_every_service_root_reads_its_rules_from_the_rule_files() -> None:
    for rule in RULES:
        root = rule.path.parents[1]
        terraform = "".join(p.read_text(encoding="utf-8") for p in root.glob("*.tf"))
        assert "rules" in terraform, f"{root} does not name its rules/ folder"
        assert "file(" in terraform, f"{root} does not read files: the contract checks a copy"


def test_the_four_services_consumers_are_found_from_their_rule_files() -> None:
    # The derivation finds what the pipeline is built on (a new service adds to it).
    pipeline = {
        "thumbnailer": {"AssetIngested"},
        "metadata-extractor": {"AssetIngested"},
        "indexer": {
            "AssetIngested",
            "AssetRejected",
            "ThumbnailsGenerated",
            "MetadataExtracted",
            "ProcessingFailed",
        },
    }
    assert {service: CONSUMES.get(service) for service in pipeline} == pipeline


@pytest.mark.parametrize("rule", MEDIA_RULES, ids=_id)
def test_each_rule_file_is_named_after_the_one_event_of_the_catalog_it_consumes(
    rule: Rule,
) -> None:
    assert rule.name in EVENT_OF_RULE_FILE, (
        f"{_id(rule)}: a rule file is named after the event it consumes "
        f"({', '.join(sorted(EVENT_OF_RULE_FILE))})"
    )
    assert rule.detail_types == [EVENT_OF_RULE_FILE[rule.name]], _id(rule)


@pytest.mark.parametrize("service", sorted(CONSUMES))
def test_each_consumer_has_rules_for_what_it_consumes(service: str) -> None:
    claimed = {
        name for rule in MEDIA_RULES if rule.service == service for name in rule.detail_types
    }
    assert claimed == CONSUMES[service]
    # and, where its logic declares what it consumes (the skeleton's CONSUMES), exactly that
    declared = _declared_consumes(service)
    if declared is not None:
        assert claimed == declared, f"{service}'s rules consume {claimed}, its logic {declared}"


@pytest.mark.parametrize("rule", MEDIA_RULES, ids=_id)
def test_rule_claims_only_events_that_have_schemas(rule: Rule) -> None:
    assert rule.detail_types, f"{_id(rule)} does not filter on detail-type"
    for name in rule.detail_types:
        try:
            CATALOG.latest(name)
        except UnknownSchemaError:
            pytest.fail(f"{_id(rule)} consumes {name}, which has no schema")
    assert _schemas_for(rule), f"{_id(rule)} admits no major version of what it consumes"


@pytest.mark.parametrize("rule", MEDIA_RULES, ids=_id)
def test_rule_matches_every_valid_example_of_what_it_consumes(rule: Rule) -> None:
    for name, major in _schemas_for(rule):
        schema = CATALOG.get(name, major)
        for path in schema.examples("valid"):
            event = json.loads(path.read_text(encoding="utf-8"))
            assert matches(rule.pattern, event), f"{_id(rule)} misses {path.relative_to(REPO)}"


@pytest.mark.parametrize("rule", MEDIA_RULES, ids=_id)
def test_rule_names_only_fields_that_exist_in_the_schema(rule: Rule) -> None:
    for name, major in _schemas_for(rule):
        known = fields(CATALOG.get(name, major).document)
        for path in field_paths(rule.pattern):
            assert path in known, f"{_id(rule)} filters on {path}, which {name}-v{major} lacks"


@pytest.mark.parametrize("rule", MEDIA_RULES, ids=_id)
def test_rule_filters_on_the_major_version(rule: Rule) -> None:
    for name, major in _schemas_for(rule):
        schema = CATALOG.get(name, major)
        event = json.loads(schema.examples("valid")[0].read_text(encoding="utf-8"))
        next_major = copy.deepcopy(event)
        next_major["detail"]["metadata"]["schema_version"] = f"{major + 1}.0"

        assert parse_version(event["detail"]["metadata"]["schema_version"])[0] == major
        assert not matches(rule.pattern, next_major), (
            f"{_id(rule)} would deliver {name} v{major + 1} to a v{major} consumer"
        )
