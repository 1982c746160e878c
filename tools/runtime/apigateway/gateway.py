"""The local API Gateway: the deployed HTTP APIs served on loopback, with the web page.

What Terraform deployed is read back through the ``apigatewayv2`` and ``lambda`` APIs
(``routes.py``). A request is then handled the way API Gateway handles it:

1. the route is matched (the most specific path wins, ``{name}`` and ``{name+}`` variables);
2. its JWT authorizer validates the token (``authorizer.py``: RS256 signature against the
   issuer's keys, ``iss``, ``exp``, ``nbf``, ``aud`` or ``client_id``, the route's scopes): 401 or
   403 otherwise;
3. the function's policy must let ``apigateway.amazonaws.com`` invoke it for this route's
   execute-api ARN (``aws_lambda_permission``): 500 otherwise, as API Gateway answers;
4. the function runs **as packaged**, through :meth:`LocalRuntime.invoke
   <tools.runtime.awslambda.LocalRuntime.invoke>`: on the same pool of warm python3.12 workers
   its SQS mappings use, with an API Gateway v2.0 event (``payload.py``); its answer becomes the
   HTTP response (500 if it raised, 503 on timeout). CORS is ``cors.py``'s.

The local stack's identity provider is here too (``issuer.py``, :class:`LocalIssuer`):
``POST /local-auth/token`` gives the page a token; on AWS the page gets one from the real
provider instead. Tokens of any other issuer are checked against the keys its OIDC discovery
document names, fetched over the network as API Gateway would.

The page (``web/``) is served from ``/``, with ``/config.json`` telling it where the APIs are:
here, the same origin, so the browser needs no CORS for them; the S3 presigned POST goes to the
moto endpoint, across origins, under the uploads bucket's CORS rules.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mimetypes
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tools.runtime.apigateway.authorizer import AuthorizationError, KeySets
from tools.runtime.apigateway.cors import cors_headers
from tools.runtime.apigateway.issuer import DEFAULT_TOKEN_SECONDS, LocalIssuer
from tools.runtime.apigateway.payload import (
    HttpRequest,
    HttpResponse,
    api_event,
    json_response,
    proxy_response,
)
from tools.runtime.apigateway.routes import Route, best_route, discover_routes
from tools.runtime.awslambda import LOCAL_CREDENTIALS, Invocation, LocalRuntime, read_function

LOG = logging.getLogger("tools.runtime.apigateway")
REPO = Path(__file__).resolve().parents[3]
WEB_ROOT = REPO / "web"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
ROUTES_MAX_AGE = 10.0
#: Invocations in flight per function; more wait (API Gateway would throttle at the stage).
DEFAULT_FUNCTION_CONCURRENCY = 4


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
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
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

    def invoke(self, function_arn: str, event: Mapping[str, Any]) -> Invocation:
        """Run the route's function as configured now, on the runtime's pool of its workers
        (the one its SQS mappings use), at most ``function_concurrency`` at once from here."""
        function = read_function(self.runtime.lambda_client, function_arn)
        with self._slots_lock:
            slots = self._slots.setdefault(
                function.arn, threading.BoundedSemaphore(self.function_concurrency)
            )
        with slots:
            return self.runtime.invoke(function, event)

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
            return json_response(200, self.config(), {"cache-control": "no-store"})
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
            return json_response(404, {"message": "Not Found"})
        route, parameters = found
        response = self._through(route, parameters, request, request_id)
        response.headers.update(cors_headers(route.cors, origin))
        return response

    def _preflight(self, path: str, origin: str, method: str) -> HttpResponse:
        """API Gateway answers a CORS preflight itself, for an API with a CORS configuration."""
        found = best_route(self.routes(), method, path)
        if found is None or not found[0].cors:
            return json_response(404, {"message": "Not Found"})
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
                    return json_response(403, {"message": "Forbidden"})
                return json_response(
                    401, {"message": "Unauthorized"}, {"www-authenticate": "Bearer"}
                )
        if not route.invocation_permitted(request.path):
            LOG.warning(
                "%s: the function's policy does not let API Gateway invoke it for %s",
                route.route_key,
                route.source_arn(request.path),
            )
            return json_response(500, {"message": "Internal Server Error"})
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
            return json_response(500, {"message": "Internal Server Error"})
        if not invocation.ok:
            LOG.warning("%s: %s", route.route_key, invocation.error_summary)
        response = proxy_response(invocation)
        response.headers["apigw-requestid"] = request_id
        return response

    def _auth(self, request: HttpRequest) -> HttpResponse:
        base = f"http://{request.headers.get('host', f'{self.host}:{self.port}')}"
        if request.method == "GET" and request.path == "/local-auth/jwks.json":
            return json_response(200, self.issuer.jwks())
        if (
            request.method == "GET"
            and request.path == "/local-auth/.well-known/openid-configuration"
        ):
            return json_response(200, self.issuer.discovery(base))
        if request.method == "POST" and request.path == "/local-auth/token":
            subject = "local-user"
            with contextlib.suppress(ValueError, AttributeError):
                asked = json.loads(request.body or b"{}").get("subject")
                if isinstance(asked, str) and re.fullmatch(r"[A-Za-z0-9._@-]{1,64}", asked):
                    subject = asked
            token = self.issuer.mint(subject)
            return json_response(
                200,
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": DEFAULT_TOKEN_SECONDS,
                },
                {"cache-control": "no-store"},
            )
        return json_response(404, {"message": "Not Found"})

    def _static(self, path: str) -> HttpResponse:
        if self.web_root is None:
            return json_response(404, {"message": "Not Found"})
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
            response = json_response(500, {"message": "Internal Server Error"})
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
