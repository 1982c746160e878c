"""The deploy gate: may a candidate of a service be deployed next to what an environment runs?

Each service root's apply records the service's contract in the environment, as the SSM parameter
``/media-pipeline/<env>/<service>/contract`` (``infra/service-root/service.tf``)::

    {"service": "thumbnailer", "produces": ["ProcessingFailed/v1", "ThumbnailsGenerated/v1"],
     "consumes": {"asset-ingested": {<the rule file's event pattern>}}}

``produces`` is every event and major whose schema names ``media.<service>`` as its source (the
producer owns its schemas); ``consumes`` holds the service's rule files. The candidate is the same
read from a working tree (:func:`candidate`). :func:`check` then refuses, naming service, event
and version:

* a deploy that would leave a deployed consumer's rule with no producer of an event and major it
  received before (the candidate stopped publishing it);
* a candidate whose rule consumes an event and major that nobody would produce.

Only rules on the media bus are compared (source ``media.*``): what AWS sends (S3's
``Object Created``) has no producer among the services. A rule "receives" an event and major when
its pattern, restricted to ``source``, ``detail-type`` and ``detail.metadata.schema_version``,
matches that event from that producer (``tools.patterns``, EventBridge's semantics).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3

from tools.patterns import matches

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

REPO = Path(__file__).resolve().parents[1]
PARAMETER_ROOT = "/media-pipeline"
_SCHEMA_FILE = re.compile(r"^v(?P<major>[1-9][0-9]*)\.json$")
_PRODUCED = re.compile(r"^(?P<event>[A-Za-z0-9]+)/v(?P<major>[1-9][0-9]*)$")
_MAJOR_PREFIX = re.compile(r"^(?P<major>[1-9][0-9]*)\.")


class ContractError(Exception):
    """A contract cannot be read (missing, malformed); the message names it."""


@dataclass(frozen=True, order=True)
class Produced:
    event: str
    major: int

    def __str__(self) -> str:
        return f"{self.event} v{self.major}"

    @property
    def key(self) -> str:
        return f"{self.event}/v{self.major}"


@dataclass(frozen=True)
class Contract:
    """What one service publishes, and the patterns of the rules it consumes through."""

    service: str
    produces: frozenset[Produced]
    consumes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_record(cls, document: Mapping[str, Any], name: str = "contract") -> Contract:
        try:
            service = str(document["service"])
            produced = [_parse_produced(str(item)) for item in document["produces"]]
            consumes = dict(document["consumes"])
        except (KeyError, TypeError, ValueError) as error:
            raise ContractError(f"{name}: not a service contract ({error})") from None
        return cls(service, frozenset(produced), consumes)

    def to_record(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "produces": sorted(p.key for p in self.produces),
            "consumes": dict(self.consumes),
        }

    @property
    def source(self) -> str:
        return f"media.{self.service}"


def _parse_produced(text: str) -> Produced:
    match = _PRODUCED.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not <Event>/v<MAJOR>")
    return Produced(match["event"], int(match["major"]))


# --- the candidate: a working tree -----------------------------------------------------------


def produced_by(service: str, repo: Path = REPO) -> frozenset[Produced]:
    """Every event and major whose schema in ``repo/schemas`` names ``media.<service>``."""
    found = set()
    for path in sorted((repo / "schemas" / "events").glob("*/v*.json")):
        match = _SCHEMA_FILE.match(path.name)
        if match is None:
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        sources = document.get("properties", {}).get("source", {}).get("enum", [])
        if f"media.{service}" in sources:
            found.add(Produced(path.parent.name, int(match["major"])))
    return frozenset(found)


def candidate(service: str, repo: Path = REPO) -> Contract:
    """The contract ``service`` would record if ``repo`` (a working tree) were deployed."""
    rules_dir = repo / "services" / service / "infra" / "rules"
    if not rules_dir.is_dir():
        raise ContractError(f"no service {service!r} in {repo} (no {rules_dir})")
    consumes = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(rules_dir.glob("*.json"))
    }
    return Contract(service, produced_by(service, repo), consumes)


# --- what is deployed: the environment's SSM parameters ------------------------------------


def deployed(ssm: SSMClient, environment: str) -> dict[str, Contract]:
    """Every contract recorded under ``/media-pipeline/<environment>/``, by service."""
    prefix = f"{PARAMETER_ROOT}/{environment}/"
    contracts: dict[str, Contract] = {}
    paginator = ssm.get_paginator("get_parameters_by_path")
    for page in paginator.paginate(Path=prefix.rstrip("/"), Recursive=True):
        for parameter in page.get("Parameters", []):
            name = parameter.get("Name", "")
            if not name.endswith("/contract") or name.count("/") != prefix.count("/") + 1:
                continue
            try:
                document = json.loads(parameter.get("Value", ""))
            except json.JSONDecodeError as error:
                raise ContractError(f"{name}: not JSON ({error})") from None
            contract = Contract.from_record(document, name)
            contracts[contract.service] = contract
    return contracts


# --- the comparison (pure) -------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Why a deploy is refused: which service's rule, which event and major, and what changes."""

    consumer: str
    rule: str
    wanted: Produced
    reason: str

    def __str__(self) -> str:
        return self.reason


def _routing(pattern: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a pattern that says which events (producer, name, major) it takes."""
    routing: dict[str, Any] = {
        key: pattern[key] for key in ("source", "detail-type") if key in pattern
    }
    version = pattern.get("detail", {}).get("metadata", {}).get("schema_version")
    if isinstance(pattern.get("detail"), Mapping) and version is not None:
        routing["detail"] = {"metadata": {"schema_version": version}}
    return routing


def on_media_bus(pattern: Mapping[str, Any]) -> bool:
    for source in pattern.get("source", []):
        if isinstance(source, str) and source.startswith("media."):
            return True
        if isinstance(source, Mapping) and str(source.get("prefix", "")).startswith("media"):
            return True
    return False


def _probe(source: str, produced: Produced) -> dict[str, Any]:
    return {
        "source": source,
        "detail-type": produced.event,
        "detail": {"metadata": {"schema_version": f"{produced.major}.0"}},
    }


def wanted(pattern: Mapping[str, Any], known: Iterable[Produced]) -> list[Produced]:
    """The events and majors a rule asks for: its detail-types at the majors its version filter
    names (``prefix "N."`` or exact ``"N.M"``); with no version filter, every major ``known``."""
    routing = _routing(pattern)
    events = [d for d in pattern.get("detail-type", []) if isinstance(d, str)]
    versions = routing.get("detail", {}).get("metadata", {}).get("schema_version")
    known = list(known)
    if not events:
        events = sorted({p.event for p in known})
    majors: set[int] = set()
    unbounded = versions is None
    for condition in versions or []:
        text = condition.get("prefix") if isinstance(condition, Mapping) else condition
        match = _MAJOR_PREFIX.match(str(text)) if text is not None else None
        if match is None:
            unbounded = True
        else:
            majors.add(int(match["major"]))
    asked = {Produced(e, m) for e in events for m in majors}
    if unbounded:
        asked |= {p for p in known if p.event in events}
    return sorted(asked)


def producers_of(
    pattern: Mapping[str, Any], want: Produced, environment: Mapping[str, Contract]
) -> list[str]:
    """The services of ``environment`` whose publications of ``want`` the rule would receive."""
    routing = _routing(pattern)
    return sorted(
        contract.service
        for contract in environment.values()
        if want in contract.produces and matches(routing, _probe(contract.source, want))
    )


def check(candidates: Sequence[Contract], recorded: Mapping[str, Contract]) -> list[Refusal]:
    """Why deploying ``candidates`` (together) next to ``recorded`` must be refused; [] if not."""
    before = dict(recorded)
    after = {**recorded, **{c.service: c for c in candidates}}
    known = {p for contract in after.values() for p in contract.produces}
    known |= {p for contract in before.values() for p in contract.produces}
    names = {c.service for c in candidates}
    refusals: list[Refusal] = []
    for consumer in sorted(after.values(), key=lambda c: c.service):
        for rule, pattern in sorted(consumer.consumes.items()):
            if not on_media_bus(pattern):
                continue
            for want in wanted(pattern, known):
                if producers_of(pattern, want, after):
                    continue
                had = producers_of(pattern, want, before)
                if consumer.service not in names and had:
                    lost = ", ".join(s for s in had if s in names)
                    refusals.append(
                        Refusal(
                            consumer.service,
                            rule,
                            want,
                            f"{consumer.service} (deployed) consumes {want} through its rule "
                            f"{rule!r}, and after this deploy nobody would produce it: "
                            f"{lost} would stop publishing {want.event} v{want.major}",
                        )
                    )
                elif consumer.service in names:
                    refusals.append(
                        Refusal(
                            consumer.service,
                            rule,
                            want,
                            f"{consumer.service} would consume {want} through its rule "
                            f"{rule!r}, which nobody in the environment produces",
                        )
                    )
    return refusals


def gate(
    services: Sequence[str],
    environment: str,
    endpoint: str | None = None,
    repo: Path = REPO,
    region: str | None = None,
) -> list[Refusal]:
    """:func:`check` of the working tree's ``services`` against what ``environment`` records: on
    AWS (the usual credential chain) or, with ``endpoint``, on the local stack's moto server."""
    options: dict[str, Any] = {"region_name": region or "us-east-1"}
    if endpoint is not None:
        options.update(
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    elif region is None:
        options.pop("region_name")
    ssm: SSMClient = boto3.client("ssm", **options)
    candidates = [candidate(service, repo) for service in services]
    return check(candidates, deployed(ssm, environment))
