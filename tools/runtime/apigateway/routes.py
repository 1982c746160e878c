"""The routes of the deployed HTTP APIs, and which one takes a request, as API Gateway decides.

Read back through the ``apigatewayv2`` and ``lambda`` APIs (never the Terraform files): every
HTTP API's routes with an ``AWS_PROXY`` integration to a Lambda function, the route's JWT
authorizer (issuer, audience, identity source), its scopes, the API's CORS configuration and the
function's resource policy (which execute-api source ARNs may invoke it). A request goes to the
most specific route that takes it: static segments before ``{variables}``, ``{greedy+}`` last,
``ANY`` after a named method.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tools.runtime.apigateway.authorizer import JwtAuthorizer

LOG = logging.getLogger("tools.runtime.apigateway")


@dataclass(frozen=True)
class Route:
    api_id: str
    api_name: str
    route_key: str
    function_arn: str
    payload_format_version: str
    authorizer: JwtAuthorizer | None
    scopes: tuple[str, ...] = ()
    #: Source ARN patterns the function's policy lets apigateway.amazonaws.com invoke it for.
    permitted_source_arns: tuple[str, ...] = ()
    region: str = "us-east-1"
    account: str = "123456789012"
    #: The API's CorsConfiguration (AllowOrigins, AllowMethods, ...), if it has one.
    cors: Mapping[str, Any] | None = None

    @property
    def method(self) -> str:
        return self.route_key.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.route_key.split(" ", 1)[1] if " " in self.route_key else ""

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route takes ``method path``, else None."""
        if self.route_key == "$default" or self.method not in {method, "ANY"}:
            return None
        template = [s for s in self.path.split("/") if s]
        actual = [s for s in path.split("/") if s]
        parameters: dict[str, str] = {}
        for index, segment in enumerate(template):
            if segment.startswith("{") and segment.endswith("+}"):
                if index >= len(actual):
                    return None
                parameters[segment[1:-2]] = "/".join(actual[index:])
                return parameters
            if index >= len(actual):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                parameters[segment[1:-1]] = urllib.parse.unquote(actual[index])
            elif segment != actual[index]:
                return None
        return parameters if len(actual) == len(template) else None

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Higher is preferred: static segments, then plain variables, greedy last."""
        segments = [s for s in self.path.split("/") if s]
        static = sum(1 for s in segments if not s.startswith("{"))
        greedy = sum(1 for s in segments if s.endswith("+}"))
        return (0 if greedy else 1, static, 0 if self.method == "ANY" else 1)

    def source_arn(self, path: str, stage: str = "$default") -> str:
        api = f"arn:aws:execute-api:{self.region}:{self.account}:{self.api_id}"
        return f"{api}/{stage}/{self.method}{path}"

    def invocation_permitted(self, path: str) -> bool:
        arn = self.source_arn(path)
        return any(fnmatch.fnmatchcase(arn, pattern) for pattern in self.permitted_source_arns)


def _function_arn(integration_uri: str) -> str:
    """The function ARN in an invoke ARN (``...:lambda:path/.../functions/<arn>/invocations``)."""
    match = re.search(r"/functions/(arn:[^/]+)/invocations", integration_uri)
    return match.group(1) if match else integration_uri


def _permitted_source_arns(lambda_client: Any, function_arn: str) -> tuple[str, ...]:
    try:
        policy = json.loads(lambda_client.get_policy(FunctionName=function_arn)["Policy"])
    except ClientError:
        return ()
    patterns: list[str] = []
    for statement in policy.get("Statement", []):
        principal = statement.get("Principal") or {}
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or service != "apigateway.amazonaws.com":
            continue
        actions = statement.get("Action")
        if "lambda:InvokeFunction" not in (actions if isinstance(actions, list) else [actions]):
            continue
        condition = statement.get("Condition") or {}
        arns = [
            value
            for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals")
            for key, value in (condition.get(operator) or {}).items()
            if key.lower() == "aws:sourcearn"
        ]
        if not arns:
            patterns.append("*")  # no condition: any API may invoke it
        for value in arns:
            patterns.extend(value if isinstance(value, list) else [value])
    return tuple(patterns)


def discover_routes(apigateway: Any, lambda_client: Any) -> list[Route]:
    """Every route of every HTTP API deployed there with a Lambda proxy integration."""
    routes: list[Route] = []
    for api in apigateway.get_apis().get("Items", []):
        if api.get("ProtocolType") != "HTTP":
            continue
        api_id = api["ApiId"]
        integrations = {
            item["IntegrationId"]: item
            for item in apigateway.get_integrations(ApiId=api_id).get("Items", [])
        }
        authorizers: dict[str, JwtAuthorizer | None] = {}
        policies: dict[str, tuple[str, ...]] = {}
        for raw in apigateway.get_routes(ApiId=api_id).get("Items", []):
            target = str(raw.get("Target") or "")
            integration = integrations.get(target.removeprefix("integrations/"))
            if integration is None or integration.get("IntegrationType") != "AWS_PROXY":
                LOG.info(
                    "%s %s: not a Lambda proxy route, not served", api["Name"], raw["RouteKey"]
                )
                continue
            function_arn = _function_arn(str(integration.get("IntegrationUri", "")))
            authorizer: JwtAuthorizer | None = None
            if raw.get("AuthorizationType") == "JWT":
                authorizer_id = str(raw.get("AuthorizerId"))
                if authorizer_id not in authorizers:
                    found = apigateway.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
                    jwt = found.get("JwtConfiguration") or {}
                    authorizers[authorizer_id] = JwtAuthorizer(
                        authorizer_id=authorizer_id,
                        issuer=str(jwt.get("Issuer", "")),
                        audience=tuple(jwt.get("Audience") or ()),
                        identity_source=tuple(found.get("IdentitySource") or ()),
                    )
                authorizer = authorizers[authorizer_id]
            elif raw.get("AuthorizationType") not in (None, "NONE"):
                LOG.warning(
                    "%s %s: authorization %s is not emulated; the route is not served",
                    api["Name"],
                    raw["RouteKey"],
                    raw.get("AuthorizationType"),
                )
                continue
            if function_arn not in policies:
                policies[function_arn] = _permitted_source_arns(lambda_client, function_arn)
            parts = function_arn.split(":")
            routes.append(
                Route(
                    api_id=api_id,
                    api_name=str(api.get("Name", api_id)),
                    cors=api.get("CorsConfiguration") or None,
                    route_key=str(raw["RouteKey"]),
                    function_arn=function_arn,
                    payload_format_version=str(integration.get("PayloadFormatVersion", "2.0")),
                    authorizer=authorizer,
                    scopes=tuple(raw.get("AuthorizationScopes") or ()),
                    permitted_source_arns=policies[function_arn],
                    region=parts[3] if len(parts) > 4 else "us-east-1",
                    account=parts[4] if len(parts) > 4 else "123456789012",
                )
            )
    return routes


def best_route(
    routes: Sequence[Route], method: str, path: str
) -> tuple[Route, dict[str, str]] | None:
    matches = [(r, p) for r in routes if (p := r.match(method, path)) is not None]
    if not matches:
        return None
    return max(matches, key=lambda pair: pair[0].specificity)
