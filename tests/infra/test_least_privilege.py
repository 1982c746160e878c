"""Least privilege, read from the Terraform plan (JSON) of every root, before anything exists.

``tools.plan_json`` plans the platform and the four service roots against a throwaway moto server
(the platform from empty state; of it only the SSM parameters are applied, which is all a service
root reads; the services are planned, not applied): the plans of a first deploy, the documents a
reviewer approves. Every check below reads the planned values of those plans only.

The checks are plain functions from planned resources to a list of findings (empty when all is
well), so the same functions are fed deliberately bad fragments at the end of this module and must
report them: a check that cannot fail proves nothing.

To iterate without planning each run: ``python -m tools.plan_json --out /tmp/plans`` once, then
``MEDIA_PLAN_JSON=/tmp/plans pytest tests/infra/test_least_privilege.py``.

tests/infra/test_topology.py checks the same roles as deployed (read back from the IAM API);
this module is the gate before the deploy, and also covers bucket, queue and table settings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tools import patterns, plan_json
from tools.package import REPO, service_names

pytestmark = pytest.mark.infra

SERVICES = service_names()
ROOTS = ["platform", *SERVICES]
ENVIRONMENT = "local"
SERVICE_ROLE_PATH = f"/media-pipeline/{ENVIRONMENT}/services/"

# The only Allow statements that may name Resource "*": actions for which AWS offers no narrower
# resource (the Service Authorization Reference lists no resource type for them), each with why
# the functions need it. An action listed here must also be in use, so the table cannot outlive
# the need for it.
RESOURCELESS_ACTIONS = {
    "xray:PutTraceSegments": (
        "Tracer (Lambda tracing mode Active) sends its segments; X-Ray has no resource type to "
        "grant it on"
    ),
    "xray:PutTelemetryRecords": (
        "the X-Ray SDK reports its own telemetry alongside the segments; no resource type either"
    ),
}
# Object writes, any of which (on the uploads bucket) would let a service feed itself its own
# output. s3:PutObject also covers CopyObject and every multipart upload step.
OBJECT_WRITES = (
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionAcl",
    "s3:PutObjectVersionTagging",
    "s3:PutObjectRetention",
    "s3:PutObjectLegalHold",
    "s3:ReplicateObject",
    "s3:RestoreObject",
)
TABLE_WRITES = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
)
# Attributes that hold an IAM policy document, by resource type. Any other attribute whose planned
# value parses as a policy document is found too (see policies()); these are the ones that must
# also be *known* at plan time, since an unknown one hides its statements from every check.
POLICY_ATTRIBUTES = {
    "aws_iam_role": ("assume_role_policy",),
    "aws_iam_role_policy": ("policy",),
    "aws_iam_policy": ("policy",),
    "aws_iam_user_policy": ("policy",),
    "aws_iam_group_policy": ("policy",),
    "aws_s3_bucket_policy": ("policy",),
    "aws_sqs_queue": ("policy",),
    "aws_sqs_queue_policy": ("policy",),
    "aws_sns_topic": ("policy",),
    "aws_sns_topic_policy": ("policy",),
    "aws_cloudwatch_event_bus_policy": ("policy",),
    "aws_dynamodb_resource_policy": ("policy",),
    "aws_kms_key": ("policy",),
}
# Resources that configure a bucket or name a role: the link must be known at plan time too, or
# the checks cannot tell which bucket is protected or whose policy it is.
LINK_ATTRIBUTES = {
    "aws_iam_role_policy": "role",
    "aws_s3_bucket_policy": "bucket",
    "aws_s3_bucket_public_access_block": "bucket",
    "aws_s3_bucket_server_side_encryption_configuration": "bucket",
}
BLOCK_PUBLIC_ACCESS = (
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
)


# --- reading a plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """A managed resource as planned: its values and which of them are known only after apply."""

    root: str
    address: str
    type: str
    values: Mapping[str, Any]
    unknown: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.root}: {self.address}"

    def is_unknown(self, attribute: str) -> bool:
        return self.unknown.get(attribute) is True


def planned_resources(root: str, plan: Mapping[str, Any]) -> list[Resource]:
    """Every managed resource the plan leaves in place or creates (not those it destroys)."""
    resources = []
    for change in plan.get("resource_changes", []):
        detail = change.get("change", {})
        if change.get("mode") != "managed" or detail.get("after") is None:
            continue
        resources.append(
            Resource(
                root,
                change["address"],
                change["type"],
                detail["after"],
                detail.get("after_unknown") or {},
            )
        )
    return resources


def data_values(plan: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    """The values of the first data source of ``type_`` read at plan time (any module)."""
    modules = [plan.get("prior_state", {}).get("values", {}).get("root_module", {})]
    while modules:
        module = modules.pop(0)
        modules.extend(module.get("child_modules", []))
        for resource in module.get("resources", []):
            if resource.get("mode") == "data" and resource.get("type") == type_:
                values: Mapping[str, Any] = resource["values"]
                return values
    raise LookupError(f"no data source {type_} was read when planning")


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    #: "*" for anyone, else principal type -> identifiers; empty in identity policies.
    principals: Mapping[str, tuple[str, ...]] | str
    conditions: Mapping[str, Mapping[str, Any]]
    not_actions: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()

    @property
    def allow(self) -> bool:
        return self.effect == "Allow"

    def grants(self, action: str) -> bool:
        """Whether this Allow statement grants ``action`` (on some resource)."""
        if not self.allow:
            return False
        if self.not_actions:
            return not any(_glob(p, action, True) for p in self.not_actions)
        return any(_glob(p, action, True) for p in self.actions)

    def allows(self, action: str, resource: str) -> bool:
        """Whether this Allow statement grants ``action`` on ``resource`` (conditions aside)."""
        if not self.grants(action):
            return False
        if self.not_resources:
            return not any(_glob(p, resource) for p in self.not_resources)
        return any(_glob(p, resource) for p in self.resources)

    def allows_under(self, action: str, prefix: str) -> bool:
        """Whether it grants ``action`` on some resource whose ARN starts with ``prefix``."""
        if not self.grants(action):
            return False
        if self.not_resources:
            return True  # all but a few resources: assume the prefix is among the rest
        return any(_glob_can_start_with(p, prefix) for p in self.resources)


def _listed(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def statements(document: Mapping[str, Any]) -> list[Statement]:
    raw = document.get("Statement", [])
    found = []
    for item in [raw] if isinstance(raw, dict) else raw:
        principal = item.get("Principal", {})
        principals: Mapping[str, tuple[str, ...]] | str = (
            "*" if principal == "*" else {k: _listed(v) for k, v in principal.items()}
        )
        found.append(
            Statement(
                effect=item.get("Effect", ""),
                actions=_listed(item.get("Action")),
                resources=_listed(item.get("Resource")),
                principals=principals,
                conditions=item.get("Condition", {}),
                not_actions=_listed(item.get("NotAction")),
                not_resources=_listed(item.get("NotResource")),
            )
        )
    return found


@cache
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """IAM's wildcards: ``*`` any run of characters, ``?`` one character; nothing else special."""
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM matching: actions ignore case, ARNs do not."""
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def _glob_can_start_with(pattern: str, prefix: str) -> bool:
    """Whether some value matched by ``pattern`` starts with ``prefix``."""
    states = {0}
    for char in prefix:
        following = set()
        for state in _closure(pattern, states):
            if state == len(pattern):
                continue
            token = pattern[state]
            if token == "*":
                following.add(state)
            elif token == "?" or token == char:
                following.add(state + 1)
        if not following:
            return False
        states = following
    return True


def _closure(pattern: str, states: Iterable[int]) -> set[int]:
    """Pattern positions reachable without consuming a character (a ``*`` may match nothing)."""
    reached = set(states)
    pending = list(reached)
    while pending:
        state = pending.pop()
        if state < len(pattern) and pattern[state] == "*" and state + 1 not in reached:
            reached.add(state + 1)
            pending.append(state + 1)
    return reached


@dataclass(frozen=True)
class Policy:
    """One policy document in the plan; ``document`` is None when it is known only after apply."""

    resource: Resource
    attribute: str
    document: Mapping[str, Any] | None

    @property
    def where(self) -> str:
        return f"{self.resource.where} ({self.attribute})"

    @property
    def is_trust_policy(self) -> bool:
        return self.attribute == "assume_role_policy"

    @property
    def is_identity_policy(self) -> bool:
        """Granted to a principal (a role's inline or managed policy), not a resource's."""
        return self.resource.type in {
            "aws_iam_role_policy",
            "aws_iam_policy",
            "aws_iam_user_policy",
            "aws_iam_group_policy",
        } or (self.resource.type == "aws_iam_role" and self.attribute.startswith("inline_policy"))

    @property
    def statements(self) -> list[Statement]:
        return statements(self.document or {})


def _as_policy_document(value: Any) -> Mapping[str, Any] | None:
    if not isinstance(value, str) or '"Statement"' not in value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and "Statement" in parsed else None


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def policies(resources: Iterable[Resource]) -> list[Policy]:
    """Every policy document of every resource (known or not), wherever it sits in its values."""
    found = []
    for resource in resources:
        for attribute in POLICY_ATTRIBUTES.get(resource.type, ()):
            if resource.is_unknown(attribute):
                found.append(Policy(resource, attribute, None))
        for path, value in _walk(resource.values, ""):
            document = _as_policy_document(value)
            if document is not None:
                found.append(Policy(resource, path, document))
    return found


# --- the checks: each returns what it found wrong ------------------------------------------------


def unknown_at_plan_time(resources: Iterable[Resource]) -> list[str]:
    """Policies and links a plan shows as "(known after apply)": no check could read them."""
    resources = list(resources)
    findings = [
        f"{policy.where}: known only after apply"
        for policy in policies(resources)
        if policy.document is None
    ]
    for resource in resources:
        link = LINK_ATTRIBUTES.get(resource.type)
        if link and resource.is_unknown(link):
            findings.append(f"{resource.where} ({link}): known only after apply")
    return findings


def opaque_grants(resources: Iterable[Resource]) -> list[str]:
    """Permissions a role gets from a managed policy: the plan shows an ARN, not the statements.

    Every role here has inline policies only, so each of its permissions is in the plan; attaching
    e.g. arn:aws:iam::aws:policy/AmazonS3FullAccess would otherwise pass every other check.
    """
    findings = []
    for resource in resources:
        if resource.type in ("aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
            arn = resource.values.get("policy_arn", "(known after apply)")
            findings.append(f"{resource.where}: attaches managed policy {arn}")
        elif resource.type == "aws_iam_role" and resource.values.get("managed_policy_arns"):
            arns = resource.values["managed_policy_arns"]
            findings.append(f"{resource.where}: attaches managed policies {arns}")
    return findings


def wildcard_actions(resources: Iterable[Resource]) -> list[str]:
    """Allow statements granting "*", "service:*", any other wildcard action, or NotAction."""
    findings = []
    for policy in policies(resources):
        for statement in policy.statements:
            if not statement.allow:
                continue
            findings += [
                f"{policy.where}: allows wildcard action {action!r}"
                for action in statement.actions
                if "*" in action or "?" in action
            ]
            if statement.not_actions:
                findings.append(f"{policy.where}: allows NotAction {list(statement.not_actions)}")
    return findings


def _is_any_resource(resource: str) -> bool:
    """ "*", or an ARN naming no particular partition, service, account, or resource of its type
    (``arn:aws:dynamodb:us-east-1:123456789012:table/*`` is every table)."""
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return "*" in resource
    partition, service, _region, account, rest = parts[1:]
    if "*" in partition or "*" in service or "*" in account:
        return True
    if service == "s3":  # bucket[/key]: no resource type in the ARN
        return rest.startswith("*")
    return rest == "*" or re.fullmatch(r"[A-Za-z0-9-]+[/:]\*", rest) is not None


def wildcard_resources(resources: Iterable[Resource]) -> list[str]:
    """Allow statements on any resource, unless every action is one AWS scopes to no resource."""
    findings = []
    for policy in policies(resources):
        if policy.is_trust_policy:
            continue
        for statement in policy.statements:
            if not statement.allow:
                continue
            broad = [r for r in statement.resources if _is_any_resource(r)]
            if statement.not_resources:
                broad.append(f"NotResource {list(statement.not_resources)}")
            if not broad:
                continue
            unjustified = sorted(set(statement.actions) - set(RESOURCELESS_ACTIONS))
            if unjustified or statement.not_actions:
                findings.append(
                    f"{policy.where}: {unjustified or list(statement.not_actions)} on {broad}"
                )
    return findings


def resourceless_actions_in_use(resources: Iterable[Resource]) -> set[str]:
    return {
        action
        for policy in policies(resources)
        for statement in policy.statements
        if statement.allow and "*" in statement.resources
        for action in statement.actions
        if action in RESOURCELESS_ACTIONS
    }


def public_grants(resources: Iterable[Resource]) -> list[str]:
    """Resource policies that allow anyone ("*"), whatever the conditions."""
    findings = []
    for policy in policies(resources):
        for statement in policy.statements:
            if not statement.allow or policy.is_identity_policy:
                continue
            anyone = statement.principals == "*" or any(
                "*" in identifiers
                for identifiers in (
                    statement.principals.values()
                    if isinstance(statement.principals, Mapping)
                    else []
                )
            )
            if anyone:
                findings.append(f"{policy.where}: allows any principal {statement.actions}")
    return findings


def foreign_trust(resources: Iterable[Resource]) -> list[str]:
    """Roles that someone other than the Lambda service may assume, or assume otherwise."""
    findings = []
    for policy in policies(resources):
        if not policy.is_trust_policy or policy.document is None:
            continue
        for statement in policy.statements:
            if not statement.allow:
                continue
            if statement.principals != {"Service": ("lambda.amazonaws.com",)}:
                findings.append(f"{policy.where}: trusts {statement.principals}")
            if statement.actions != ("sts:AssumeRole",) or statement.not_actions:
                findings.append(f"{policy.where}: allows {statement.actions}")
    return findings


def role_policies(resources: Iterable[Resource]) -> dict[str, list[Policy]]:
    """Role name -> its identity policies (inline ones; managed policies are not used here)."""
    resources = list(resources)
    by_role: dict[str, list[Policy]] = {}
    for policy in policies(resources):
        if not policy.is_identity_policy:
            continue
        if policy.resource.type == "aws_iam_role_policy":
            role = policy.resource.values.get("role")
        elif policy.resource.type == "aws_iam_role":
            role = policy.resource.values.get("name")
        else:  # a managed policy: whose it is would need its attachments
            role = f"(unattached {policy.resource.where})"
        by_role.setdefault(str(role), []).append(policy)
    return by_role


def role_paths(resources: Iterable[Resource]) -> dict[str, str]:
    return {
        str(r.values.get("name")): str(r.values.get("path", "/"))
        for r in resources
        if r.type == "aws_iam_role"
    }


def service_roles_writing(resources: Iterable[Resource], bucket_arn: str) -> list[str]:
    """Service roles (IAM path .../services/) allowed any object write in the bucket."""
    resources = list(resources)
    paths = role_paths(resources)
    findings = []
    for role, documents in role_policies(resources).items():
        # Unattached or unknown: assume the worst, it may be a service's.
        if not paths.get(role, SERVICE_ROLE_PATH).startswith(SERVICE_ROLE_PATH):
            continue
        for policy in documents:
            for statement in policy.statements:
                written = [
                    action
                    for action in OBJECT_WRITES
                    if statement.allows_under(action, f"{bucket_arn}/")
                ]
                if written:
                    findings.append(f"{role} ({policy.where}): {written} in {bucket_arn}")
    return findings


def service_roles_not_refused(
    resources: Iterable[Resource], bucket_arn: str, account: str
) -> list[str]:
    """Service roles the bucket's policy does not refuse s3:PutObject (by aws:PrincipalArn)."""
    resources = list(resources)
    partition = bucket_arn.split(":")[1]
    name = bucket_arn.rsplit(":", 1)[-1]
    refusals = [
        statement
        for policy in policies(r for r in resources if r.type == "aws_s3_bucket_policy")
        if policy.resource.values.get("bucket") == name
        for statement in policy.statements
        if statement.effect == "Deny"
        and statement.principals in ("*", {"AWS": ("*",)})
        and any(_glob(a, "s3:PutObject", True) for a in statement.actions)
        and any(_glob(r, f"{bucket_arn}/incoming/photo.jpg") for r in statement.resources)
    ]
    findings = []
    for role in (r for r in resources if r.type == "aws_iam_role"):
        path = str(role.values.get("path", "/"))
        if not path.startswith(SERVICE_ROLE_PATH):
            continue
        arn = f"arn:{partition}:iam::{account}:role{path}{role.values.get('name')}"
        refused = any(
            _glob(pattern, arn)
            for statement in refusals
            for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals")
            for pattern in _listed(statement.conditions.get(operator, {}).get("aws:PrincipalArn"))
        )
        if not refused:
            findings.append(f"{role.where}: {arn} not refused s3:PutObject by {name}'s policy")
    return findings


def table_writers(resources: Iterable[Resource], table_arn: str) -> dict[str, list[str]]:
    """Role -> the item writes it is allowed on the table."""
    writers: dict[str, list[str]] = {}
    for role, documents in role_policies(resources).items():
        for policy in documents:
            for statement in policy.statements:
                for action in TABLE_WRITES:
                    if statement.allows(action, table_arn):
                        writers.setdefault(role, []).append(action)
    return writers


def _denies_insecure_transport(statement: Statement, resources: Iterable[str]) -> bool:
    if statement.effect != "Deny" or statement.principals not in ("*", {"AWS": ("*",)}):
        return False
    insecure = [
        value
        for operator, tests in statement.conditions.items()
        if operator in ("Bool", "BoolIfExists")
        for key, value in tests.items()
        if key.lower() == "aws:securetransport"
    ]
    if [_listed(value) for value in insecure] != [("false",)]:
        return False
    every_action = any(a == "*" or a.endswith(":*") for a in statement.actions)
    return every_action and all(
        any(_glob(pattern, resource) for pattern in statement.resources) for resource in resources
    )


def _by_attribute(resources: Iterable[Resource], type_: str, key: str) -> dict[str, list[Resource]]:
    """Value of attribute ``key`` -> every resource of ``type_`` with that value."""
    found: dict[str, list[Resource]] = {}
    for resource in resources:
        if resource.type == type_ and isinstance(resource.values.get(key), str):
            found.setdefault(resource.values[key], []).append(resource)
    return found


def unprotected_buckets(resources: Iterable[Resource], partition: str = "aws") -> list[str]:
    """Buckets not blocking public access, not encrypted, or not refusing non-TLS requests."""
    resources = list(resources)
    blocks = _by_attribute(resources, "aws_s3_bucket_public_access_block", "bucket")
    encryption = _by_attribute(
        resources, "aws_s3_bucket_server_side_encryption_configuration", "bucket"
    )
    bucket_policies = _by_attribute(resources, "aws_s3_bucket_policy", "bucket")
    findings = []
    for bucket in (r for r in resources if r.type == "aws_s3_bucket"):
        name = bucket.values.get("bucket")
        where = f"{bucket.where} ({name})"
        if not isinstance(name, str):
            findings.append(f"{where}: name known only after apply")
            continue
        if not any(all(b.values.get(flag) is True for flag in BLOCK_PUBLIC_ACCESS)
                   for b in blocks.get(name, [])):  # fmt: skip
            findings.append(f"{where}: public access not blocked by all four flags")
        algorithms = {
            default.get("sse_algorithm")
            for configuration in encryption.get(name, [])
            for rule in configuration.values.get("rule", [])
            for default in rule.get("apply_server_side_encryption_by_default", [])
        }
        if not algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}:
            findings.append(f"{where}: no default encryption")
        arn = f"arn:{partition}:s3:::{name}"
        tls = [
            statement
            for policy in policies(bucket_policies.get(name, []))
            for statement in policy.statements
            if _denies_insecure_transport(statement, [arn, f"{arn}/*"])
        ]
        if not tls:
            findings.append(f"{where}: no policy statement denies requests without TLS")
    return findings


def unencrypted_queues(resources: Iterable[Resource]) -> list[str]:
    findings = []
    for queue in (r for r in resources if r.type == "aws_sqs_queue"):
        if queue.values.get("sqs_managed_sse_enabled") is True:
            continue
        if queue.values.get("kms_master_key_id") or queue.is_unknown("kms_master_key_id"):
            continue
        findings.append(f"{queue.where}: neither SSE-SQS nor a KMS key")
    return findings


def unprotected_tables(resources: Iterable[Resource]) -> list[str]:
    findings = []
    for table in (r for r in resources if r.type == "aws_dynamodb_table"):
        encryption = table.values.get("server_side_encryption") or []
        if not any(block.get("enabled") is True for block in encryption):
            findings.append(f"{table.where}: server-side encryption not enabled")
        recovery = table.values.get("point_in_time_recovery") or []
        if not any(block.get("enabled") is True for block in recovery):
            findings.append(f"{table.where}: point-in-time recovery not enabled")
    return findings


def report(findings: list[str]) -> str:
    return "\n".join(findings)


# --- the plans ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Root id -> the plan JSON of its first deploy (or the folder named by MEDIA_PLAN_JSON)."""
    existing = os.environ.get("MEDIA_PLAN_JSON")
    if existing:
        return plan_json.read_plans(Path(existing))
    if shutil.which("terraform") is None:
        pytest.skip("the terraform CLI is not on PATH")
    run = plan_json.plan_every_root(tmp_path_factory.mktemp("plan-json"))
    print(plan_json.summary(run))
    return {root: plan.document for root, plan in run.plans.items()}


@pytest.fixture(scope="module")
def resources(plans: dict[str, dict[str, Any]]) -> list[Resource]:
    return [r for root, plan in plans.items() for r in planned_resources(root, plan)]


@pytest.fixture(scope="module")
def uploads_arn(plans: dict[str, dict[str, Any]]) -> str:
    """The uploads bucket's ARN: the platform's bucket tagged LogicalName=uploads."""
    partition = data_values(plans["platform"], "aws_partition")["partition"]
    (name,) = [
        r.values["bucket"]
        for r in planned_resources("platform", plans["platform"])
        if r.type == "aws_s3_bucket"
        and (r.values.get("tags") or {}).get("LogicalName") == "uploads"
    ]
    return f"arn:{partition}:s3:::{name}"


@pytest.fixture(scope="module")
def index_arn(plans: dict[str, dict[str, Any]]) -> str:
    """The index table's ARN: the table the indexer publishes as its index (SSM parameter)."""
    plan = plans["indexer"]
    (name,) = [
        r.values["value"]
        for r in planned_resources("indexer", plan)
        if r.type == "aws_ssm_parameter"
        and r.values["name"] == f"/media-pipeline/{ENVIRONMENT}/indexer/index-table/name"
    ]
    account = data_values(plan, "aws_caller_identity")["account_id"]
    region = data_values(plan, "aws_region")["name"]
    partition = data_values(plan, "aws_partition")["partition"]
    return f"arn:{partition}:dynamodb:{region}:{account}:table/{name}"


# --- every root, planned -------------------------------------------------------------------------


def test_every_root_is_planned_with_what_the_checks_read(
    plans: dict[str, dict[str, Any]], resources: list[Resource]
) -> None:
    # The checks below must not pass by reading nothing.
    assert sorted(plans) == sorted(ROOTS)
    for root, plan in plans.items():
        assert plan.get("errored") is False, root
        assert planned_resources(root, plan), f"{root}: plans no resource"
    by_type: dict[str, set[str]] = {}
    for resource in resources:
        by_type.setdefault(resource.type, set()).add(resource.root)
    assert by_type["aws_s3_bucket"] == {"platform"}
    assert len([r for r in resources if r.type == "aws_s3_bucket"]) == 3
    for kind in ("aws_iam_role", "aws_iam_role_policy", "aws_sqs_queue"):
        assert by_type[kind] >= set(SERVICES), kind
    # tables: the index, and an idempotency table for each service whose code uses one
    assert by_type["aws_dynamodb_table"] >= {"indexer"} | {
        service for service in SERVICES if code_uses_idempotency(service)
    }
    assert len(policies(resources)) >= 3 + 4 * 4  # buckets; per service: trust, role, 2 queues


def test_every_policy_and_what_it_applies_to_is_known_at_plan_time(
    resources: list[Resource],
) -> None:
    # What a plan shows as "(known after apply)" no reviewer and no check below can read. The fix:
    # build the ARNs a policy names from names (as infra/modules/service/main.tf does), and link a
    # setting to its bucket or a policy to its role by name (.bucket, .name), not by id.
    findings = unknown_at_plan_time(resources)
    assert findings == [], report(findings)


def test_every_permission_of_a_role_is_in_a_policy_the_plan_shows(
    resources: list[Resource],
) -> None:
    assert opaque_grants(resources) == [], report(opaque_grants(resources))


# --- IAM -------------------------------------------------------------------------------------


def test_no_policy_allows_a_wildcard_action(resources: list[Resource]) -> None:
    assert wildcard_actions(resources) == [], report(wildcard_actions(resources))


def test_no_policy_allows_any_resource_but_for_actions_aws_cannot_scope(
    resources: list[Resource],
) -> None:
    assert wildcard_resources(resources) == [], report(wildcard_resources(resources))
    # and every exception in the table is one the roles do use
    assert resourceless_actions_in_use(resources) == set(RESOURCELESS_ACTIONS)


def test_no_resource_policy_allows_anyone(resources: list[Resource]) -> None:
    assert public_grants(resources) == [], report(public_grants(resources))


def test_every_role_is_assumable_by_lambda_only(resources: list[Resource]) -> None:
    roles = [r for r in resources if r.type == "aws_iam_role"]
    assert {r.root for r in roles} >= set(SERVICES)
    assert foreign_trust(resources) == [], report(foreign_trust(resources))


def test_every_service_role_lives_under_the_path_the_uploads_bucket_refuses(
    resources: list[Resource],
) -> None:
    paths = role_paths(resources)
    for service in SERVICES:
        assert paths[f"media-{ENVIRONMENT}-{service}"] == SERVICE_ROLE_PATH


def test_no_service_role_can_write_to_the_uploads_bucket(
    resources: list[Resource], uploads_arn: str
) -> None:
    # given the roles that do write objects somewhere (so the check is not vacuous)
    writers = {
        role
        for role, documents in role_policies(resources).items()
        for policy in documents
        for statement in policy.statements
        if any(statement.allows("s3:PutObject", r) for r in statement.resources)
    }
    assert {f"media-{ENVIRONMENT}-ingest", f"media-{ENVIRONMENT}-thumbnailer"} <= writers
    # then none of them, nor any other service role, may write an object in the uploads bucket
    findings = service_roles_writing(resources, uploads_arn)
    assert findings == [], report(findings)


def test_the_uploads_bucket_policy_refuses_object_writes_to_every_service_role(
    resources: list[Resource], uploads_arn: str, plans: dict[str, dict[str, Any]]
) -> None:
    roles = [r for r in resources if r.type == "aws_iam_role"]
    assert {r.root for r in roles if r.values["path"] == SERVICE_ROLE_PATH} >= set(SERVICES)
    account = data_values(plans["platform"], "aws_caller_identity")["account_id"]
    findings = service_roles_not_refused(resources, uploads_arn, account)
    assert findings == [], report(findings)


def test_only_the_indexer_can_write_the_index_table(
    resources: list[Resource], index_arn: str
) -> None:
    writers = table_writers(resources, index_arn)
    assert sorted(writers) == [f"media-{ENVIRONMENT}-indexer"], writers
    assert "dynamodb:UpdateItem" in writers[f"media-{ENVIRONMENT}-indexer"]


# --- buckets, queues, tables ------------------------------------------------------------------


def test_every_bucket_blocks_public_access_is_encrypted_and_refuses_plain_http(
    resources: list[Resource], plans: dict[str, dict[str, Any]]
) -> None:
    partition = data_values(plans["platform"], "aws_partition")["partition"]
    findings = unprotected_buckets(resources, partition)
    assert findings == [], report(findings)


def test_every_queue_and_dlq_is_encrypted(resources: list[Resource]) -> None:
    queues = [r for r in resources if r.type == "aws_sqs_queue"]
    assert len(queues) >= 2 * len(SERVICES)
    assert unencrypted_queues(resources) == [], report(unencrypted_queues(resources))


def test_every_table_is_encrypted_and_recoverable_to_a_point_in_time(
    resources: list[Resource],
) -> None:
    assert unprotected_tables(resources) == [], report(unprotected_tables(resources))


# --- the checks fail on what they guard against ---------------------------------------------------

UPLOADS = "arn:aws:s3:::media-test-123456789012-uploads"
ORIGINALS = "arn:aws:s3:::media-test-123456789012-originals"
INDEX = "arn:aws:dynamodb:us-east-1:123456789012:table/media-test-asset-index"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def allow(actions: str | list[str], resources: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(
    name: str, *statements: dict[str, Any], path: str = SERVICE_ROLE_PATH, trust: Any = None
) -> list[Resource]:
    """A role and its inline policy, as a plan shows them."""
    return [
        Resource(
            "test",
            f"aws_iam_role.{name}",
            "aws_iam_role",
            {"name": name, "path": path, "assume_role_policy": json.dumps(trust or LAMBDA_TRUST)},
        ),
        Resource(
            "test",
            f"aws_iam_role_policy.{name}",
            "aws_iam_role_policy",
            {"name": name, "role": name, "policy": document(*statements)},
        ),
    ]


def tls_deny(arn: str) -> dict[str, Any]:
    return {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket(
    name: str,
    policy: str | None,
    flags: Mapping[str, bool] | None = None,
    algorithm: str | None = "aws:kms",
) -> list[Resource]:
    """A bucket with its public access block, encryption and policy, as a plan shows them."""
    found = [
        Resource("test", f'aws_s3_bucket.this["{name}"]', "aws_s3_bucket", {"bucket": name}),
        Resource(
            "test",
            f'aws_s3_bucket_public_access_block.this["{name}"]',
            "aws_s3_bucket_public_access_block",
            {"bucket": name, **dict.fromkeys(BLOCK_PUBLIC_ACCESS, True), **(flags or {})},
        ),
    ]
    if algorithm:
        rule = {"apply_server_side_encryption_by_default": [{"sse_algorithm": algorithm}]}
        found.append(
            Resource(
                "test",
                f'aws_s3_bucket_server_side_encryption_configuration.this["{name}"]',
                "aws_s3_bucket_server_side_encryption_configuration",
                {"bucket": name, "rule": [rule]},
            )
        )
    if policy is not None:
        found.append(
            Resource(
                "test",
                f'aws_s3_bucket_policy.this["{name}"]',
                "aws_s3_bucket_policy",
                {"bucket": name, "policy": policy},
            )
        )
    return found


def test_a_wildcard_action_is_found_however_it_is_spelled() -> None:
    for action in ("*", "s3:*", "s3:Get*", "dynamodb:?utItem"):
        # given a role allowed a wildcard action on one of its own buckets
        resources = role("media-test-x", allow(action, f"{ORIGINALS}/originals/*"))
        # then the check names it
        assert wildcard_actions(resources) == [
            f"test: aws_iam_role_policy.media-test-x (policy): allows wildcard action {action!r}"
        ]
    not_action = role("media-test-x", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert wildcard_actions(not_action), "NotAction in an Allow is every other action"
    # and a wildcard in a Deny (refusing everything without TLS) is no grant
    assert wildcard_actions(bucket("b", document(tls_deny("arn:aws:s3:::b")))) == []


def test_any_resource_is_found_unless_aws_offers_no_narrower_one() -> None:
    for resource in (
        "*",
        "arn:aws:s3:::*",
        "arn:*:s3:::b/*",
        "arn:aws:dynamodb:us-east-1:123456789012:table/*",
        "arn:aws:sqs:us-east-1:*:media-test-x",
    ):
        resources = role("media-test-x", allow("s3:GetObject", resource))
        assert len(wildcard_resources(resources)) == 1, resource
    # given the X-Ray actions on "*" (the listed exceptions), alone or with another action
    tracing = role(
        "media-test-x", allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*")
    )
    assert wildcard_resources(tracing) == []
    mixed = role("media-test-x", allow(["xray:PutTraceSegments", "s3:ListAllMyBuckets"], "*"))
    assert wildcard_resources(mixed) == [
        "test: aws_iam_role_policy.media-test-x (policy): ['s3:ListAllMyBuckets'] on ['*']"
    ]
    everything_but = role(
        "media-test-x", {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": UPLOADS}
    )
    assert wildcard_resources(everything_but)
    # and narrow resources pass
    for resource in (f"{UPLOADS}/*", f"{INDEX}/index/*", "arn:aws:logs:us-east-1:1:log-group:g:*"):
        assert wildcard_resources(role("media-test-x", allow("s3:GetObject", resource))) == []


def test_a_service_role_that_could_write_an_upload_is_found() -> None:
    for resource in (f"{UPLOADS}/*", f"{UPLOADS}/incoming/*", "arn:aws:s3:::media-test-*", "*"):
        for action in ("s3:PutObject", "s3:PutObject*", "s3:*", "s3:PutObjectTagging"):
            # given a service role allowed to write somewhere the uploads bucket's keys match
            resources = role("media-test-thumbnailer", allow(action, resource))
            # then the check finds it
            assert service_roles_writing(resources, UPLOADS), (action, resource)
    # given roles that write elsewhere, read uploads, or sign uploads outside the services' path
    harmless = [
        *role("media-test-ingest", allow("s3:PutObject", f"{ORIGINALS}/originals/*")),
        *role("media-test-other", allow("s3:GetObject", f"{UPLOADS}/*")),
        *role("media-test-sign", allow("s3:PutObject", f"{UPLOADS}/*"), path="/uploaders/"),
        *role("media-test-y", allow("s3:PutObject", f"{UPLOADS}-archive/*")),
    ]
    # then nothing is found
    assert service_roles_writing(harmless, UPLOADS) == []


def test_a_service_role_the_uploads_bucket_policy_does_not_refuse_is_found() -> None:
    arn = "arn:aws:s3:::b"
    refuse = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"{arn}/*",
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::1:role{SERVICE_ROLE_PATH}*"}},
    }
    roles = [
        *role("media-test-x", allow("s3:GetObject", f"{arn}/*")),
        *role("media-test-y", allow("s3:PutObject", f"{arn}/*"), path="/uploaders/"),
    ]
    assert service_roles_not_refused([*bucket("b", document(refuse)), *roles], arn, "1") == []
    # given the policy without that statement, or with it for another account
    other_account = {**refuse, "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::2:*"}}}
    for policy in (document(tls_deny(arn)), document(other_account)):
        # then the service role is found (the uploader, outside the path, is not)
        assert service_roles_not_refused([*bucket("b", policy), *roles], arn, "1") == [
            f"test: aws_iam_role.media-test-x: arn:aws:iam::1:role{SERVICE_ROLE_PATH}media-test-x"
            " not refused s3:PutObject by b's policy"
        ]


def test_a_second_writer_of_the_index_is_found() -> None:
    resources = [
        *role("media-test-indexer", allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], INDEX)),
        *role("media-test-thumbnailer", allow("dynamodb:BatchWriteItem", "*")),
        *role("media-test-reader", allow(["dynamodb:GetItem", "dynamodb:Query"], INDEX)),
        *role("media-test-own", allow("dynamodb:PutItem", f"{INDEX}-idempotency")),
    ]
    assert table_writers(resources, INDEX) == {
        "media-test-indexer": ["dynamodb:UpdateItem"],
        "media-test-thumbnailer": ["dynamodb:BatchWriteItem"],
    }


def test_a_bucket_without_each_protection_is_found() -> None:
    arn = "arn:aws:s3:::b"
    assert unprotected_buckets(bucket("b", document(tls_deny(arn)))) == []
    no_tls = {**tls_deny(arn), "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    objects_only = {**tls_deny(arn), "Resource": f"{arn}/*"}
    some_actions = {**tls_deny(arn), "Action": "s3:GetObject"}
    someone = {**tls_deny(arn), "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}
    cases = {
        "no policy": bucket("b", None),
        "a policy without the TLS deny": bucket("b", document(allow("s3:GetObject", arn))),
        "a deny of TLS requests": bucket("b", document(no_tls)),
        "a deny on the objects only": bucket("b", document(objects_only)),
        "a deny of some actions": bucket("b", document(some_actions)),
        "a deny for one principal": bucket("b", document(someone)),
        "the deny on another bucket": bucket("b", document(tls_deny("arn:aws:s3:::c"))),
    }
    for case, resources in cases.items():
        assert unprotected_buckets(resources) == [
            'test: aws_s3_bucket.this["b"] (b): no policy statement denies requests without TLS'
        ], case
    public = bucket("b", document(tls_deny(arn)), flags={"restrict_public_buckets": False})
    assert unprotected_buckets(public) == [
        'test: aws_s3_bucket.this["b"] (b): public access not blocked by all four flags'
    ]
    plain = bucket("b", document(tls_deny(arn)), algorithm=None)
    assert unprotected_buckets(plain) == [
        'test: aws_s3_bucket.this["b"] (b): no default encryption'
    ]


def test_an_unencrypted_queue_and_an_unprotected_table_are_found() -> None:
    queues = [
        Resource("test", "aws_sqs_queue.sse", "aws_sqs_queue", {"sqs_managed_sse_enabled": True}),
        Resource("test", "aws_sqs_queue.kms", "aws_sqs_queue", {"kms_master_key_id": "alias/k"}),
        Resource(
            "test", "aws_sqs_queue.plain", "aws_sqs_queue", {"sqs_managed_sse_enabled": False}
        ),
    ]
    assert unencrypted_queues(queues) == [
        "test: aws_sqs_queue.plain: neither SSE-SQS nor a KMS key"
    ]
    on, off = [{"enabled": True}], [{"enabled": False}]
    tables = [
        Resource("test", "aws_dynamodb_table.good", "aws_dynamodb_table",
                 {"server_side_encryption": on, "point_in_time_recovery": on}),
        Resource("test", "aws_dynamodb_table.bad", "aws_dynamodb_table",
                 {"server_side_encryption": off, "point_in_time_recovery": []}),
    ]  # fmt: skip
    assert unprotected_tables(tables) == [
        "test: aws_dynamodb_table.bad: server-side encryption not enabled",
        "test: aws_dynamodb_table.bad: point-in-time recovery not enabled",
    ]


def test_a_role_others_may_assume_and_a_public_grant_are_found() -> None:
    ec2 = {**LAMBDA_TRUST["Statement"][0], "Principal": {"Service": "ec2.amazonaws.com"}}
    anyone = {**LAMBDA_TRUST["Statement"][0], "Principal": {"AWS": "*"}}
    for statement in (ec2, anyone):
        trust = {"Version": "2012-10-17", "Statement": [statement]}
        assert foreign_trust(role("media-test-x", trust=trust)), statement
    assert foreign_trust(role("media-test-x")) == []
    grant = allow("s3:GetObject", "arn:aws:s3:::b/*", Principal="*")
    assert public_grants(bucket("b", document(grant))) == [
        "test: aws_s3_bucket_policy.this[\"b\"] (policy): allows any principal ('s3:GetObject',)"
    ]


def test_a_policy_known_only_after_apply_is_found() -> None:
    unknown = Resource(
        "test",
        "aws_iam_role_policy.x",
        "aws_iam_role_policy",
        {"name": "x"},
        {"policy": True, "role": True},
    )
    assert unknown_at_plan_time([unknown]) == [
        "test: aws_iam_role_policy.x (policy): known only after apply",
        "test: aws_iam_role_policy.x (role): known only after apply",
    ]


def test_a_managed_policy_attachment_is_found() -> None:
    full_access = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    attachment = Resource(
        "test",
        "aws_iam_role_policy_attachment.x",
        "aws_iam_role_policy_attachment",
        {"role": "media-test-x", "policy_arn": full_access},
    )
    (trusted, inline) = role("media-test-x", allow("s3:GetObject", f"{UPLOADS}/*"))
    listed = replace(trusted, values={**trusted.values, "managed_policy_arns": [full_access]})
    assert opaque_grants([attachment, listed, inline]) == [
        f"test: aws_iam_role_policy_attachment.x: attaches managed policy {full_access}",
        f"test: aws_iam_role.media-test-x: attaches managed policies ['{full_access}']",
    ]
    assert opaque_grants([trusted, inline]) == []


def test_a_widened_real_policy_and_a_real_bucket_without_its_tls_deny_are_found(
    resources: list[Resource], uploads_arn: str
) -> None:
    # given the thumbnailer's planned role policy with one more statement
    thumbnailer = f"media-{ENVIRONMENT}-thumbnailer"
    (planned,) = [
        r
        for r in resources
        if r.type == "aws_iam_role_policy" and r.values.get("role") == thumbnailer
    ]
    widened = json.loads(planned.values["policy"])
    widened["Statement"].append(allow("s3:*", "*"))
    bad = replace(planned, values={**planned.values, "policy": json.dumps(widened)})
    others = [r for r in resources if r is not planned]
    # then each check that guards against it says so
    assert wildcard_actions([*others, bad])
    assert wildcard_resources([*others, bad])
    assert service_roles_writing([*others, bad], uploads_arn)
    # given the uploads bucket's planned policy without its TLS statement
    (policy,) = [
        r for r in resources
        if r.type == "aws_s3_bucket_policy" and uploads_arn.endswith(f":{r.values['bucket']}")
    ]  # fmt: skip
    document_ = json.loads(policy.values["policy"])
    document_["Statement"] = [
        s for s in document_["Statement"] if s.get("Sid") != "DenyInsecureTransport"
    ]
    stripped = replace(policy, values={**policy.values, "policy": json.dumps(document_)})
    findings = unprotected_buckets([*(r for r in resources if r is not policy), stripped])
    assert findings == [
        f'{policy.root}: module.buckets.aws_s3_bucket.this["uploads"] '
        f"({uploads_arn.rsplit(':', 1)[-1]}): no policy statement denies requests without TLS"
    ]


def test_glob_prefix_overlap() -> None:
    assert _glob_can_start_with("*", "arn:aws:s3:::b/")
    assert _glob_can_start_with("arn:aws:s3:::b*", "arn:aws:s3:::b/")
    assert _glob_can_start_with("arn:aws:s3:::?/x", "arn:aws:s3:::b/")
    assert _glob_can_start_with("arn:aws:s3:::b/in*/x", "arn:aws:s3:::b/")
    assert not _glob_can_start_with("arn:aws:s3:::b", "arn:aws:s3:::b/")
    assert not _glob_can_start_with("arn:aws:s3:::c/*", "arn:aws:s3:::b/")
    assert not _glob_can_start_with("arn:aws:s3:::b-*", "arn:aws:s3:::b/")


# --- the read API's role reads only what it serves -----------------------------------------------

READ_API_ROLE = f"media-{ENVIRONMENT}-indexer-read-api"


def read_api_overreach(
    resources: Iterable[Resource], role_name: str, table_arn: str, derived_arn: str
) -> list[str]:
    """What ``role_name`` may do beyond serving the gallery's reads (empty when nothing).

    It serves: GetItem on the index table, Query on its by_owner (a caller's own assets) and
    by_status (the operator scope) indexes, and GetObject of thumbnails in the derived bucket
    (what it presigns). Every other grant (logs and tracing aside) is a finding, and so is any of
    the probes below that a statement allows: reading the table another way, another index, the
    originals or the uploads, or writing anything.
    """
    served = {
        ("dynamodb:GetItem", table_arn),
        ("dynamodb:Query", f"{table_arn}/index/by_owner"),
        ("dynamodb:Query", f"{table_arn}/index/by_status"),
        ("s3:GetObject", f"{derived_arn}/thumbnails/*"),
    }
    bucket_of_derived = derived_arn.rsplit(":", 1)[-1]
    base = derived_arn[: -len(bucket_of_derived)]
    probes = [
        ("dynamodb:Scan", table_arn),
        ("dynamodb:Query", table_arn),
        ("dynamodb:Query", f"{table_arn}/index/by_camera"),
        ("dynamodb:Query", f"{table_arn}/index/by_taken"),
        ("dynamodb:BatchGetItem", table_arn),
        ("dynamodb:PartiQLSelect", table_arn),
        *((action, table_arn) for action in TABLE_WRITES),
        ("s3:GetObject", f"{derived_arn}/originals/x"),
        ("s3:GetObject", f"{derived_arn}/x"),
        ("s3:ListBucket", derived_arn),
        ("s3:PutObject", f"{derived_arn}/thumbnails/x"),
        ("s3:GetObject", f"{base}{bucket_of_derived.replace('derived', 'originals')}/originals/x"),
        ("s3:GetObject", f"{base}{bucket_of_derived.replace('derived', 'uploads')}/incoming/x"),
    ]
    documents = role_policies(resources).get(role_name)
    if not documents:
        return [f"{role_name}: no policy planned (the check would read nothing)"]
    findings = []
    for policy in documents:
        for statement in policy.statements:
            if not statement.allow:
                continue
            if statement.not_actions or statement.not_resources:
                findings.append(f"{policy.where}: NotAction/NotResource grants more than it serves")
                continue
            for action in statement.actions:
                if action.startswith(("logs:", "xray:")):
                    continue
                for resource in statement.resources:
                    if (action, resource) not in served:
                        findings.append(f"{policy.where}: {action} on {resource}")
            for action, resource in probes:
                if statement.allows(action, resource):
                    findings.append(f"{policy.where}: allows {action} on {resource}")
    return findings


@pytest.fixture(scope="module")
def derived_arn(plans: dict[str, dict[str, Any]]) -> str:
    partition = data_values(plans["platform"], "aws_partition")["partition"]
    (name,) = [
        r.values["bucket"]
        for r in planned_resources("platform", plans["platform"])
        if r.type == "aws_s3_bucket"
        and (r.values.get("tags") or {}).get("LogicalName") == "derived"
    ]
    return f"arn:{partition}:s3:::{name}"


def test_the_read_apis_role_can_read_only_what_it_serves(
    resources: list[Resource], index_arn: str, derived_arn: str
) -> None:
    assert read_api_overreach(resources, READ_API_ROLE, index_arn, derived_arn) == []


def test_a_read_api_role_that_reads_more_than_it_serves_is_found() -> None:
    table = "arn:aws:dynamodb:us-east-1:1:table/t"
    derived = "arn:aws:s3:::media-x-derived-1"
    fine = [
        allow("dynamodb:GetItem", table),
        allow("dynamodb:Query", [f"{table}/index/by_owner", f"{table}/index/by_status"]),
        allow("s3:GetObject", f"{derived}/thumbnails/*"),
        allow(["logs:PutLogEvents", "xray:PutTraceSegments"], "*"),
    ]
    assert read_api_overreach(role("r", *fine), "r", table, derived) == []
    for bad, says in [
        (allow("dynamodb:Query", f"{table}/index/*"), "by_camera"),
        (allow("dynamodb:Scan", table), "dynamodb:Scan"),
        (allow("dynamodb:*", table), "UpdateItem"),
        (allow("s3:GetObject", f"{derived}/*"), "originals/x"),
        (allow("s3:GetObject", "arn:aws:s3:::media-x-originals-1/*"), "originals"),
        (allow("s3:Get*", "*"), "incoming/x"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": table}, "NotAction"),
    ]:
        findings = read_api_overreach(role("r", *fine, bad), "r", table, derived)
        assert any(says in finding for finding in findings), (bad, findings)
    assert read_api_overreach(role("other", *fine), "r", table, derived) == [
        "r: no policy planned (the check would read nothing)"
    ]


# --- no matched event vanishes unseen ------------------------------------------------------------


def undeliverable_events_dropped(resources: Iterable[Resource]) -> list[str]:
    """EventBridge targets that would drop an event they cannot deliver (no DLQ, no retries)."""
    resources = list(resources)
    queues = {str(r.values.get("name")): r for r in resources if r.type == "aws_sqs_queue"}
    findings = []
    for target in (r for r in resources if r.type == "aws_cloudwatch_event_target"):
        dead = target.values.get("dead_letter_config") or []
        if not dead and not target.is_unknown("dead_letter_config"):
            findings.append(f"{target.where}: no dead_letter_config")
        retry = (target.values.get("retry_policy") or [{}])[0]
        if not retry or int(retry.get("maximum_event_age_in_seconds") or 0) < 3600:
            findings.append(f"{target.where}: no retry policy of at least an hour")
    dlqs = [q for name, q in queues.items() if name.endswith("-dlq")]
    for dlq in dlqs:
        document = json.loads(str(dlq.values.get("policy") or "{}"))
        if not any(
            s.allow and s.principals == {"Service": ("events.amazonaws.com",)}
            for s in statements(document)
        ):
            findings.append(f"{dlq.where}: EventBridge may not park undeliverable events in it")
    return findings


def test_every_rule_target_retries_and_parks_what_it_cannot_deliver(
    resources: list[Resource],
) -> None:
    assert [r for r in resources if r.type == "aws_cloudwatch_event_target"]
    assert undeliverable_events_dropped(resources) == []


def test_a_target_without_a_dlq_or_retries_is_found() -> None:
    target = Resource(
        "test", "aws_cloudwatch_event_target.this", "aws_cloudwatch_event_target", {"arn": "q"}
    )
    dlq = Resource("test", "aws_sqs_queue.dlq", "aws_sqs_queue", {"name": "x-dlq", "policy": "{}"})
    findings = undeliverable_events_dropped([target, dlq])
    assert len(findings) == 3, findings


# --- no service can publish as another -----------------------------------------------------------


def _service_of_role(role: str, services: Iterable[str]) -> str | None:
    """The service a role belongs to: ``media-<env>-<service>`` or ``media-<env>-<service>-...``."""
    name = role.removeprefix(f"media-{ENVIRONMENT}-")
    owners = [s for s in services if name == s or name.startswith(f"{s}-")]
    return max(owners, key=len) if owners else None


def forgeable_sources(resources: Iterable[Resource], services: Iterable[str]) -> list[str]:
    """Roles allowed events:PutEvents with any ``source`` but their service's own ``media.<s>``.

    EventBridge checks ``events:source`` for each entry of a PutEvents call: a statement pinned
    with StringEquals to the one source can publish nothing under another service's name (e.g. a
    forged ``media.ingest`` AssetIngested). Any other statement granting the action is a finding.
    """
    services = list(services)
    findings = []
    for role, documents in role_policies(resources).items():
        service = _service_of_role(role, services)
        for policy in documents:
            for statement in policy.statements:
                if not statement.grants("events:PutEvents"):
                    continue
                pinned = statement.conditions.get("StringEquals", {})
                sources = [
                    value
                    for key, value in pinned.items()
                    if key.lower() == "events:source"
                    for value in _listed(value)
                ]
                expected = [f"media.{service}"] if service else []
                if not expected or sources != expected:
                    findings.append(
                        f"{role} ({policy.where}): PutEvents with events:source {sources or 'any'}"
                        f", not {expected or 'a service of its own'}"
                    )
    return findings


def test_each_service_role_publishes_only_under_its_own_source(
    resources: list[Resource],
) -> None:
    # given the roles that may publish (every service's, so the check is not vacuous)
    publishers = {
        role
        for role, documents in role_policies(resources).items()
        for policy in documents
        for statement in policy.statements
        if statement.grants("events:PutEvents")
    }
    assert {f"media-{ENVIRONMENT}-{service}" for service in SERVICES} <= publishers
    # then each may put events with its own source only (no forged media.ingest)
    findings = forgeable_sources(resources, SERVICES)
    assert findings == [], report(findings)


def test_a_role_that_can_publish_under_another_source_is_found() -> None:
    bus = "arn:aws:events:us-east-1:1:event-bus/media-local"
    own = {"StringEquals": {"events:source": "media.thumbnailer"}}
    fine = role("media-local-thumbnailer", allow("events:PutEvents", bus, Condition=own))
    assert forgeable_sources(fine, SERVICES) == []
    for condition in (
        None,
        {"StringEquals": {"events:source": "media.ingest"}},
        {"StringEquals": {"events:source": ["media.thumbnailer", "media.ingest"]}},
        {"StringLike": {"events:source": "media.*"}},
        {"StringEquals": {"events:detail-type": "ThumbnailsGenerated"}},
    ):
        extra = {"Condition": condition} if condition else {}
        bad = role("media-local-thumbnailer", allow("events:PutEvents", bus, **extra))
        assert len(forgeable_sources(bad, SERVICES)) == 1, condition
    # a role of no service may not publish at all, and a wildcard action counts as PutEvents
    stranger = role("media-local-stranger", allow("events:Put*", bus, Condition=own))
    assert len(forgeable_sources(stranger, SERVICES)) == 1


# --- an idempotency table only where the code uses one -------------------------------------------

_IDEMPOTENCY_USE = re.compile(
    r"aws_lambda_powertools\.utilities\.idempotency|\bIDEMPOTENCY_TABLE\b"
)


def code_uses_idempotency(service: str) -> bool:
    """Whether the service's own package (not its tests) uses Powertools Idempotency."""
    package = REPO / "services" / service / service.replace("-", "_")
    assert package.is_dir(), package
    return any(
        _IDEMPOTENCY_USE.search(path.read_text(encoding="utf-8")) for path in package.rglob("*.py")
    )


def idempotency_in_plan(root: str, resources: Iterable[Resource]) -> dict[str, bool]:
    """What the root's plan gives its function for idempotency: the table and a grant on it.

    (The module passes IDEMPOTENCY_TABLE exactly when it creates the table; the function's
    environment holds the DLQ's URL too, so the plan knows it only after apply.)
    """
    table = f"media-{ENVIRONMENT}-{root}-idempotency"
    mine = [r for r in resources if r.root == root]
    return {
        "table": any(
            r.type == "aws_dynamodb_table" and r.values.get("name") == table for r in mine
        ),
        "grant": any(
            statement.allow and any(res.endswith(f":table/{table}") for res in statement.resources)
            for documents in role_policies(mine).values()
            for policy in documents
            for statement in policy.statements
        ),
    }


def test_a_service_has_an_idempotency_table_and_grant_only_if_its_code_uses_one(
    resources: list[Resource],
) -> None:
    uses = {service: code_uses_idempotency(service) for service in SERVICES}
    # given services that use it and services that do not (so both halves are checked)
    assert any(uses.values()), uses
    assert not all(uses.values()), uses
    for service in SERVICES:
        planned = idempotency_in_plan(service, resources)
        # then its table and the grant on it are planned exactly when the code uses them
        assert planned == dict.fromkeys(planned, uses[service]), (service, uses[service], planned)


# --- every event a service consumes is archived, for replay ---------------------------------------


@dataclass(frozen=True)
class Archive:
    where: str
    bus: str  # the name of the bus it archives ("default" for the account's default bus)
    pattern: Mapping[str, Any] | None  # None: every event of the bus


def _bus_name(arn: str) -> str:
    return arn.rsplit(":event-bus/", 1)[-1]


def archives(plans: Mapping[str, Mapping[str, Any]]) -> list[Archive]:
    """Every archive the plans create, with the bus it archives (read through the configuration
    when the bus is created in the same plan and its ARN is known only after apply)."""
    found = []
    for root, plan in plans.items():
        resources = {r.address: r for r in planned_resources(root, plan)}
        for resource in resources.values():
            if resource.type != "aws_cloudwatch_event_archive":
                continue
            if resource.is_unknown("event_source_arn"):
                module, _, local = resource.address.rpartition("aws_cloudwatch_event_archive.")
                configuration = plan["configuration"]["root_module"]
                for call in [part for part in module.split(".") if part and part != "module"]:
                    configuration = configuration["module_calls"][call]["module"]
                (declared,) = [
                    r
                    for r in configuration["resources"]
                    if r["address"] == f"aws_cloudwatch_event_archive.{local}"
                ]
                references = declared["expressions"]["event_source_arn"]["references"]
                bus = resources[f"{module}{references[-1]}"].values["name"]
            else:
                bus = _bus_name(str(resource.values["event_source_arn"]))
            pattern = resource.values.get("event_pattern")
            found.append(
                Archive(resource.where, str(bus), json.loads(pattern) if pattern else None)
            )
    return found


def example_event(pattern: Mapping[str, Any]) -> dict[str, Any]:
    """An event the pattern matches: the first value each field allows (exact or a prefix)."""
    event: dict[str, Any] = {}
    for key, value in pattern.items():
        if isinstance(value, Mapping):
            event[key] = example_event(value)
            continue
        first = value[0]
        if isinstance(first, Mapping) and "prefix" in first:
            event[key] = f"{first['prefix']}0"
        elif isinstance(first, str | int | float):
            event[key] = first
        else:
            raise ValueError(f"no example for {key}: {first!r}")
    return event


def unarchived_rules(resources: Iterable[Resource], found: Iterable[Archive]) -> list[str]:
    """Service rules an event can match without any archive keeping it (no replay possible)."""
    found = list(found)
    findings = []
    for rule in (r for r in resources if r.type == "aws_cloudwatch_event_rule"):
        if not rule.values.get("event_pattern"):
            continue  # a schedule: nothing arrives that could be replayed
        pattern = json.loads(str(rule.values["event_pattern"]))
        event = example_event(pattern)
        assert patterns.matches(pattern, event), (rule.where, event)
        bus = _bus_name(str(rule.values.get("event_bus_name") or "default"))
        if not any(
            archive.bus == bus
            and (archive.pattern is None or patterns.matches(archive.pattern, event))
            for archive in found
        ):
            findings.append(f"{rule.where}: no archive of the {bus} bus keeps {event}")
    return findings


def test_every_event_a_service_rule_matches_is_archived(
    plans: dict[str, dict[str, Any]], resources: list[Resource]
) -> None:
    found = archives(plans)
    # given the archives planned: the media bus's at least
    assert any(archive.bus == f"media-{ENVIRONMENT}" for archive in found), found
    # then what each service rule consumes (S3's uploads on the default bus too) can be replayed
    findings = unarchived_rules(resources, found)
    assert findings == [], report(findings)


def test_a_rule_whose_events_no_archive_keeps_is_found() -> None:
    s3 = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": ["u"]}},
    }
    rule = Resource(
        "test",
        "aws_cloudwatch_event_rule.this",
        "aws_cloudwatch_event_rule",
        {"event_bus_name": "default", "event_pattern": json.dumps(s3)},
    )
    media = Archive("test: media", "media-test", None)
    assert len(unarchived_rules([rule], [media])) == 1
    other_bucket = Archive("test: other", "default", {**s3, "detail": {"bucket": {"name": ["x"]}}})
    assert len(unarchived_rules([rule], [media, other_bucket])) == 1
    assert unarchived_rules([rule], [media, Archive("test: uploads", "default", s3)]) == []


# --- the scheduled reconciliation ----------------------------------------------------------------

RECONCILER = f"media-{ENVIRONMENT}-indexer-reconciler"
# What indexer.reconciliation reads (Stores' docstring), and a reconciler may do nothing else.
RECONCILER_READS = {
    "dynamodb:Query",
    "s3:ListBucketVersions",
    "s3:ListBucket",
    "s3:GetObject",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    *RESOURCELESS_ACTIONS,
}


def reconciler_wiring(resources: Iterable[Resource], function_name: str) -> list[str]:
    """What is missing for ``function_name`` to run on a schedule and be heard when it finds
    uploads stuck: the schedule and its target, the handler's module, the alarm on the metric the
    handler publishes (namespace, name and the dimensions it sets), and a read-only role."""
    resources = list(resources)
    findings = []
    functions = [
        r
        for r in resources
        if r.type == "aws_lambda_function" and r.values.get("function_name") == function_name
    ]
    if not functions:
        return [f"{function_name}: no such function planned"]
    (function,) = functions
    handler = str(function.values.get("handler"))
    module, _, name = handler.rpartition(".")
    path = REPO / "services" / "indexer" / Path(*module.split(".")).with_suffix(".py")
    if not path.is_file() or f"def {name}(" not in path.read_text(encoding="utf-8"):
        findings.append(f"{function.where}: handler {handler} is not a function of the package")
    variables = ((function.values.get("environment") or [{}])[0] or {}).get("variables") or {}
    rules = {
        str(r.values["name"]): r
        for r in resources
        if r.type == "aws_cloudwatch_event_rule" and r.values.get("schedule_expression")
    }
    targets = [
        t
        for t in resources
        if t.type == "aws_cloudwatch_event_target"
        and t.values.get("rule") in rules
        # (its arn is the function's, known only after apply; its id names the function)
        and str(t.values.get("target_id", "")).startswith(function_name)
    ]
    if not targets:
        findings.append(f"{function_name}: no schedule rule targets it")
    permissions = [
        r
        for r in resources
        if r.type == "aws_lambda_permission"
        and r.values.get("principal") == "events.amazonaws.com"
        and r.values.get("function_name") == function_name
    ]
    if not permissions:
        findings.append(f"{function_name}: EventBridge may not invoke it")
    dimensions = {
        "service": variables.get("POWERTOOLS_SERVICE_NAME"),
        "environment": variables.get("METRIC_ENVIRONMENT"),
    }
    alarms = [
        r
        for r in resources
        if r.type == "aws_cloudwatch_metric_alarm"
        and r.values.get("namespace") == variables.get("POWERTOOLS_METRICS_NAMESPACE")
        and r.values.get("metric_name") == "UploadsStuck"
        and r.values.get("dimensions") == dimensions
    ]
    if not alarms:
        findings.append(f"{function_name}: no alarm on UploadsStuck with dimensions {dimensions}")
    for alarm in alarms:
        if alarm.values.get("treat_missing_data") != "breaching":
            findings.append(f"{alarm.where}: a reconciler that stops reporting must alarm")
    for policy in role_policies(resources).get(function_name, []):
        for statement in policy.statements:
            if not statement.allow:
                continue
            extra = sorted(set(statement.actions) - RECONCILER_READS)
            if extra or statement.not_actions:
                findings.append(f"{policy.where}: {extra or 'NotAction'} beyond its reads")
            if "dynamodb:Query" in statement.actions and any(
                not r.endswith("/index/by_status") for r in statement.resources
            ):
                findings.append(f"{policy.where}: queries more than the by_status index")
    return findings


def test_the_reconciliation_runs_on_a_schedule_reading_only_and_alarms_on_stuck_uploads(
    resources: list[Resource],
) -> None:
    assert reconciler_wiring(resources, RECONCILER) == []


def test_a_reconciler_without_schedule_alarm_or_with_writes_is_found(
    resources: list[Resource],
) -> None:
    wired = [r for r in resources if r.root == "indexer"]
    assert reconciler_wiring(wired, RECONCILER) == []
    for gone, says in [
        ("aws_cloudwatch_event_target", "no schedule rule"),
        ("aws_lambda_permission", "may not invoke"),
        ("aws_cloudwatch_metric_alarm", "no alarm on UploadsStuck"),
    ]:
        findings = reconciler_wiring([r for r in wired if r.type != gone], RECONCILER)
        assert any(says in finding for finding in findings), (gone, findings)
    (planned,) = [
        r for r in wired if r.type == "aws_iam_role_policy" and r.values.get("role") == RECONCILER
    ]
    widened = json.loads(planned.values["policy"])
    widened["Statement"].append(allow("s3:PutObject", "arn:aws:s3:::b/*"))
    bad = replace(planned, values={**planned.values, "policy": json.dumps(widened)})
    findings = reconciler_wiring([*(r for r in wired if r is not planned), bad], RECONCILER)
    assert any("s3:PutObject" in finding for finding in findings), findings
