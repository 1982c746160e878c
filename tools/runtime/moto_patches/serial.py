"""One request at a time: the local moto server made linearizable, as AWS's APIs are.

moto's backends are plain Python objects that the threaded werkzeug server mutates from one
thread per connection, with no locking: a DynamoDB conditional write checks its condition and
stores the item in two steps, SQS hands a visible message to whoever iterates the queue first,
EventBridge fans ``PutEvents`` out to its targets while rules and queues change underneath. Under
the concurrency the local runtime creates (several warm workers per function, four functions),
that loses writes: two ``attribute_not_exists`` creates of one key both win, a revision-conditioned
update overwrites another, a message is received by two consumers, an event never reaches its
target (issue 11; ``tests/runtime/test_moto_atomicity.py`` reproduces each).

:func:`install` makes every request run its backend work under one process-wide lock, so each
API call is atomic with respect to every other, whatever the service: the guarantees the
pipeline relies on (a conditional write wins or fails; a message sent is received; an event a
rule matches reaches its target) then hold by construction rather than by luck. Two things stay
outside the lock so that it never waits on anything but moto's own work:

* reading the request body from the socket (a slow or large upload does not stall other callers);
* an SQS long poll's wait for messages (``ReceiveMessage`` with ``WaitTimeSeconds``): the lock is
  released while the queue waits and taken again before it looks at the messages.

The cost is that moto's backend work no longer interleaves; it was serialised by the GIL anyway,
so throughput changes little (``make bench BENCH=moto`` measures it against plain moto).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["REQUEST_LOCK", "install", "installed"]

REQUEST_LOCK = threading.Lock()
_held = threading.local()


def _buffer_body(environ: dict[str, Any]) -> None:
    """Read the whole request body now (outside the lock) and hand moto an in-memory copy."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return
    if environ.get("wsgi.input_terminated"):
        data = stream.read()
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        data = stream.read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(data)


def _serialised(call: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    def locked_call(app: Any, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        _buffer_body(environ)
        with REQUEST_LOCK:
            _held.value = True
            try:
                response = call(app, environ, start_response)
                try:
                    return list(response)  # the whole answer is computed under the lock
                finally:
                    close = getattr(response, "close", None)
                    if close is not None:
                        close()
            finally:
                _held.value = False

    locked_call._media_pipeline_serial = True  # type: ignore[attr-defined]
    return locked_call


def _waits_unlocked(wait: Callable[[Any, int], None]) -> Callable[[Any, int], None]:
    def wait_for_messages(queue: Any, timeout: int) -> None:
        if not getattr(_held, "value", False):
            wait(queue, timeout)
            return
        REQUEST_LOCK.release()
        _held.value = False
        try:
            wait(queue, timeout)
        finally:
            REQUEST_LOCK.acquire()
            _held.value = True

    return wait_for_messages


def installed() -> bool:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    return bool(getattr(DomainDispatcherApplication.__call__, "_media_pipeline_serial", False))


def install() -> None:
    """Serialise every request of this process's moto server (idempotent)."""
    if installed():
        return
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.sqs.models import Queue

    DomainDispatcherApplication.__call__ = _serialised(  # type: ignore[method-assign]
        DomainDispatcherApplication.__call__
    )
    Queue.wait_for_messages = _waits_unlocked(Queue.wait_for_messages)  # type: ignore[method-assign,assignment]
