"""API Gateway's payload format 2.0: an HTTP request as the event a Lambda proxy integration
gets, and the function's answer as the HTTP response.

The event carries the route key, raw path and query, headers, cookies, path parameters, the
body (base64 unless it is text), the request context (``http``, ``requestId``, ``stage``, time)
and, behind a JWT authorizer, the token's claims (``requestContext.authorizer.jwt``). The answer
is ``statusCode``/``headers``/``multiValueHeaders``/``cookies``/``body`` (``isBase64Encoded``), or
anything else as the body of a 200 JSON answer; a function that raised is a 500, one that timed
out a 503, as API Gateway answers.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tools.runtime.apigateway.authorizer import claims_for_lambda
from tools.runtime.apigateway.routes import Route
from tools.runtime.awslambda import Invocation

_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded))|\+json")


@dataclass
class HttpRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    cookies: list[str] = field(default_factory=list)


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)


def api_event(
    route: Route,
    request: HttpRequest,
    parameters: Mapping[str, str],
    claims: Mapping[str, Any] | None,
    *,
    domain: str,
    request_id: str,
) -> dict[str, Any]:
    """The payload format 2.0 event API Gateway sends a Lambda proxy integration."""
    now = datetime.now(UTC)
    content_type = request.headers.get("content-type", "")
    body: str | None = None
    encoded = False
    if request.body:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and (not content_type or _TEXT_TYPES.search(content_type)):
            body = text
        else:
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
    query: dict[str, list[str]] = urllib.parse.parse_qs(request.query, keep_blank_values=True)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": dict(request.headers),
        "requestContext": {
            "accountId": route.account,
            "apiId": route.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if request.cookies:
        event["cookies"] = list(request.cookies)
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if parameters:
        event["pathParameters"] = dict(parameters)
    if body is not None:
        event["body"] = body
    if claims is not None:
        scopes = str(claims.get("scope") or "").split() or None
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": claims_for_lambda(claims), "scopes": scopes}
        }
    return event


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
        body=json.dumps(body).encode(),
    )


def proxy_response(invocation: Invocation) -> HttpResponse:
    """The function's result as API Gateway (payload 2.0) turns it into an HTTP response."""
    if invocation.timed_out:
        return json_response(503, {"message": "Service Unavailable"})
    if not invocation.ok:
        return json_response(500, {"message": "Internal Server Error"})
    result = invocation.payload
    if not isinstance(result, dict) or "statusCode" not in result:
        # Anything else is taken as the body of a 200 JSON answer.
        return json_response(200, result)
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[str(name).lower()] = ",".join(str(v) for v in values)
    raw = result.get("body")
    if raw is None:
        body = b""
    elif result.get("isBase64Encoded"):
        body = base64.b64decode(str(raw))
    else:
        body = str(raw).encode("utf-8")
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return json_response(500, {"message": "Internal Server Error"})
    headers.setdefault("content-type", "application/json" if body else "text/plain")
    return HttpResponse(status, headers, body, [str(c) for c in result.get("cookies") or []])
