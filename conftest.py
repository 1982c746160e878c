"""Suite-wide guards and the capture of every event the tests publish.

* No test reaches the network: sockets may connect to loopback only (moto servers started by the
  infrastructure and end-to-end tests live there), unless ``MEDIA_TEST_ENV`` names a deployed
  environment for the end-to-end suite to run against (``make test-deployed``).
* What every collected test uses is recorded before ``-m`` deselects any, so
  tests/unit/test_tiers.py can check that each slow test carries its tier's marker
  (tests/support/tiers.py).
* Every event that goes through ``EventPublisher.publish`` in any test is recorded, so the
  contract tests can re-validate what each service really published (tests/contract).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from media_shared.envelope import Event
from media_shared.publisher import EventPublisher
from tests.support.capture import PUBLISHED
from tests.support.tiers import Recorder

_real_connect = socket.socket.connect
# The tests whose published events tests/contract/test_published_events.py checks.
PUBLISHERS = ("services/", "tests/unit/test_publisher.py")


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
        PUBLISHED.extend(event.as_event() for event in events if isinstance(event, Event))
        return ids

    EventPublisher.publish = publish  # type: ignore[method-assign]
    yield PUBLISHED
    EventPublisher.publish = real_publish  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    """Record what every collected test uses, for the tier check (tests/support/tiers.py)."""
    config.pluginmanager.register(Recorder(), "tiers-recorder")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers it adds
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the published-events contract last, after every test that publishes.

    Under pytest-xdist (``make unit`` runs ``-n 2 --dist loadgroup``) the services' tests and that
    contract form one group (``PUBLISHERS``: the services' tests and the publisher's, which
    publishes what no service test does), run in this order on one worker, so it sees every event.
    """
    last = [item for item in items if "test_published_events" in item.nodeid]
    rest = [item for item in items if "test_published_events" not in item.nodeid]
    items[:] = rest + last
    for item in items:
        if item in last or item.nodeid.startswith(PUBLISHERS):
            item.add_marker(pytest.mark.xdist_group("published"))
