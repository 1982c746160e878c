"""API Gateway HTTP API events (payload format 2.0), as a Lambda proxy integration receives them.

``http_event("POST", "/uploads", body={...})`` is what API Gateway sends after its JWT authorizer
accepted a token of ``issuer`` whose subject is ``subject`` (``subject=None``: a route without an
authorizer, no claims at all), with the space-separated ``scope`` claim if given.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any


def http_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    query: Mapping[str, str] | None = None,
    body: Any = None,
    subject: str | None = "user-1",
    path_parameters: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    issuer: str = "https://issuer.example",
    scope: str | None = None,
) -> dict[str, Any]:
    raw_body = body if isinstance(body, str) or body is None else json.dumps(body)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route or f"{method} {path}",
        "rawPath": path,
        "rawQueryString": urllib.parse.urlencode(query or {}),
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234567",
            "domainName": "api1234567.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "api1234567",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "pytest",
            },
            "requestId": "req-1",
            "routeKey": route or f"{method} {path}",
            "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1_795_000_000_000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if raw_body is not None:
        event["body"] = raw_body
    if subject is not None:
        claims = {"sub": subject, "iss": issuer}
        if scope is not None:
            claims["scope"] = scope  # as API Gateway passes it: one space-separated string
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def json_body(response: Mapping[str, Any]) -> Any:
    """The decoded JSON body of a proxy integration's response."""
    return json.loads(response["body"])
