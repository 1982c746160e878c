"""The deployed topology, read back through the AWS APIs after the real Terraform was applied.

The session's local stack (conftest.local_stack, shared with the end-to-end tests): moto on
loopback, infra/platform and the four service roots applied exactly as ``make up`` applies them.
Every assertion reads what AWS (here moto) reports, not the Terraform source: rule -> queue ->
DLQ, queue -> mapping -> function, the functions' environment, least-privilege roles, the SSM
parameters service roots discover each
other by; and that a service deploy touches that service only.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.stack import Pipeline
from tools.package import REPO, declared_default, service_names, variable_default

pytestmark = [pytest.mark.infra, pytest.mark.e2e]

SERVICES = service_names()
ENVIRONMENT = "local"
# Which platform bucket each service's function is told about (the environment variable it reads).
BUCKET_VARIABLES = {
    "ingest": {"UPLOADS_BUCKET": "uploads", "ORIGINALS_BUCKET": "originals"},
    "thumbnailer": {"ORIGINALS_BUCKET": "originals", "DERIVED_BUCKET": "derived"},
    "metadata-extractor": {"ORIGINALS_BUCKET": "originals"},
    "indexer": {},
}
# The bucket layout of the design: what each service may touch, as bucket + key prefix.
S3_SCOPE = {
    "ingest": [("uploads", ""), ("originals", "originals/"), ("originals", "quarantine/")],
    "thumbnailer": [("originals", "originals/"), ("derived", "thumbnails/")],
    "metadata-extractor": [("originals", "originals/")],
    "indexer": [],
}
# The only actions AWS offers no resource-level permission for, so "*" is their sole resource.
RESOURCELESS_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
S3_WRITES = ("s3:PutObject",)
TABLE_WRITES = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)


def name_of(service: str) -> str:
    return f"media-{ENVIRONMENT}-{service}"


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def condition_values(self, key: str) -> list[str]:
        """Every value any condition operator tests ``key`` against."""
        values: list[str] = []
        for tests in self.conditions.values():
            if key in tests:
                values.extend(_listed(tests[key]))
        return values

    def allows(self, action: str, resource: str) -> bool:
        return (
            self.effect == "Allow"
            and any(fnmatch.fnmatchcase(action, pattern) for pattern in self.actions)
            and any(fnmatch.fnmatchcase(resource, pattern) for pattern in self.resources)
        )


def _listed(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _document(raw: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    parsed: dict[str, Any] = json.loads(urllib.parse.unquote(raw))
    return parsed


def role_statements(stack: Pipeline, role: str) -> list[Statement]:
    """Every statement of the role's inline and attached policies."""
    iam = stack.client("iam")
    documents = [
        _document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )
        documents.append(_document(version["PolicyVersion"]["Document"]))
    statements = []
    for document in documents:
        raw = document["Statement"]
        for item in [raw] if isinstance(raw, dict) else raw:
            assert "NotAction" not in item, item
            assert "NotResource" not in item, item
            statements.append(
                Statement(
                    item["Effect"],
                    _listed(item["Action"]),
                    _listed(item["Resource"]),
                    item.get("Condition", {}),
                )
            )
    return statements


@pytest.fixture(scope="module")
def platform(local_stack: Pipeline) -> dict[str, str]:
    """The platform's published names and ARNs, read from SSM."""
    keys = ["event-bus-name", "event-bus-arn"] + [
        f"buckets/{bucket}/{attribute}"
        for bucket in ("uploads", "originals", "derived")
        for attribute in ("name", "arn")
    ]
    return {key: local_stack.parameter(f"platform/{key}") for key in keys}


@pytest.fixture(scope="module")
def functions(local_stack: Pipeline) -> dict[str, dict[str, Any]]:
    client = local_stack.client("lambda")
    return {
        service: client.get_function_configuration(FunctionName=name_of(service))
        for service in SERVICES
    }


@pytest.fixture(scope="module")
def queues(local_stack: Pipeline) -> dict[str, dict[str, dict[str, str]]]:
    """Per service: the attributes of its queue ("queue") and of its DLQ ("dlq")."""
    sqs = local_stack.client("sqs")

    def attributes(name: str) -> dict[str, str]:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        found: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
            "Attributes"
        ]
        return {**found, "QueueUrl": url}

    return {
        service: {
            "queue": attributes(name_of(service)),
            "dlq": attributes(f"{name_of(service)}-dlq"),
        }
        for service in SERVICES
    }


def rules_targeting(stack: Pipeline, arn: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(bus, rule) for every rule, on the media bus or the default bus, with a target ``arn``."""
    events = stack.client("events")
    for bus in ("default", f"media-{ENVIRONMENT}"):
        for rule in events.list_rules(EventBusName=bus)["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
            if any(target["Arn"] == arn for target in targets):
                yield bus, rule


# --- the stack came up ---------------------------------------------------------------------


def test_every_root_was_applied_and_counted(local_stack: Pipeline) -> None:
    for root in ["platform", *SERVICES]:
        state = local_stack.state(root)
        managed = [r for r in state["resources"] if r["mode"] == "managed"]
        assert managed, f"{root}: no managed resources in its state"
        assert root in local_stack.up_output


def test_the_platform_publishes_its_parameters(platform: dict[str, str]) -> None:
    assert platform["event-bus-name"] == f"media-{ENVIRONMENT}"
    assert platform["event-bus-arn"].endswith(f":event-bus/media-{ENVIRONMENT}")
    for bucket in ("uploads", "originals", "derived"):
        name = platform[f"buckets/{bucket}/name"]
        assert name.startswith(f"media-{ENVIRONMENT}-")
        assert name.endswith(f"-{bucket}")
        assert platform[f"buckets/{bucket}/arn"] == f"arn:aws:s3:::{name}"


def test_the_indexer_publishes_its_table(local_stack: Pipeline) -> None:
    name = local_stack.parameter("indexer/index-table/name")
    arn = local_stack.parameter("indexer/index-table/arn")
    table = local_stack.client("dynamodb").describe_table(TableName=name)["Table"]
    assert table["TableArn"] == arn


def test_the_buckets_exist_and_uploads_are_versioned(
    local_stack: Pipeline, platform: dict[str, str]
) -> None:
    s3 = local_stack.client("s3")
    for bucket in ("uploads", "originals", "derived"):
        s3.head_bucket(Bucket=platform[f"buckets/{bucket}/name"])
    versioning = s3.get_bucket_versioning(Bucket=platform["buckets/uploads/name"])
    assert versioning.get("Status") == "Enabled"


# --- rule -> queue -> DLQ ------------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_rules_deliver_to_its_queue_only(
    service: str, local_stack: Pipeline, queues: dict[str, Any]
) -> None:
    queue_arn = queues[service]["queue"]["QueueArn"]
    found = list(rules_targeting(local_stack, queue_arn))
    expected = {
        f"{name_of(service)}-{path.stem}"
        for path in (REPO / "services" / service / "infra" / "rules").glob("*.json")
    }
    assert {rule["Name"] for _, rule in found} == expected
    events = local_stack.client("events")
    for bus, rule in found:
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        assert [target["Arn"] for target in targets] == [queue_arn]
        assert rule["State"] == "ENABLED"


@pytest.mark.parametrize("service", [s for s in SERVICES if s != "ingest"])
def test_media_bus_rules_are_the_pattern_files(service: str, local_stack: Pipeline) -> None:
    # The contract tests check the pattern files against the schemas; this checks they are deployed.
    events = local_stack.client("events")
    for path in sorted((REPO / "services" / service / "infra" / "rules").glob("*.json")):
        rule = events.describe_rule(
            Name=f"{name_of(service)}-{path.stem}", EventBusName=f"media-{ENVIRONMENT}"
        )
        assert json.loads(rule["EventPattern"]) == json.loads(path.read_text(encoding="utf-8"))


def test_ingest_listens_to_the_uploads_bucket_only(
    local_stack: Pipeline, queues: dict[str, Any], platform: dict[str, str]
) -> None:
    # given ingest writes to the originals bucket, a rule on any other bucket would loop
    for bus, rule in rules_targeting(local_stack, queues["ingest"]["queue"]["QueueArn"]):
        pattern = json.loads(rule["EventPattern"])
        assert bus == "default", "S3 sends its notifications to the default bus"
        assert pattern["source"] == ["aws.s3"]
        assert pattern["detail"]["bucket"]["name"] == [platform["buckets/uploads/name"]]


@pytest.mark.parametrize("service", SERVICES)
def test_the_queue_parks_failures_in_its_own_dlq(
    service: str, queues: dict[str, Any], functions: dict[str, Any]
) -> None:
    queue, dlq = queues[service]["queue"], queues[service]["dlq"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert 1 <= int(redrive["maxReceiveCount"]) <= 10
    # Lambda refuses a mapping whose queue hides messages for less than the function may run.
    assert int(queue["VisibilityTimeout"]) >= functions[service]["Timeout"]
    assert "RedrivePolicy" not in dlq, "a DLQ is the end of the line"


# --- queue -> mapping -> function ------------------------------------------------------------


@pytest.mark.parametrize("service", SERVICES)
def test_the_queue_feeds_the_function_with_partial_batch_failures(
    service: str, local_stack: Pipeline, queues: dict[str, Any], functions: dict[str, Any]
) -> None:
    mappings = local_stack.client("lambda").list_event_source_mappings(
        FunctionName=functions[service]["FunctionArn"]
    )["EventSourceMappings"]
    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping["EventSourceArn"] == queues[service]["queue"]["QueueArn"]
    assert mapping["FunctionArn"] == functions[service]["FunctionArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    declared = declared_default(REPO / "services" / service / "infra", "batch_size")
    assert mapping["BatchSize"] == int(declared or 10)


@pytest.mark.parametrize("service", SERVICES)
def test_the_function_runs_the_packaged_handler(service: str, functions: dict[str, Any]) -> None:
    function = functions[service]
    assert function["Handler"] == f"{service.replace('-', '_')}.handler.lambda_handler"
    assert function["Runtime"] == "python3.12"
    declared = variable_default(REPO / "services" / service / "infra", "architecture")
    assert function["Architectures"] == [declared or "x86_64"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_function_environment_names_its_bus_buckets_and_dlq(
    service: str,
    local_stack: Pipeline,
    functions: dict[str, Any],
    platform: dict[str, str],
    queues: dict[str, Any],
) -> None:
    variables = functions[service]["Environment"]["Variables"]
    assert variables["EVENT_BUS_NAME"] == platform["event-bus-name"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == service
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "MediaPipeline"
    assert variables["DLQ_URL"] == queues[service]["dlq"]["QueueUrl"]
    for variable, bucket in BUCKET_VARIABLES[service].items():
        assert variables[variable] == platform[f"buckets/{bucket}/name"]
    told = {k for k in variables if k.endswith("_BUCKET")}
    assert told == set(BUCKET_VARIABLES[service]), "no bucket it has no business with"
    if service == "indexer":
        assert variables["INDEX_TABLE"] == local_stack.parameter("indexer/index-table/name")
    else:
        assert "INDEX_TABLE" not in variables


# --- least privilege ---------------------------------------------------------------------------


def own_resources(
    service: str,
    stack: Pipeline,
    functions: dict[str, Any],
    queues: dict[str, Any],
    platform: dict[str, str],
) -> list[str]:
    """Resource patterns the service may be granted: its own, and its share of the platform."""
    logs = stack.client("logs").describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{name_of(service)}"
    )["logGroups"]
    allowed = [f"{group['arn'].removesuffix(':*')}:*" for group in logs]
    allowed += [queues[service]["queue"]["QueueArn"], queues[service]["dlq"]["QueueArn"]]
    allowed.append(platform["event-bus-arn"])
    dynamodb = stack.client("dynamodb")
    tables = []
    idempotency = functions[service]["Environment"]["Variables"].get("IDEMPOTENCY_TABLE")
    if idempotency:
        tables.append(dynamodb.describe_table(TableName=idempotency)["Table"]["TableArn"])
    if service == "indexer":
        tables.append(stack.parameter("indexer/index-table/arn"))
    allowed += tables + [f"{arn}/index/*" for arn in tables]
    for bucket, prefix in S3_SCOPE[service]:
        arn = platform[f"buckets/{bucket}/arn"]
        allowed.append(f"{arn}/{prefix}*")
    return allowed


@pytest.mark.parametrize("service", SERVICES)
def test_each_role_grants_only_its_own_resources(
    service: str,
    local_stack: Pipeline,
    functions: dict[str, Any],
    queues: dict[str, Any],
    platform: dict[str, str],
) -> None:
    role = functions[service]["Role"].rsplit("/", 1)[-1]
    statements = role_statements(local_stack, role)
    allowed = own_resources(service, local_stack, functions, queues, platform)
    # Listing a bucket (so a HEAD of a missing key answers 404, not 403) is the one grant on a
    # bucket itself, limited by s3:prefix to the service's prefixes unless it may see it all.
    listable: dict[str, list[str]] = {}
    for bucket, prefix in S3_SCOPE[service]:
        listable.setdefault(platform[f"buckets/{bucket}/arn"], []).append(prefix)
    assert statements
    for statement in statements:
        for action in statement.actions:
            assert "*" not in action, f"{service}: wildcard action {action}"
        if statement.effect != "Allow":
            continue
        for resource in statement.resources:
            if resource == "*":
                assert set(statement.actions) <= RESOURCELESS_ACTIONS, statement
                continue
            if resource in listable:
                assert statement.actions == ("s3:ListBucket",), statement
                scope = listable[resource]
                if "" not in scope:
                    prefixes = statement.condition_values("s3:prefix")
                    assert prefixes, f"{service}: lists all of {resource}"
                    assert all(p.startswith(tuple(scope)) for p in prefixes), statement
                continue
            assert resource in allowed, f"{service}: {statement.actions} on {resource}"


def test_no_role_can_write_to_the_uploads_bucket(
    local_stack: Pipeline, functions: dict[str, Any], platform: dict[str, str]
) -> None:
    uploads = platform["buckets/uploads/arn"]
    keys = ["incoming/photo.jpg", "originals/x", "thumbnails/x/256.webp", "x"]
    for service in SERVICES:
        role = functions[service]["Role"].rsplit("/", 1)[-1]
        for statement in role_statements(local_stack, role):
            for action in S3_WRITES:
                for key in keys:
                    assert not statement.allows(action, f"{uploads}/{key}"), (service, statement)


def test_only_the_indexer_can_write_the_index(
    local_stack: Pipeline, functions: dict[str, Any]
) -> None:
    index = local_stack.parameter("indexer/index-table/arn")
    writers = set()
    for service in SERVICES:
        role = functions[service]["Role"].rsplit("/", 1)[-1]
        for statement in role_statements(local_stack, role):
            if any(statement.allows(action, index) for action in TABLE_WRITES):
                writers.add(service)
    assert writers == {"indexer"}


def test_only_the_thumbnailer_writes_thumbnails_and_only_ingest_writes_originals(
    local_stack: Pipeline, functions: dict[str, Any], platform: dict[str, str]
) -> None:
    derived = f"{platform['buckets/derived/arn']}/thumbnails/a/256.webp"
    original = f"{platform['buckets/originals/arn']}/originals/a"
    writers: dict[str, set[str]] = {derived: set(), original: set()}
    for service in SERVICES:
        role = functions[service]["Role"].rsplit("/", 1)[-1]
        for statement in role_statements(local_stack, role):
            for target in writers:
                if statement.allows("s3:PutObject", target):
                    writers[target].add(service)
    assert writers == {derived: {"thumbnailer"}, original: {"ingest"}}


# --- a service deploy touches that service only ---------------------------------------------


def serials(stack: Pipeline) -> dict[str, int]:
    return {root: int(stack.state(root)["serial"]) for root in ["platform", *SERVICES]}


def make(target: str, stack: Pipeline, **variables: str) -> subprocess.CompletedProcess[str]:
    """``make <target> SERVICE=thumbnailer`` against the stack, with extra TF_VAR_s."""
    env = {**stack.env, **{f"TF_VAR_{name}": value for name, value in variables.items()}}
    result = subprocess.run(
        # -o: never let a test re-run `make setup` (the virtualenv is in use)
        ["make", "-o", ".venv/bin/.installed", "-o", ".tools/checkov/.installed", target,
         "SERVICE=thumbnailer"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the local stack" in result.stdout
    return result


@dataclass(frozen=True)
class Change:
    type: str
    actions: list[str]
    #: Known attributes the change sets to a new value (what is only "known after apply", such as
    #: a policy read again at apply time because a dependency is updated, is not counted).
    attributes: dict[str, Any]


def planned_changes(stack: Pipeline) -> dict[str, Change]:
    """Address -> change, for every change in the thumbnailer's last saved plan."""
    path = stack.directory / "terraform" / "plans" / "thumbnailer.plan.json"
    plan = json.loads(path.read_text(encoding="utf-8"))
    changes = {}
    for change in plan["resource_changes"]:
        detail = change["change"]
        if detail["actions"] in (["no-op"], ["read"]):
            continue
        before, after = detail.get("before") or {}, detail.get("after") or {}
        unknown = detail.get("after_unknown") or {}
        attributes = {
            key: after.get(key)
            for key in set(before) | set(after)
            if unknown.get(key) is not True and before.get(key) != after.get(key)
        }
        changes[change["address"]] = Change(change["type"], detail["actions"], attributes)
    return changes


def test_deploying_the_thumbnailer_changes_only_the_thumbnailer(
    local_stack: Pipeline,
) -> None:
    # Runs last in this module: it changes the stack the other tests read. The stack is the
    # session's: the original configuration is deployed back afterwards, whatever happened.
    try:
        _deploy_a_changed_thumbnailer(local_stack)
    finally:
        make("deploy", local_stack)


def _deploy_a_changed_thumbnailer(local_stack: Pipeline) -> None:
    lam = local_stack.client("lambda")
    before = serials(local_stack)
    others_before = {
        s: lam.get_function_configuration(FunctionName=name_of(s))
        for s in SERVICES
        if s != "thumbnailer"
    }
    # given what a plan without any change reports: nothing, locally as on AWS (plain moto
    # dropped a queue's policy when its redrive policy was set; the local server keeps it)
    make("plan", local_stack)
    baseline = planned_changes(local_stack)
    assert baseline == {}, f"a plan of the unchanged thumbnailer is not empty: {baseline}"
    # when a change to the thumbnailer's configuration only is deployed, the way a team does it
    make("deploy", local_stack, memory_size="2048", thumbnail_quality="70")
    changed = planned_changes(local_stack)
    # then everything is updated in place: nothing created, replaced or destroyed
    assert {tuple(change.actions) for change in changed.values()} == {("update",)}, changed
    # and the function takes the new settings
    (function_address,) = [a for a, c in changed.items() if c.type == "aws_lambda_function"]
    settings = changed[function_address].attributes
    assert settings["memory_size"] == 2048
    assert settings["environment"][0]["variables"]["THUMBNAIL_QUALITY"] == "70"
    # and nothing else changes that did not already differ without the change
    for address, change in changed.items():
        if address != function_address and change.attributes:
            assert address in baseline, f"{address} changed: {change.attributes}"
            assert change.attributes == baseline[address].attributes, address
    # and the function runs with the new settings
    function = lam.get_function_configuration(FunctionName=name_of("thumbnailer"))
    assert function["MemorySize"] == 2048
    assert function["Environment"]["Variables"]["THUMBNAIL_QUALITY"] == "70"
    # and no other root's state or function moved
    after = serials(local_stack)
    assert after["thumbnailer"] > before["thumbnailer"]
    assert {k: v for k, v in after.items() if k != "thumbnailer"} == {
        k: v for k, v in before.items() if k != "thumbnailer"
    }
    for service, configuration in others_before.items():
        now = lam.get_function_configuration(FunctionName=name_of(service))
        assert now["LastModified"] == configuration["LastModified"], service
        assert now["CodeSha256"] == configuration["CodeSha256"], service
