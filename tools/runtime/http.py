"""The local API Gateway: the deployed HTTP APIs served on loopback, with the web page.

What Terraform deployed is read back through the ``apigatewayv2`` and ``lambda`` APIs (never the
Terraform files): every HTTP API's routes, the integration each route targets (``AWS_PROXY`` to a
Lambda function, payload format 2.0), the route's JWT authorizer (issuer, audience, identity
source), and the function's resource policy. A request is then handled the way API Gateway
handles it:

1. the route is matched (the most specific path wins, ``{name}`` and ``{name+}`` variables);
2. its JWT authorizer validates the token (RS256 signature against the issuer's keys, ``iss``,
   ``exp``, ``nbf``, ``aud`` or ``client_id``, the route's scopes): 401 or 403 otherwise;
3. the function's policy must let ``apigateway.amazonaws.com`` invoke it for this route's
   execute-api ARN (``aws_lambda_permission``): 500 otherwise, as API Gateway answers;
4. the function runs **as packaged**, on warm python3.12 workers from its deployed artifact
   (the same :class:`~tools.runtime.invoker.FunctionPool` as the SQS mappings), with an API
   Gateway v2.0 event; its answer becomes the HTTP response (500 if it raised, 503 on timeout).

The local stack's identity provider is here too (:class:`LocalIssuer`): the issuer named by
``tools.runtime.jwt.LOCAL_JWT_ISSUER`` (what the local roots' ``http_api`` variable sets), with
an RSA key kept in the stack directory. ``POST /local-auth/token`` gives the page a token; on AWS
the page gets one from the real provider instead. Tokens of any other issuer are checked against
the keys its OIDC discovery document names, fetched over the network as API Gateway would.

The page (``web/``) is served from ``/``, with ``/config.json`` telling it where the APIs are:
here, the same origin, so the browser needs no CORS for them; the S3 presigned POST goes to the
moto endpoint, across origins, under the uploads bucket's CORS rules.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import json
import logging
import mimetypes
import re
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tools.runtime.discovery import Function, read_function
from tools.runtime.interpreter import lambda_venv
from tools.runtime.invoker import (
    LOCAL_CREDENTIALS,
    FunctionLog,
    FunctionPool,
    Invocation,
    lambda_environment,
)
from tools.runtime.jwt import (
    DEFAULT_TOKEN_SECONDS,
    AuthorizationError,
    JwtAuthorizer,
    KeySets,
    LocalIssuer,
    claims_for_lambda,
)

if TYPE_CHECKING:
    from tools.runtime.runtime import LocalRuntime

LOG = logging.getLogger("tools.runtime.http")
REPO = Path(__file__).resolve().parents[2]
WEB_ROOT = REPO / "web"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
ROUTES_MAX_AGE = 10.0
#: Invocations in flight per function; more wait (API Gateway would throttle at the stage).
DEFAULT_FUNCTION_CONCURRENCY = 4
_TEXT_TYPES = re.compile(r"^(text/|application/(json|xml|javascript|x-www-form-urlencoded))|\+json")


# --- routes, as deployed -------------------------------------------------------------------------


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


# --- requests -> events -> responses -------------------------------------------------------------


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


def cors_headers(
    cors: Mapping[str, Any] | None, origin: str | None, *, preflight: bool = False
) -> dict[str, str]:
    """The CORS headers API Gateway adds for ``origin`` under an API's CorsConfiguration."""
    if not cors or not origin:
        return {}
    allowed = [str(o) for o in cors.get("AllowOrigins") or []]
    if origin not in allowed and "*" not in allowed:
        return {}
    credentials = bool(cors.get("AllowCredentials"))
    headers = {"access-control-allow-origin": "*" if "*" in allowed and not credentials else origin}
    if credentials:
        headers["access-control-allow-credentials"] = "true"
    if preflight:
        for name, key in (
            ("access-control-allow-methods", "AllowMethods"),
            ("access-control-allow-headers", "AllowHeaders"),
        ):
            if cors.get(key):
                headers[name] = ",".join(str(v) for v in cors[key])
        if cors.get("MaxAge") is not None:
            headers["access-control-max-age"] = str(cors["MaxAge"])
    elif cors.get("ExposeHeaders"):
        headers["access-control-expose-headers"] = ",".join(str(v) for v in cors["ExposeHeaders"])
    return headers


def _json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return HttpResponse(
        status=status,
        headers={"content-type": "application/json", **(headers or {})},
        body=json.dumps(body).encode(),
    )


def proxy_response(invocation: Invocation) -> HttpResponse:
    """The function's result as API Gateway (payload 2.0) turns it into an HTTP response."""
    if invocation.timed_out:
        return _json_response(503, {"message": "Service Unavailable"})
    if not invocation.ok:
        return _json_response(500, {"message": "Internal Server Error"})
    result = invocation.payload
    if not isinstance(result, dict) or "statusCode" not in result:
        # Anything else is taken as the body of a 200 JSON answer.
        return _json_response(200, result)
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
        return _json_response(500, {"message": "Internal Server Error"})
    headers.setdefault("content-type", "application/json" if body else "text/plain")
    return HttpResponse(status, headers, body, [str(c) for c in result.get("cookies") or []])


# --- the gateway ---------------------------------------------------------------------------------


class HttpGateway:
    """The deployed HTTP APIs, the local issuer and the web page on one loopback address."""

    def __init__(
        self,
        runtime: LocalRuntime,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        web_root: Path | None = WEB_ROOT,
        issuer: LocalIssuer | None = None,
        function_concurrency: int = DEFAULT_FUNCTION_CONCURRENCY,
        routes_max_age: float = ROUTES_MAX_AGE,
    ) -> None:
        self.runtime = runtime
        self.host = host
        self.requested_port = port
        self.web_root = web_root
        self.issuer = issuer if issuer is not None else LocalIssuer()
        self.keys = KeySets(self.issuer)
        self.function_concurrency = function_concurrency
        self.routes_max_age = routes_max_age
        options = runtime.options
        session = boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=options.region,
        )
        self.apigateway = session.client("apigatewayv2", endpoint_url=options.endpoint)
        self._routes: list[Route] = []
        self._routes_read = 0.0
        self._routes_lock = threading.Lock()
        self._pools: dict[str, tuple[FunctionPool, threading.BoundedSemaphore]] = {}
        self._pools_lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    @property
    def port(self) -> int:
        return int(self._server.server_address[1]) if self._server else self.requested_port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HttpGateway:
        """Listen (on a free port if the requested one is taken) and serve in a thread."""
        handler = type("Handler", (_Handler,), {"gateway": self})
        try:
            self._server = ThreadingHTTPServer((self.host, self.requested_port), handler)
        except OSError as error:
            if self.requested_port == 0:
                raise
            LOG.warning("port %d is taken (%s): serving on a free port", self.requested_port, error)
            self._server = ThreadingHTTPServer((self.host, 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="http-gateway", daemon=True
        )
        self._thread.start()
        try:
            routes = self.routes(refresh=True)
        except (BotoCoreError, ClientError) as error:
            LOG.warning("cannot read the HTTP APIs yet: %s", error)
            routes = []
        LOG.info(
            "web page and %d API route(s) on %s/ (%s)",
            len(routes),
            self.url,
            ", ".join(r.route_key for r in routes) or "no HTTP API deployed yet",
        )
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool, _ in pools:
            pool.close()

    def __enter__(self) -> HttpGateway:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- routes and functions --

    def routes(self, *, refresh: bool = False) -> list[Route]:
        with self._routes_lock:
            stale = time.monotonic() - self._routes_read > self.routes_max_age
            if refresh or stale:
                self._routes = discover_routes(self.apigateway, self.runtime.lambda_client)
                self._routes_read = time.monotonic()
            return list(self._routes)

    def _pool(self, function: Function) -> tuple[FunctionPool, threading.BoundedSemaphore]:
        configuration = (
            json.dumps(function.environment, sort_keys=True)
            + function.code_sha256
            + str(self.runtime.code_version(function))
        )
        key = f"{function.arn}#{hashlib.sha256(configuration.encode()).hexdigest()[:16]}"
        with self._pools_lock:
            if key in self._pools:
                return self._pools[key]
            stale = [k for k in self._pools if k.split("#", 1)[0] == function.arn]
            for old in stale:
                self._pools.pop(old)[0].close()
        options = self.runtime.options
        task_root = self.runtime.task_root(function)
        log_path = options.log_dir / f"{function.name}.log" if options.log_dir else None
        pool = FunctionPool(
            function,
            python=lambda_venv(function.runtime, options.venv_root),
            task_root=task_root,
            environment=lambda_environment(
                function, task_root=task_root, endpoint=options.endpoint, region=options.region
            ),
            log=FunctionLog(log_path),
        )
        entry = (pool, threading.BoundedSemaphore(self.function_concurrency))
        with self._pools_lock:
            self._pools[key] = entry
        return entry

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        function = read_function(self.runtime.lambda_client, function_arn)
        pool, slots = self._pool(function)
        with slots:
            return pool.invoke(event)

    # -- requests --

    def config(self) -> dict[str, Any]:
        """What the page needs to know: where the APIs are (here) and how to get a token."""
        return {
            "uploadApi": "",
            "readApi": "",
            "auth": {"tokenUrl": "/local-auth/token", "issuer": self.issuer.issuer},
        }

    def handle(self, request: HttpRequest) -> HttpResponse:
        """One request, as API Gateway (or the page's static host) would answer it."""
        request_id = uuid.uuid4().hex
        if request.path.startswith("/local-auth/"):
            return self._auth(request)
        if request.method == "GET" and request.path == "/config.json":
            return _json_response(200, self.config(), {"cache-control": "no-store"})
        origin = request.headers.get("origin")
        asked = request.headers.get("access-control-request-method")
        if request.method == "OPTIONS" and origin and asked:
            return self._preflight(request.path, origin, asked.upper())
        found = best_route(self.routes(), request.method, request.path)
        if found is None and request.method != "GET":
            found = best_route(self.routes(refresh=True), request.method, request.path)
        if found is None:
            if request.method in {"GET", "HEAD"}:
                return self._static(request.path)
            return _json_response(404, {"message": "Not Found"})
        route, parameters = found
        response = self._through(route, parameters, request, request_id)
        response.headers.update(cors_headers(route.cors, origin))
        return response

    def _preflight(self, path: str, origin: str, method: str) -> HttpResponse:
        """API Gateway answers a CORS preflight itself, for an API with a CORS configuration."""
        found = best_route(self.routes(), method, path)
        if found is None or not found[0].cors:
            return _json_response(404, {"message": "Not Found"})
        return HttpResponse(204, cors_headers(found[0].cors, origin, preflight=True), b"")

    def _through(
        self,
        route: Route,
        parameters: Mapping[str, str],
        request: HttpRequest,
        request_id: str,
    ) -> HttpResponse:
        """Authorizer, permission, function: the route's answer."""
        claims: dict[str, Any] | None = None
        if route.authorizer is not None:
            try:
                claims = route.authorizer.validate(request.headers, self.keys, route.scopes)
            except AuthorizationError as refused:
                LOG.info("%s %s: %d (%s)", request.method, request.path, refused.status, refused)
                if refused.status == 403:
                    return _json_response(403, {"message": "Forbidden"})
                return _json_response(
                    401, {"message": "Unauthorized"}, {"www-authenticate": "Bearer"}
                )
        if not route.invocation_permitted(request.path):
            LOG.warning(
                "%s: the function's policy does not let API Gateway invoke it for %s",
                route.route_key,
                route.source_arn(request.path),
            )
            return _json_response(500, {"message": "Internal Server Error"})
        event = api_event(
            route,
            request,
            parameters,
            claims,
            domain=request.headers.get("host", f"{self.host}:{self.port}"),
            request_id=request_id,
        )
        try:
            invocation = self.invoke(route.function_arn, event)
        except Exception as error:
            LOG.error("%s: cannot run %s: %s", route.route_key, route.function_arn, error)
            return _json_response(500, {"message": "Internal Server Error"})
        if not invocation.ok:
            LOG.warning("%s: %s", route.route_key, invocation.error_summary)
        response = proxy_response(invocation)
        response.headers["apigw-requestid"] = request_id
        return response

    def _auth(self, request: HttpRequest) -> HttpResponse:
        base = f"http://{request.headers.get('host', f'{self.host}:{self.port}')}"
        if request.method == "GET" and request.path == "/local-auth/jwks.json":
            return _json_response(200, self.issuer.jwks())
        if (
            request.method == "GET"
            and request.path == "/local-auth/.well-known/openid-configuration"
        ):
            return _json_response(200, self.issuer.discovery(base))
        if request.method == "POST" and request.path == "/local-auth/token":
            subject = "local-user"
            with contextlib.suppress(ValueError, AttributeError):
                asked = json.loads(request.body or b"{}").get("subject")
                if isinstance(asked, str) and re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", asked):
                    subject = asked
            token = self.issuer.mint(subject)
            return _json_response(
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": DEFAULT_TOKEN_SECONDS,
                },
                {"cache-control": "no-store"},
            )
        return _json_response(404, {"message": "Not Found"})

    def _static(self, path: str) -> HttpResponse:
        if self.web_root is None:
            return _json_response(404, {"message": "Not Found"})
        relative = urllib.parse.unquote(path).lstrip("/") or "index.html"
        root = self.web_root.resolve()
        target = (root / relative).resolve()
        if root not in target.parents or not target.is_file():
            return HttpResponse(404, {"content-type": "text/plain"}, b"Not Found")
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        return HttpResponse(
            200,
            {"content-type": content_type, "cache-control": "no-cache"},
            target.read_bytes(),
        )


class _Handler(BaseHTTPRequestHandler):
    gateway: HttpGateway
    protocol_version = "HTTP/1.1"
    server_version = "media-pipeline-local-gateway"

    def _serve(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        cookies = [c.strip() for c in headers.pop("cookie", "").split(";") if c.strip()]
        request = HttpRequest(
            method=self.command,
            path=parsed.path or "/",
            query=parsed.query,
            headers=headers,
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            cookies=cookies,
        )
        started = time.monotonic()
        try:
            response = self.gateway.handle(request)
        except Exception:
            LOG.exception("%s %s failed", self.command, self.path)
            response = _json_response(500, {"message": "Internal Server Error"})
        LOG.debug(
            "%s %s -> %d (%.0f ms)",
            self.command,
            parsed.path,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        for cookie in response.cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s " + format, self.address_string(), *args)
