"""Faults and duplicate deliveries for the local stack: what AWS does now and then, on demand.

:class:`FaultProxy` is a small HTTP proxy on loopback between the runtime's workers and the moto
server. With no rule it forwards every request unchanged. A :class:`Rule` makes matching calls
fail the way AWS fails them (503 ``SlowDown`` from S3, ``ThrottlingException`` or
``ProvisionedThroughputExceededException`` from the JSON APIs, 500s, 403s), a given number of
times, with some probability, or until the rule is removed; a ``partial`` rule on ``PutEvents``
forwards only some of the entries to the bus and answers the others as failed
(``FailedEntryCount``), so a publisher's entry-by-entry retry is exercised for real.

The proxy tells calls apart the way AWS does: the service from the SigV4 credential scope in the
``Authorization`` header (``.../us-east-1/s3/aws4_request``), the operation from ``X-Amz-Target``
(JSON protocols), the ``Action`` parameter (query protocol) or, for S3, the method, path and
query string. Each function's workers get their own listening port (:meth:`FaultProxy.endpoint`),
so a rule can aim at one function (``function="thumbnailer"``) without touching the others.

:class:`DuplicateDeliveries` makes EventBridge deliver every event twice (or more) to the
services' queues, the way at-least-once delivery sometimes does: each rule with an SQS target is
cloned for as long as the context lasts, so every matching event reaches the queue once per copy.

Nothing here is part of what is deployed; it is test and soak machinery for the local stack
(``tests/reliability``, ``tools/soak.py``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_events.type_defs import TargetTypeDef

LOG = logging.getLogger("tools.runtime.faults")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
}
ERROR_KINDS = ("throttle", "server", "unavailable", "denied")


# --------------------------------------------------------------------------------------------
# What a request is
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request as the proxy sees it."""

    function: str | None  # the function whose workers sent it (None: the default listener)
    service: str  # "s3", "dynamodb", "events", "sqs", ... ("unknown" without SigV4)
    operation: str  # "GetObject", "PutItem", "PutEvents", ... ("unknown" if not recognised)
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json_protocol(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/x-amz-json")

    def text(self) -> str:
        """Path and body, for ``Rule.contains``."""
        return self.path + "\n" + self.body.decode("utf-8", "replace")


def service_of(headers: dict[str, str]) -> str:
    match = _SCOPE.search(headers.get("authorization", ""))
    return match.group(1) if match else "unknown"


def s3_operation(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]
) -> str:
    """The S3 operation of a path-style request (the style boto3 uses with an IP endpoint)."""
    parts = path.lstrip("/").split("/", 1)
    bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
    if not bucket:
        return "ListBuckets"
    if not key:
        if method == "GET":
            if "versions" in query:
                return "ListObjectVersions"
            if "uploads" in query:
                return "ListMultipartUploads"
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        if method == "HEAD":
            return "HeadBucket"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, "unknown")
    if method == "GET":
        if "uploadId" in query:
            return "ListParts"
        return "GetObjectTagging" if "tagging" in query else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        copy = "x-amz-copy-source" in headers
        if "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        if "tagging" in query:
            return "PutObjectTagging"
        return "CopyObject" if copy else "PutObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
    return "unknown"


def operation_of(
    service: str,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
) -> str:
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if service == "s3":
        return s3_operation(method, path, query, headers)
    if "Action" in query:
        return query["Action"][0]
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return "unknown"


# --------------------------------------------------------------------------------------------
# Rules and the errors they answer with
# --------------------------------------------------------------------------------------------

# (HTTP status, error code) per kind, by protocol family.
_S3_ERRORS = {
    "throttle": (503, "SlowDown", "Please reduce your request rate."),
    "server": (500, "InternalError", "We encountered an internal error. Please try again."),
    "unavailable": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "denied": (403, "AccessDenied", "Access Denied"),
}
_JSON_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "server": (500, "InternalFailure", "The request processing has failed."),
    "unavailable": (503, "ServiceUnavailable", "Service is unavailable."),
    "denied": (400, "AccessDeniedException", "User is not authorized to perform this action."),
}
_SERVICE_ERRORS = {
    "dynamodb": {
        "throttle": (
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        "server": (500, "InternalServerError", "Internal server error"),
    },
    "events": {"server": (500, "InternalException", "An internal error occurred.")},
}


def error_for(service: str, kind: str) -> tuple[int, str, str]:
    """(status, code, message) AWS answers with for a fault of ``kind`` in ``service``."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(ERROR_KINDS)}")
    if service == "s3":
        return _S3_ERRORS[kind]
    return _SERVICE_ERRORS.get(service, {}).get(kind) or _JSON_ERRORS[kind]


@dataclass(eq=False)
class Rule:
    """Which calls fail, how, and how often.

    A call matches when every given criterion does: ``service`` (SigV4 name: "s3", "dynamodb",
    "events", "sqs"), ``operation`` (API name), ``function`` (the function's name, or its
    service's: "thumbnailer" matches ``media-local-thumbnailer``), ``contains`` (text in the
    percent-decoded path or the body, e.g. an asset id or a key). A matching call fails with
    ``probability`` while fewer than ``times`` calls have failed (``times=None``: until the
    rule is removed). ``partial`` (PutEvents only): the call is forwarded with every other
    entry (the first, third, ... fail) and the response lists those as failed.
    """

    service: str
    operation: str | None = None
    kind: str = "throttle"
    times: int | None = 1
    function: str | None = None
    contains: str | None = None
    probability: float = 1.0
    partial: bool = False
    seed: int | None = None
    hits: int = 0
    failed_entries: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        error_for(self.service, self.kind)  # validates the kind
        if self.partial and (self.service, self.operation) != ("events", "PutEvents"):
            raise ValueError("a partial failure rule is for events PutEvents only")
        if not 0 < self.probability <= 1:
            raise ValueError(f"probability must be in (0, 1], got {self.probability}")
        if self.seed is not None:
            self._random.seed(self.seed)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, call: Call) -> bool:
        if self.service != call.service:
            return False
        if self.operation is not None and self.operation != call.operation:
            return False
        if self.function is not None:
            name = call.function or ""
            if name != self.function and not name.endswith("-" + self.function):
                return False
        return self.contains is None or self.contains in call.text()

    def fires(self, call: Call) -> bool:
        """Whether this call fails (counts it); call with the proxy's lock held."""
        if self.exhausted or not self.matches(call):
            return False
        if self.probability < 1 and self._random.random() >= self.probability:
            return False
        self.hits += 1
        return True


def error_response(call: Call, kind: str) -> tuple[int, dict[str, str], bytes]:
    """The response AWS would send for a fault of ``kind`` on ``call``."""
    status, code, message = error_for(call.service, kind)
    request_id = uuid.uuid4().hex.upper()
    headers = {"x-amzn-requestid": request_id, "x-amz-request-id": request_id}
    if call.json_protocol:
        headers["content-type"] = call.headers["content-type"]
        headers["x-amzn-errortype"] = code
        prefix = "com.amazonaws.dynamodb.v20120810#" if call.service == "dynamodb" else ""
        body = json.dumps({"__type": prefix + code, "message": message}).encode()
    elif call.service == "s3":
        headers["content-type"] = "application/xml"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
    else:
        headers["content-type"] = "text/xml"
        body = (
            f"<ErrorResponse><Error><Type>{'Receiver' if status >= 500 else 'Sender'}</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    if call.method == "HEAD":
        body = b""
    return status, headers, body


# --------------------------------------------------------------------------------------------
# The proxy
# --------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: FaultProxy, function: str | None) -> None:
        self.proxy = proxy
        self.function = function
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK hold every response with a body for ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        service = service_of(headers)
        call = Call(
            function=self.server.function,
            service=service,
            operation=operation_of(service, self.command, split.path, query, headers, body),
            method=self.command,
            path=unquote(split.path),
            query=query,
            headers=headers,
            body=body,
        )
        status, response_headers, response_body = self.server.proxy.answer(call, self.path)
        self.send_response(status)
        for name, value in response_headers.items():
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", response_headers.get("content-length", "0"))
        elif status not in (204, 304):
            self.send_header("Content-Length", str(len(response_body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(response_body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _handle


class FaultProxy:
    """Forwards to ``upstream``; fails what the rules say. One listener per function."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the upstream must be an http:// URL, got {upstream!r}")
        self.upstream = upstream
        self._host = parts.hostname
        self._port = parts.port or 80
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._servers: dict[str | None, _Server] = {}
        self._local = threading.local()
        self.calls: Counter[tuple[str | None, str, str]] = Counter()
        self.failures: Counter[tuple[str | None, str, str]] = Counter()
        self.seconds: dict[tuple[str | None, str, str], float] = {}  # time spent upstream

    # -- listeners ------------------------------------------------------------------------------

    def endpoint(self, function: str | None = None) -> str:
        """The URL the workers of ``function`` (or anyone, for None) should use."""
        with self._lock:
            server = self._servers.get(function)
            if server is None:
                server = _Server(self, function)
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": 0.05},  # a prompt shutdown
                    name=f"fault-proxy-{function or 'default'}",
                    daemon=True,
                )
                thread.start()
                self._servers[function] = server
        return f"http://127.0.0.1:{server.server_address[1]}"

    def close(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in servers:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- rules ----------------------------------------------------------------------------------

    def add(self, *rules: Rule) -> list[Rule]:
        with self._lock:
            self._rules.extend(rules)
        return list(rules)

    def remove(self, *rules: Rule) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if all(r is not gone for gone in rules)]

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    @property
    def rules(self) -> list[Rule]:
        with self._lock:
            return list(self._rules)

    @contextlib.contextmanager
    def injected(self, *rules: Rule) -> Iterator[list[Rule]]:
        """The rules apply inside the ``with`` block only."""
        added = self.add(*rules)
        try:
            yield added
        finally:
            self.remove(*added)

    # -- forwarding -----------------------------------------------------------------------------

    def answer(self, call: Call, raw_path: str) -> tuple[int, dict[str, str], bytes]:
        key = (call.function, call.service, call.operation)
        with self._lock:
            self.calls[key] += 1
            fired = next((rule for rule in self._rules if rule.fires(call)), None)
            if fired is not None:
                self.failures[key] += 1
        if fired is None:
            began = time.perf_counter()
            try:
                return self.forward(call, raw_path, call.body)
            finally:
                with self._lock:
                    spent = time.perf_counter() - began
                    self.seconds[key] = self.seconds.get(key, 0.0) + spent
        LOG.info(
            "fault: %s %s.%s from %s (%s, %d/%s)",
            "partial" if fired.partial else fired.kind,
            call.service,
            call.operation,
            call.function or "-",
            fired.contains or "any",
            fired.hits,
            fired.times if fired.times is not None else "inf",
        )
        if fired.partial:
            return self._partial_put_events(call, raw_path, fired)
        return error_response(call, fired.kind)

    def _partial_put_events(
        self, call: Call, raw_path: str, rule: Rule
    ) -> tuple[int, dict[str, str], bytes]:
        request = json.loads(call.body or b"{}")
        entries = list(request.get("Entries", []))
        failing = [number % 2 == 0 for number in range(len(entries))]
        forwarded = [entry for entry, fails in zip(entries, failing, strict=True) if not fails]
        results: list[dict[str, Any]] = []
        headers = {"content-type": call.headers.get("content-type", "application/x-amz-json-1.1")}
        if forwarded:
            status, headers, body = self.forward(
                call, raw_path, json.dumps({**request, "Entries": forwarded}).encode()
            )
            if status != 200:
                return status, headers, body
            results = list(json.loads(body).get("Entries", []))
        answered: list[dict[str, Any]] = []
        upstream = iter(results)
        for fails in failing:
            if fails:
                answered.append(
                    {"ErrorCode": "InternalFailure", "ErrorMessage": "injected partial failure"}
                )
            else:
                answered.append(next(upstream, {}))
        failed_count = sum(1 for entry in answered if entry.get("ErrorCode"))
        with self._lock:
            rule.failed_entries += sum(failing)
        payload = json.dumps({"FailedEntryCount": failed_count, "Entries": answered}).encode()
        return (
            200,
            {"content-type": headers.get("content-type", "application/x-amz-json-1.1")},
            (payload),
        )

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=120)
            self._local.connection = connection
        return connection

    def forward(self, call: Call, raw_path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        headers = {
            name: value
            for name, value in call.headers.items()
            if name not in _HOP_BY_HOP and name != "content-length"
        }
        headers["content-length"] = str(len(body))
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(call.method, raw_path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    message = f"fault proxy: upstream {self.upstream} failed: {error}"
                    return 502, {"content-type": "text/plain"}, message.encode()
                continue
            if response.getheader("connection", "").lower() == "close":
                connection.close()
                self._local.connection = None
            return response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        raise AssertionError("unreachable")


# --------------------------------------------------------------------------------------------
# Duplicate deliveries
# --------------------------------------------------------------------------------------------

DUPLICATE_MARK = "-dup"


@dataclass(frozen=True)
class ClonedRule:
    bus: str
    name: str
    original: str
    target_ids: tuple[str, ...]


def sampled(pattern: dict[str, Any], digits: int) -> dict[str, Any]:
    """``pattern`` narrowed to events whose id starts with one of the first ``digits`` hex
    digits."""
    narrowed = json.loads(json.dumps(pattern))
    prefixes = [{"prefix": digit} for digit in "0123456789abcdef"[:digits]]
    detail = narrowed.setdefault("detail", {})
    if narrowed.get("source") == ["aws.s3"]:
        detail.setdefault("object", {})["version-id"] = prefixes
    else:
        detail.setdefault("metadata", {})["event_id"] = prefixes
    return dict(narrowed)


def _queue_targets(targets: Iterable[Any]) -> list[TargetTypeDef]:
    return [t for t in targets if ":sqs:" in t.get("Arn", "")]


class DuplicateDeliveries:
    """While active, every event a service rule matches reaches its queue ``1 + copies`` times.

    Clones each rule of ``buses`` that targets an SQS queue (only the queues of ``queue_arns``
    when given, e.g. the services' queues and not a tail's; only rules whose name ``select``
    accepts) under the name ``<rule>-dup<n>``, with the same pattern and those targets.
    EventBridge then delivers one message per rule: the same event, the same ``id``, several
    times, which is what at-least-once delivery amounts to at the consumer.

    ``share`` < 1 duplicates only about that share of the events: the clones' patterns also
    require the event's id (``detail.metadata.event_id``; for S3's events the object's version
    id) to start with one of the first ``round(16 * share)`` hex digits.
    """

    def __init__(
        self,
        events: EventBridgeClient,
        buses: Iterable[str],
        *,
        copies: int = 1,
        queue_arns: Iterable[str] | None = None,
        select: Callable[[str], bool] | None = None,
        share: float = 1.0,
    ) -> None:
        if copies < 1:
            raise ValueError("copies must be at least 1")
        if not 1 / 16 <= share <= 1:
            raise ValueError(f"share must be between 1/16 and 1, got {share}")
        self.events = events
        self.share = share
        self.queue_arns = None if queue_arns is None else set(queue_arns)
        self.buses = list(buses)
        self.copies = copies
        self.select = select
        self.clones: list[ClonedRule] = []

    def _rules(self, bus: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            request: dict[str, Any] = {"EventBusName": bus}
            if token:
                request["NextToken"] = token
            page = self.events.list_rules(**request)
            yield from page.get("Rules", [])  # type: ignore[misc]
            token = page.get("NextToken")
            if not token:
                return

    def __enter__(self) -> DuplicateDeliveries:
        try:
            for bus in self.buses:
                for rule in list(self._rules(bus)):
                    name = str(rule["Name"])
                    if DUPLICATE_MARK in name or not rule.get("EventPattern"):
                        continue
                    if self.select is not None and not self.select(name):
                        continue
                    targets = _queue_targets(
                        self.events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
                    )
                    if self.queue_arns is not None:
                        targets = [t for t in targets if t["Arn"] in self.queue_arns]
                    if not targets:
                        continue
                    for copy in range(1, self.copies + 1):
                        self._clone(bus, rule, targets, copy)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _clone(
        self, bus: str, rule: dict[str, Any], targets: list[TargetTypeDef], copy: int
    ) -> None:
        name = f"{str(rule['Name'])[:56]}{DUPLICATE_MARK}{copy}"
        pattern = str(rule["EventPattern"])
        if self.share < 1:
            pattern = json.dumps(sampled(json.loads(pattern), round(16 * self.share)))
        self.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern=pattern,
            State="ENABLED",
            Description=f"duplicate deliveries of {rule['Name']} (test machinery; temporary)",
        )
        cloned: list[TargetTypeDef] = []
        for target in targets:
            copy_of = dict(target)
            copy_of["Id"] = f"{str(target['Id'])[:58]}{DUPLICATE_MARK}{copy}"
            cloned.append(copy_of)  # type: ignore[arg-type]
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=cloned)
        self.clones.append(
            ClonedRule(bus, name, str(rule["Name"]), tuple(str(t["Id"]) for t in cloned))
        )

    def __exit__(self, *exc_info: object) -> None:
        clones, self.clones = self.clones, []
        for clone in clones:
            try:
                self.events.remove_targets(
                    Rule=clone.name, EventBusName=clone.bus, Ids=list(clone.target_ids)
                )
                self.events.delete_rule(Name=clone.name, EventBusName=clone.bus)
            except Exception as error:  # keep removing the others
                LOG.warning("could not remove duplicate rule %s: %s", clone.name, error)
