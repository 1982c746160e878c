"""The moto server's state on disk: saved when it stops, loaded when it starts again.

moto keeps every emulated service in memory (``BackendDict`` objects, one per service: account
-> region -> backend). This module pickles all of them in one go (so objects shared between
services stay shared) into ``<stack>/snapshot/moto.pickle`` and loads them back into a fresh
server before it serves its first request. That is what makes ``make up`` after a stop, a
reboot or a crash of the runtime a warm start: the buckets and their objects, the tables and
their items, the queues and their messages, the functions, and the Terraform state (kept in a
bucket on the same server) come back as they were, ids and ARNs included.

When it saves (in the server process, ``tools.localstack.moto_server``):

* on SIGTERM (``make stop``, a machine shutting down), before the server exits;
* on SIGUSR1 (``make up`` asks for one once every root is applied);
* never on SIGINT (``make down``, which forgets the state anyway).

A server killed outright (SIGKILL, power loss) loses what changed since the last save. A snapshot
that cannot be loaded (another moto version, a damaged file) is reported and the server starts
empty; ``make up`` then applies everything from nothing.
"""

from __future__ import annotations

import copy
import copyreg
import io
import json
import logging
import os
import pickle
import threading
import time
import weakref
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

DIR_VARIABLE = "MEDIA_MOTO_SNAPSHOT_DIR"
RESTORE_VARIABLE = "MEDIA_MOTO_RESTORE"
FILE = "moto.pickle"
SAVED = "saved.json"  # when and why the last snapshot was written
RESTORED = "restored.json"  # what the last start made of the snapshot
FORMAT = 1

log = logging.getLogger("tools.localstack.snapshot")
_saving = threading.Lock()


def folder(stack_directory: Path) -> Path:
    return stack_directory / "snapshot"


def _moto_version() -> str:
    import moto

    return str(moto.__version__)


def _register_reducers() -> None:
    """Locks and events are not picklable; a restored object gets fresh, unlocked ones."""
    for factory in (threading.Lock, threading.RLock):
        copyreg.pickle(type(factory()), lambda _lock, f=factory: (f, ()))  # type: ignore[misc]
    copyreg.pickle(threading.Event, lambda _event: (threading.Event, ()))
    copyreg.pickle(threading.Condition, lambda _condition: (threading.Condition, ()))


def _private_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    return load_der_private_key(der, password=None)


def _public_key(der: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    return load_der_public_key(der)


def _reduce_key(key: Any) -> Any:
    """cryptography's keys (moto's KMS, ACM) as DER bytes, loaded back the same."""
    from cryptography.hazmat.primitives import serialization

    if hasattr(key, "private_bytes"):
        der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return (_private_key, (der,))
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return (_public_key, (der,))


class FreshCopy:
    """A picklable stand-in for a ``defaultdict`` factory that is a lambda or a local function
    (moto has ``defaultdict(lambda: defaultdict(dict))``): it returns a copy of what the original
    factory returned when the snapshot was taken (an empty container, in moto's backends)."""

    def __init__(self, template: Any) -> None:
        self.template = template

    def __call__(self) -> Any:
        return copy.deepcopy(self.template)


def _bare(cls: type[dict[Any, Any]], factory: Any) -> dict[Any, Any]:
    """An empty instance of a ``dict`` subclass, made without calling its ``__init__``.

    moto's SSM ``ParameterDict`` (a ``defaultdict``) takes an account and a region in its
    constructor, so the default reduction (``cls(factory)``) cannot rebuild it.
    """
    made = cls.__new__(cls)
    if isinstance(made, defaultdict):
        defaultdict.__init__(made, factory)
    return made


def _fill(made: dict[Any, Any], state: tuple[dict[str, Any] | None, list[Any]]) -> None:
    """The attributes, then the items as they are stored, bypassing the subclass's methods.

    moto's S3 ``_VersionedKeyStore`` stores a list of versions under each key; its ``items()``
    gives the newest version and its ``__setitem__`` appends one, so the default pickling
    (``items()`` saved, ``obj[key] = value`` loaded) kept only the current version of each key.
    """
    attributes, items = state
    if attributes:
        vars(made).update(attributes)
    dict.update(made, items)


def _moto_mapping(obj: Any) -> bool:
    """A moto ``dict`` subclass, or any ``defaultdict`` subclass (not an ``OrderedDict``)."""
    kind = type(obj)
    if kind is dict or kind is defaultdict or not isinstance(obj, dict):
        return False
    if isinstance(obj, OrderedDict):
        return False
    return isinstance(obj, defaultdict) or kind.__module__.startswith("moto.")


def _by_reference(function: Any) -> bool:
    qualname = getattr(function, "__qualname__", "")
    return "<lambda>" not in qualname and "<locals>" not in qualname


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is weakref.WeakValueDictionary:
            # moto's Lambda index by ARN: its values are held (and pickled) elsewhere too
            return (weakref.WeakValueDictionary, (), None, None, iter(list(obj.items())))
        module = type(obj).__module__
        if module.startswith("cryptography.") and (
            hasattr(obj, "private_bytes") or hasattr(obj, "public_bytes")
        ):
            return _reduce_key(obj)
        factory = getattr(obj, "default_factory", None) if isinstance(obj, defaultdict) else None
        if factory is not None and not _by_reference(factory):
            factory = FreshCopy(factory())
        if type(obj) is defaultdict:
            return (defaultdict, (factory,), None, None, iter(obj.items()))
        if _moto_mapping(obj):
            state = (getattr(obj, "__dict__", None) or None, list(dict.items(obj)))
            return (_bare, (type(obj), factory), state, None, None, _fill)
        return NotImplemented


def _backends() -> dict[str, dict[str, dict[str, Any]]]:
    """service name -> account -> region -> backend, for every service in use."""
    from moto.core.base_backend import BackendDict

    state: dict[str, dict[str, dict[str, Any]]] = {}
    for backends in list(BackendDict._instances):  # type: ignore[misc]
        accounts = {
            account: dict(per_region.items()) for account, per_region in list(backends.items())
        }
        if any(accounts.values()):
            state[backends.service_name] = accounts
    return state


def save(directory: Path, reason: str, attempts: int = 5) -> dict[str, Any]:
    """Pickle every backend into ``directory/moto.pickle`` (atomically); what was saved."""
    _register_reducers()
    began = time.monotonic()
    with _saving:
        for attempt in range(attempts):
            try:
                state = _backends()
                buffer = io.BytesIO()
                _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(
                    {"format": FORMAT, "moto": _moto_version(), "backends": state}
                )
                break
            except RuntimeError:  # a request changed a dict while it was read: read again
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05)
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{FILE}.{os.getpid()}"
        temporary.write_bytes(buffer.getvalue())
        temporary.replace(directory / FILE)
        report = {
            "saved_at": time.time(),
            "reason": reason,
            "seconds": round(time.monotonic() - began, 3),
            "bytes": buffer.tell(),
            "services": sorted(state),
            "moto": _moto_version(),
        }
        (directory / SAVED).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.warning(
        "snapshot saved (%s): %d bytes in %.2f s", reason, report["bytes"], report["seconds"]
    )
    return report


def unpicklable(limit: int = 20) -> list[str]:
    """Where the objects are that cannot be saved: service/account/region/attribute[/key]."""
    found: list[str] = []
    for service, accounts in _backends().items():
        for account, regions in accounts.items():
            for region, backend in regions.items():
                for name, value in vars(backend).items():
                    items = value.items() if isinstance(value, dict) else [("", value)]
                    for key, item in list(items)[:50]:
                        try:
                            _Pickler(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(item)
                        except Exception as error:  # what cannot be pickled, and why
                            where = f"{service}/{account}/{region}/{name}" + (
                                f"[{key!r}]" if key else ""
                            )
                            found.append(f"{where}: {type(error).__name__}: {error}")
                            break
                    if len(found) >= limit:
                        return found
    return found


def failed(directory: Path, reason: str, error: BaseException) -> None:
    """Record that a save failed (the starter reads saved.json and reports it)."""
    log.exception("snapshot not saved (%s)", reason)
    try:
        for problem in unpicklable():
            log.warning("snapshot: cannot save %s", problem)
    except Exception:
        log.exception("snapshot: could not look for what cannot be saved")
    # An older snapshot must not stand for the state of now: none is better than a wrong one.
    (directory / FILE).unlink(missing_ok=True)
    report = {
        "saved_at": time.time(),
        "reason": reason,
        "error": f"{type(error).__name__}: {error}",
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SAVED).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def restore(directory: Path) -> dict[str, Any] | None:
    """Load ``directory/moto.pickle`` into this process's backends; None if there is none.

    Always writes ``restored.json`` (ok, error, seconds, services) for the starter to read.
    """
    path = directory / FILE
    if not path.is_file():
        return None
    _register_reducers()
    began = time.monotonic()
    report: dict[str, Any] = {"ok": False, "file": str(path)}
    try:
        with path.open("rb") as handle:
            document = pickle.load(handle)
        if document.get("format") != FORMAT or document.get("moto") != _moto_version():
            raise ValueError(
                f"written by moto {document.get('moto')} (format {document.get('format')}), "
                f"this is moto {_moto_version()}"
            )
        _install(document["backends"])
        report.update(ok=True, services=sorted(document["backends"]))
    except Exception as error:
        report["error"] = f"{type(error).__name__}: {error}"
        _reset()
    report["seconds"] = round(time.monotonic() - began, 3)
    (directory / RESTORED).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log.warning("snapshot %s", "restored" if report["ok"] else f"not restored: {report['error']}")
    return report


def _install(state: dict[str, dict[str, dict[str, Any]]]) -> None:
    from moto.backends import get_backend

    for service, accounts in state.items():
        backends = get_backend(service)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            per_region = backends[account]  # creates the account's (empty) backend map
            for region, backend in regions.items():
                dict.__setitem__(per_region, region, backend)


def _reset() -> None:
    from moto.core.base_backend import BackendDict

    BackendDict.reset()
