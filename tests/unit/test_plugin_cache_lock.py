"""Inits that may fill Terraform's shared plugin cache run one at a time, across processes.

Two ``terraform init`` filling an empty cache at once fail ("failed to create directory ... file
exists"): the stack's bring-up, the least-privilege plans and ``make slow``'s second worker all
init against .local/plugin-cache. Once an init with a root's lock file has succeeded, later inits
with that lock file only link from the cache and need no lock.
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from pathlib import Path

from tools.localstack.terraform import Root, plugin_cache_lock


def _root(tmp_path: Path, lock_text: str | None) -> Root:
    directory = tmp_path / "root"
    directory.mkdir(exist_ok=True)
    if lock_text is not None:
        (directory / ".terraform.lock.hcl").write_text(lock_text, encoding="utf-8")
    return Root(id="platform", directory=directory)


def _hold(cache: str, directory: str, signals: str, wait_for_go: bool) -> None:
    """Another process's init: it holds the lock (if it needs it) a while, then says it is done."""
    flags = Path(signals)
    with plugin_cache_lock({"TF_PLUGIN_CACHE_DIR": cache}, Root("platform", Path(directory))):
        (flags / "holding").touch()
        deadline = time.monotonic() + (10 if wait_for_go else 0.3)
        while time.monotonic() < deadline and not (flags / "go").exists():
            time.sleep(0.01)
        (flags / "released").touch()


def _init_beside_another(tmp_path: Path, root: Root, cache: Path, *, waits: bool) -> bool:
    """Whether an init that starts while another holds the cache ran after the other finished."""
    signals = tmp_path / "signals"
    shutil.rmtree(signals, ignore_errors=True)
    signals.mkdir()
    other = multiprocessing.get_context("fork").Process(
        target=_hold, args=(str(cache), str(root.directory), str(signals), not waits)
    )
    other.start()
    try:
        deadline = time.monotonic() + 30
        while not (signals / "holding").exists():
            assert time.monotonic() < deadline, "the other init never started"
            time.sleep(0.01)
        with plugin_cache_lock({"TF_PLUGIN_CACHE_DIR": str(cache)}, root):
            after = (signals / "released").exists()
            (signals / "go").touch()
    finally:
        other.join(30)
    assert other.exitcode == 0
    return after


def test_an_init_that_may_fill_the_cache_waits_for_the_one_filling_it(tmp_path: Path) -> None:
    root = _root(tmp_path, 'provider "registry.terraform.io/hashicorp/aws" {}\n')
    assert _init_beside_another(tmp_path, root, tmp_path / "cache", waits=True)


def test_after_a_successful_init_the_same_lock_file_links_without_waiting(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    root = _root(tmp_path, 'provider "registry.terraform.io/hashicorp/aws" {}\n')
    with plugin_cache_lock({"TF_PLUGIN_CACHE_DIR": str(cache)}, root):
        pass  # an init that succeeded
    assert not _init_beside_another(tmp_path, root, cache, waits=False)
    # a changed lock file (another provider version) may fill the cache again: it waits
    (root.directory / ".terraform.lock.hcl").write_text("# another version\n", encoding="utf-8")
    assert _init_beside_another(tmp_path, root, cache, waits=True)


def test_a_failed_init_leaves_the_next_one_to_fill_the_cache_alone(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    root = _root(tmp_path, 'provider "registry.terraform.io/hashicorp/aws" {}\n')
    try:
        with plugin_cache_lock({"TF_PLUGIN_CACHE_DIR": str(cache)}, root):
            raise RuntimeError("terraform init failed")
    except RuntimeError:
        pass
    assert list(cache.glob(".filled-*")) == []
    assert _init_beside_another(tmp_path, root, cache, waits=True)
