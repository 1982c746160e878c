"""Suite-wide guards and the capture of every event the tests publish.

* No test reaches the network: sockets may connect to loopback only (moto servers started by the
  infrastructure and end-to-end tests live there), unless ``MEDIA_TEST_ENV`` names a deployed
  environment for the end-to-end suite to run against (``make test-deployed``).
* What every collected test uses is recorded before ``-m`` deselects any, so
  tests/unit/test_tiers.py can check that each slow test carries its tier's marker
  (tests/support/tiers.py).
* Every event that goes through ``EventPublisher.publish`` in any test is recorded, so the
  contract tests can re-validate what each service really published (tests/contract).
* Every botocore session of the test process shares one loader of AWS's service models.
  ``mock_aws`` starts each test with a new default boto3 session, and each new session parsed
  the models' JSON again (about two thirds of a mocked test's set-up); the models are read-only.
* Under ``--dist loadscope`` (``make slow``) the xdist workers share the tests by module, every
  module on the session's stack in one unit of work (tests/support/scheduling.py).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import botocore.loaders
import botocore.session
import pytest

from media_shared.envelope import Event
from media_shared.publisher import EventPublisher
from tests.support import capture
from tests.support.tiers import Recorder

_real_connect = socket.socket.connect


_models = botocore.loaders.create_loader()
_create_loader = botocore.session.create_loader


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    """The suite's one loader, unless a session asks for its own data path."""
    return _create_loader(search_path_string) if search_path_string else _models


botocore.session.create_loader = _shared_loader  # type: ignore[assignment]


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
        raise OSError(f"tests may not reach the network (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_network() -> Iterator[None]:
    if os.environ.get("MEDIA_TEST_ENV"):  # make test-deployed: the environment is over there
        yield
        return
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _capture_published() -> Iterator[list[dict[str, Any]]]:
    real_publish = EventPublisher.publish

    def publish(self: EventPublisher, events: Any) -> list[str]:
        ids = real_publish(self, events)
        capture.record([event.as_event() for event in events if isinstance(event, Event)])
        return ids

    EventPublisher.publish = publish  # type: ignore[method-assign]
    yield capture.PUBLISHED
    EventPublisher.publish = real_publish  # type: ignore[method-assign]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope``: by module, the session stack's modules as one unit of work."""
    if config.getoption("dist", None) != "loadscope":
        return None
    from tests.support.scheduling import StackScheduling

    return StackScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    """Record what every collected test uses, for the tier check (tests/support/tiers.py)."""
    config.pluginmanager.register(Recorder(), "tiers-recorder")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the published-events contract last, after every test that publishes.

    In one process (``make test``, ``make contract``) it then sees every event. ``make unit``
    runs on several workers and so leaves it out, then runs it alone on what the workers wrote
    (``MEDIA_PUBLISHED_DIR``: tests/support/capture.py).
    """
    last = [item for item in items if "test_published_events" in item.nodeid]
    rest = [item for item in items if "test_published_events" not in item.nodeid]
    items[:] = rest + last
