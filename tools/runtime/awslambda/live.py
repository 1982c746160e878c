"""Live code: the source of a function's packages laid over its deployed artifact, and watched.

The deployed artifact stays what runs (its CodeSha256 must match, its dependencies are used as
packaged); with live code, the packages named by :class:`Overlay` s (a service's own package,
``media_shared``, its schemas) are replaced in a per-function copy of the extracted artifact by
their current source. :class:`LiveCode` watches those sources (a stat of every file, every
``interval`` seconds): when one changes, the functions whose artifact holds that package get the
new source laid over a fresh copy and new workers, so the next invocation runs the edited code.
No ``terraform apply``, no new zip; the next ``make up`` sees the change and deploys it.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger("tools.runtime")
_IGNORED = {"__pycache__", ".pytest_cache", ".mypy_cache", "tests"}
DEFAULT_INTERVAL = 0.5


@dataclass(frozen=True)
class Overlay:
    """A source folder and where the artifact carries it (relative to the task root)."""

    source: Path
    target: str

    @classmethod
    def parse(cls, text: str) -> Overlay:
        """``SOURCE=TARGET``, e.g. ``services/ingest/ingest=ingest``."""
        source, separator, target = text.partition("=")
        if not separator or not source or not target or Path(target).is_absolute():
            raise ValueError(f"{text!r}: expected SOURCE=TARGET (TARGET relative to the task root)")
        return cls(Path(source).resolve(), target.strip("/"))


def _signature(folder: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (mtime_ns, size) of every source file under ``folder``."""
    found: dict[str, tuple[int, int]] = {}
    for directory, subdirectories, files in os.walk(folder):
        subdirectories[:] = [d for d in subdirectories if d not in _IGNORED]
        for name in files:
            if name.endswith((".pyc", ".pyo", "~")) or name.startswith(".#"):
                continue
            path = Path(directory) / name
            try:
                status = path.stat()
            except OSError:
                continue
            found[str(path.relative_to(folder))] = (status.st_mtime_ns, status.st_size)
    return found


def _copy_source(source: Path, target: Path) -> None:
    shutil.copytree(
        source,
        target,
        ignore=shutil.ignore_patterns(*_IGNORED, "*.pyc"),
        dirs_exist_ok=True,
    )


class LiveCode:
    """The overlays of a runtime and their watcher."""

    def __init__(self, overlays: Sequence[Overlay], interval: float = DEFAULT_INTERVAL) -> None:
        # Parents before children: media_shared before media_shared/schemas.
        self.overlays = tuple(sorted(overlays, key=lambda o: o.target.count("/")))
        self.interval = interval
        self._seen = {o: _signature(o.source) for o in self.overlays}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def applicable(self, extracted: Path) -> list[Overlay]:
        """The overlays whose package the artifact holds (its top folder exists there)."""
        return [
            o
            for o in self.overlays
            if o.source.is_dir() and (extracted / o.target.split("/")[0]).is_dir()
        ]

    def prepare(self, extracted: Path, destination: Path) -> list[Overlay]:
        """Make ``destination`` a copy of ``extracted`` with the sources laid over; which were."""
        used = self.applicable(extracted)
        staging = destination.with_name(destination.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(destination, ignore_errors=True)
        destination.parent.mkdir(parents=True, exist_ok=True)
        # Hard links: the copy costs no space, and an overlay replaces whole folders, so the
        # extracted artifact (shared by other functions' workers) is never written through.
        shutil.copytree(extracted, staging, copy_function=os.link)
        for overlay in used:
            target = staging / overlay.target
            shutil.rmtree(target, ignore_errors=True)  # its bytecode goes with it
            _copy_source(overlay.source, target)
        staging.rename(destination)
        return used

    def changes(self) -> dict[Overlay, list[str]]:
        """The overlays whose source changed since the last call, with the files that did."""
        changed: dict[Overlay, list[str]] = {}
        for overlay in self.overlays:
            now = _signature(overlay.source)
            before = self._seen[overlay]
            if now != before:
                files = sorted(
                    path for path in set(now) | set(before) if now.get(path) != before.get(path)
                )
                changed[overlay] = files
                self._seen[overlay] = now
        return changed

    def watch(self, on_change: Callable[[dict[Overlay, list[str]]], None]) -> None:
        """Call ``on_change`` (on a thread of its own) whenever sources change, until stopped."""

        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    changed = self.changes()
                    if changed:
                        on_change(changed)
                except Exception:  # a watcher that dies silently would be worse
                    LOG.exception("live code: could not apply a change")

        self._thread = threading.Thread(target=loop, name="live-code", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def describe(changed: dict[Overlay, list[str]], limit: int = 3) -> str:
    names = [str(o.source / f) for o, files in changed.items() for f in files]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def overlays_for(targets: Iterable[str], overlays: Sequence[Overlay]) -> list[Overlay]:
    wanted = set(targets)
    return [o for o in overlays if o.target in wanted]
