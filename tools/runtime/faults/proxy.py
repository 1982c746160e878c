"""The fault proxy: what AWS does now and then (throttles, 5xx, 403s, partial failures), on demand.

:class:`FaultProxy` is a small HTTP proxy on loopback between the runtime's workers and the moto
server. With no rule it forwards every request unchanged. A :class:`~tools.runtime.faults.Rule`
makes matching calls (``protocol.py`` tells them apart) fail the way AWS fails them, a given
number of times, with some probability, or until the rule is removed; a ``partial`` rule on
``PutEvents`` forwards only some of the entries to the bus and answers the others as failed
(``FailedEntryCount``), so a publisher's entry-by-entry retry is exercised for real. Each
function's workers get their own listening port (:meth:`FaultProxy.endpoint`), so a rule can aim
at one function (``function="thumbnailer"``) without touching the others.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tools.runtime.faults.protocol import Call, error_response, operation_of, service_of
from tools.runtime.faults.rules import Rule

LOG = logging.getLogger("tools.runtime.faults")
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

    # OPTIONS too: a browser preflights the presigned POST a function (on this proxy) made.
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


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
