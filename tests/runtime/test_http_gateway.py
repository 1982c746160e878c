"""The local API Gateway's parts, without a stack: JWT authorizer, routes, events, responses.

The whole gateway, with the deployed APIs and a browser, is exercised by ``tests/browser``.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tools.runtime import RuntimeOptions
from tools.runtime.apigateway import (
    AuthorizationError,
    HttpGateway,
    HttpRequest,
    JwtAuthorizer,
    KeySets,
    LocalIssuer,
    Route,
    api_event,
    best_route,
    cors_headers,
    proxy_response,
)
from tools.runtime.awslambda import Invocation

pytestmark = pytest.mark.runtime

ISSUER = "https://issuer.test.invalid"
AUDIENCE = "web-client"


@pytest.fixture(scope="module")
def issuer() -> LocalIssuer:
    return LocalIssuer(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="module")
def keys(issuer: LocalIssuer) -> KeySets:
    def offline(url: str) -> Any:
        raise OSError(f"no network in unit tests ({url})")

    return KeySets(issuer, fetch=offline)


AUTHORIZER = JwtAuthorizer(authorizer_id="a1", issuer=ISSUER, audience=(AUDIENCE,))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


# --- the JWT authorizer -----------------------------------------------------------------------


def test_a_token_of_the_issuer_for_the_audience_is_accepted_with_its_claims(
    issuer: LocalIssuer, keys: KeySets
) -> None:
    claims = AUTHORIZER.validate(bearer(issuer.mint("alice")), keys)
    assert claims["sub"] == "alice"
    assert claims["iss"] == ISSUER
    # API Gateway takes the token with or without the Bearer prefix
    assert AUTHORIZER.validate({"authorization": issuer.mint("bob")}, keys)["sub"] == "bob"


@pytest.mark.parametrize(
    ("why", "headers"),
    [
        ("no header", {}),
        ("not a JWT", bearer("abc.def")),
        ("garbage", bearer("a.b.c")),
    ],
)
def test_a_request_without_a_usable_token_is_401(
    keys: KeySets, why: str, headers: dict[str, str]
) -> None:
    with pytest.raises(AuthorizationError) as refused:
        AUTHORIZER.validate(headers, keys)
    assert refused.value.status == 401, why


def test_tokens_that_api_gateway_would_refuse_are_refused(
    issuer: LocalIssuer, keys: KeySets, tmp_path: Path
) -> None:
    other_key = LocalIssuer(issuer=ISSUER, audience=AUDIENCE, key_file=tmp_path / "k.pem")
    now = time.time()
    forged = {
        "expired": issuer.mint(lifetime=-1),
        "not yet valid": issuer.mint(extra={"nbf": int(now) + 600}),
        "issued in the future": issuer.mint(now=now + 600),
        "no exp": issuer.mint(extra={"exp": None}),
        "other audience": issuer.mint(audience="someone-else"),
        "other issuer": issuer.mint(issuer="https://elsewhere.invalid"),
        "signed by another key": other_key.mint(),
        "tampered claims": _tamper(issuer.mint("alice"), sub="admin"),
        "alg none": _alg_none(issuer.mint()),
    }
    for why, token in forged.items():
        with pytest.raises(AuthorizationError) as refused:
            AUTHORIZER.validate(bearer(token), keys)
        assert refused.value.status == 401, why


def test_without_an_aud_the_client_id_must_be_an_accepted_audience(
    issuer: LocalIssuer, keys: KeySets
) -> None:
    token = issuer.mint(extra={"aud": None, "client_id": AUDIENCE})
    assert AUTHORIZER.validate(bearer(token), keys)["client_id"] == AUDIENCE


def test_a_route_with_scopes_needs_one_of_them_else_403(issuer: LocalIssuer, keys: KeySets) -> None:
    assert AUTHORIZER.validate(bearer(issuer.mint(scopes=["upload"])), keys, ["upload"])
    with pytest.raises(AuthorizationError) as refused:
        AUTHORIZER.validate(bearer(issuer.mint(scopes=["read"])), keys, ["upload"])
    assert refused.value.status == 403


def test_the_issuer_key_survives_a_restart(tmp_path: Path) -> None:
    first = LocalIssuer(key_file=tmp_path / "issuer.pem")
    token = first.mint()
    again = LocalIssuer(key_file=tmp_path / "issuer.pem")
    authorizer = JwtAuthorizer("a", first.issuer, (first.audience,))
    assert authorizer.validate(bearer(token), KeySets(again))["sub"] == "local-user"
    assert (tmp_path / "issuer.pem").stat().st_mode & 0o777 == 0o600


def test_keys_of_another_issuer_come_from_its_discovery_document(issuer: LocalIssuer) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> Any:
        fetched.append(url)
        if url.endswith("/.well-known/openid-configuration"):
            return {"jwks_uri": "https://idp.example/keys"}
        return issuer.jwks()

    keysets = KeySets(None, fetch=fetch)
    assert keysets.keys("https://idp.example") == issuer.jwks()
    assert fetched == [
        "https://idp.example/.well-known/openid-configuration",
        "https://idp.example/keys",
    ]
    keysets.keys("https://idp.example")
    assert len(fetched) == 2  # cached


def _segments(token: str) -> list[str]:
    return token.split(".")


def _encode(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _decode(segment: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


def _tamper(token: str, **claims: Any) -> str:
    header, payload, signature = _segments(token)
    return ".".join([header, _encode({**_decode(payload), **claims}), signature])


def _alg_none(token: str) -> str:
    header, payload, _ = _segments(token)
    return ".".join([_encode({**_decode(header), "alg": "none"}), payload, ""])


# --- routes -------------------------------------------------------------------------------------


def route(key: str, patterns: tuple[str, ...] = ("*",)) -> Route:
    return Route(
        api_id="abc123",
        api_name="api",
        route_key=key,
        function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        payload_format_version="2.0",
        authorizer=None,
        permitted_source_arns=patterns,
    )


ROUTES = [
    route("GET /assets"),
    route("GET /assets/{asset_id}"),
    route("GET /assets/by-upload"),
    route("GET /files/{path+}"),
    route("POST /uploads"),
    route("ANY /anything"),
]


@pytest.mark.parametrize(
    ("method", "path", "expected", "parameters"),
    [
        ("GET", "/assets", "GET /assets", {}),
        ("GET", "/assets/", "GET /assets", {}),
        ("GET", "/assets/by-upload", "GET /assets/by-upload", {}),
        ("GET", "/assets/abc", "GET /assets/{asset_id}", {"asset_id": "abc"}),
        ("GET", "/assets/a%20b", "GET /assets/{asset_id}", {"asset_id": "a b"}),
        ("GET", "/files/a/b/c.txt", "GET /files/{path+}", {"path": "a/b/c.txt"}),
        ("POST", "/uploads", "POST /uploads", {}),
        ("DELETE", "/anything", "ANY /anything", {}),
    ],
)
def test_the_most_specific_route_takes_a_request(
    method: str, path: str, expected: str, parameters: dict[str, str]
) -> None:
    found = best_route(ROUTES, method, path)
    assert found is not None
    assert found[0].route_key == expected
    assert found[1] == parameters


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/uploads"), ("POST", "/assets"), ("GET", "/assets/a/b")]
)
def test_a_request_no_route_takes_finds_none(method: str, path: str) -> None:
    assert best_route(ROUTES, method, path) is None


def test_the_functions_policy_decides_which_routes_api_gateway_may_invoke() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc123"
    granted = route("GET /assets/{asset_id}", (f"{arn}/*/GET/assets/*",))
    assert granted.invocation_permitted("/assets/x")
    assert not granted.invocation_permitted("/other")
    assert not route("GET /assets", ()).invocation_permitted("/assets")
    other_api = route(
        "GET /assets", ("arn:aws:execute-api:us-east-1:123456789012:zzz/*/GET/assets",)
    )
    assert not other_api.invocation_permitted("/assets")


# --- events and responses -----------------------------------------------------------------------


def test_the_event_is_api_gateways_payload_format_2() -> None:
    request = HttpRequest(
        method="GET",
        path="/assets/abc",
        query="status=indexed&tag=a&tag=b",
        headers={"host": "127.0.0.1:3000", "user-agent": "ua"},
        body=b"",
        cookies=["c=1"],
    )
    event = api_event(
        route("GET /assets/{asset_id}"),
        request,
        {"asset_id": "abc"},
        {"sub": "u", "aud": ["x", "y"], "exp": 5},
        domain="127.0.0.1:3000",
        request_id="r1",
    )
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /assets/{asset_id}"
    assert event["rawPath"] == "/assets/abc"
    assert event["queryStringParameters"] == {"status": "indexed", "tag": "a,b"}
    assert event["pathParameters"] == {"asset_id": "abc"}
    assert event["cookies"] == ["c=1"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["authorizer"]["jwt"]["claims"] == {
        "sub": "u",
        "aud": "[x y]",
        "exp": "5",
    }
    assert "body" not in event


def test_a_binary_body_is_base64_encoded_and_json_is_not() -> None:
    def body_of(content_type: str, body: bytes) -> tuple[Any, Any]:
        request = HttpRequest("POST", "/uploads", "", {"content-type": content_type}, body)
        event = api_event(route("POST /uploads"), request, {}, None, domain="d", request_id="r")
        return event.get("body"), event["isBase64Encoded"]

    assert body_of("application/json", b'{"a": 1}') == ('{"a": 1}', False)
    assert body_of("image/png", b"\x89PNG") == (base64.b64encode(b"\x89PNG").decode(), True)


def test_the_functions_answer_becomes_the_http_response() -> None:
    answer = proxy_response(
        Invocation(
            request_id="r",
            ok=True,
            payload={
                "statusCode": 201,
                "headers": {"Content-Type": "application/json"},
                "body": '{"ok": true}',
                "cookies": ["a=b"],
            },
        )
    )
    assert (answer.status, answer.headers["content-type"], answer.body) == (
        201,
        "application/json",
        b'{"ok": true}',
    )
    assert answer.cookies == ["a=b"]
    plain = proxy_response(Invocation(request_id="r", ok=True, payload={"hello": "world"}))
    assert (plain.status, json.loads(plain.body)) == (200, {"hello": "world"})
    binary = proxy_response(
        Invocation("r", True, {"statusCode": 200, "body": "AAE=", "isBase64Encoded": True})
    )
    assert binary.body == b"\x00\x01"


def test_a_function_that_fails_or_times_out_is_a_5xx_like_api_gateways() -> None:
    failed = proxy_response(Invocation("r", False, error={"errorType": "KeyError"}))
    assert (failed.status, json.loads(failed.body)) == (500, {"message": "Internal Server Error"})
    late = proxy_response(Invocation("r", False, timed_out=True))
    assert late.status == 503


# --- the gateway's own pages (no stack: nothing here reads the deployment) ----------------------


@pytest.fixture
def gateway(tmp_path: Path) -> HttpGateway:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<h1>page</h1>", encoding="utf-8")
    (web / "app.js").write_text("'use strict';", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the browser", encoding="utf-8")
    runtime = SimpleNamespace(
        options=RuntimeOptions(endpoint="http://127.0.0.1:9", region="us-east-1")
    )
    issuer = LocalIssuer(key_file=tmp_path / "issuer.pem")
    # No deployment to read: routes are never refreshed (an empty route table).
    return HttpGateway(
        runtime,  # type: ignore[arg-type]
        port=0,
        web_root=web,
        issuer=issuer,
        routes_max_age=float("inf"),
    )


def _get(gateway: HttpGateway, path: str, method: str = "GET", body: bytes = b"") -> Any:
    return gateway.handle(HttpRequest(method, path, "", {"host": "127.0.0.1:3000"}, body))


def test_the_page_is_served_and_nothing_outside_its_folder(gateway: HttpGateway) -> None:
    index = _get(gateway, "/")
    assert (index.status, index.body) == (200, b"<h1>page</h1>")
    assert index.headers["content-type"].startswith("text/html")
    assert _get(gateway, "/app.js").headers["content-type"].endswith("javascript; charset=utf-8")
    for escape in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        assert _get(gateway, escape).status == 404, escape


def test_the_config_tells_the_page_where_the_apis_are_and_how_to_get_a_token(
    gateway: HttpGateway,
) -> None:
    config = json.loads(_get(gateway, "/config.json").body)
    assert config == {
        "uploadApi": "",
        "readApi": "",
        "auth": {"tokenUrl": "/local-auth/token", "issuer": gateway.issuer.issuer},
    }


def test_the_local_issuer_hands_out_tokens_its_authorizer_accepts(gateway: HttpGateway) -> None:
    answer = _get(gateway, "/local-auth/token", "POST", b'{"subject": "ada"}')
    token = json.loads(answer.body)["access_token"]
    authorizer = JwtAuthorizer("a", gateway.issuer.issuer, (gateway.issuer.audience,))
    assert authorizer.validate(bearer(token), gateway.keys)["sub"] == "ada"
    jwks = json.loads(_get(gateway, "/local-auth/jwks.json").body)
    assert jwks == gateway.issuer.jwks()
    discovery = json.loads(_get(gateway, "/local-auth/.well-known/openid-configuration").body)
    assert discovery["jwks_uri"] == "http://127.0.0.1:3000/local-auth/jwks.json"
    assert discovery["issuer"] == gateway.issuer.issuer


def test_the_runtime_serves_http_on_port_3000_unless_told_otherwise() -> None:
    from tools.runtime import parse_args

    assert parse_args(["--endpoint", "http://127.0.0.1:9"]).http == "127.0.0.1:3000"
    assert parse_args(["--endpoint", "http://x", "--http", "0.0.0.0:8080"]).http == "0.0.0.0:8080"
    assert parse_args(["--endpoint", "http://127.0.0.1:9", "--no-http"]).http is None


# --- CORS, for an API deployed with cors_allowed_origins ----------------------------------------

CORS = {
    "AllowOrigins": ["https://media.example.com"],
    "AllowMethods": ["GET", "POST"],
    "AllowHeaders": ["authorization", "content-type"],
    "MaxAge": 600,
}


def test_an_allowed_origin_gets_api_gateways_cors_headers_and_another_none() -> None:
    preflight = cors_headers(CORS, "https://media.example.com", preflight=True)
    assert preflight == {
        "access-control-allow-origin": "https://media.example.com",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "authorization,content-type",
        "access-control-max-age": "600",
    }
    assert cors_headers(CORS, "https://evil.example") == {}
    assert cors_headers(None, "https://media.example.com") == {}
    assert cors_headers({"AllowOrigins": ["*"]}, "https://a.example") == {
        "access-control-allow-origin": "*"
    }


def test_the_gateway_answers_preflights_and_marks_answers_for_apis_with_cors(
    gateway: HttpGateway,
) -> None:
    gateway._routes = [replace(route("POST /uploads", ()), cors=CORS), route("GET /assets", ())]

    def ask(method: str, path: str, origin: str, **headers: str) -> Any:
        all_headers = {"host": "127.0.0.1:3000", "origin": origin, **headers}
        return gateway.handle(HttpRequest(method, path, "", all_headers, b""))

    allowed = ask(
        "OPTIONS", "/uploads", CORS["AllowOrigins"][0], **{"access-control-request-method": "POST"}
    )
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == "https://media.example.com"
    refused = ask(
        "OPTIONS", "/uploads", "https://evil.example", **{"access-control-request-method": "POST"}
    )
    assert "access-control-allow-origin" not in refused.headers
    # an API without a CORS configuration has no preflight answer
    assert (
        ask("OPTIONS", "/assets", "https://x", **{"access-control-request-method": "GET"}).status
        == 404
    )
    # the actual request: whatever the answer (here 500, the function's policy allows nothing),
    # it carries the CORS headers, as API Gateway adds them to every response of the API
    answer = ask("POST", "/uploads", "https://media.example.com")
    assert answer.status == 500  # no invoke permission in this route's (empty) policy
    assert answer.headers["access-control-allow-origin"] == "https://media.example.com"
