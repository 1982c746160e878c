"""The service roots agree where they must: one shared file set, linked, and the same interface.

What every service root does the same way lives once in ``infra/service-root/`` and is linked
(a relative symlink) into each root; the root's own ``main.tf`` sets the locals the shared files
read. These tests fail when a root stops linking a shared file (a private copy drifts), links
something else under its name, or forgets a local of the interface.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.package import service_names

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "infra" / "service-root"
SHARED_FILES = sorted(path.name for path in SHARED.glob("*.tf"))
_LOCAL_USE = re.compile(r"\blocal\.([a-z_][a-z0-9_]*)")
_LOCALS_BLOCK = re.compile(r"^locals\s*\{(?P<body>.*?)^\}", re.MULTILINE | re.DOTALL)
_ASSIGNED = re.compile(r"^  (?P<name>[a-z_][a-z0-9_]*)\s*=", re.MULTILINE)


def _defined_locals(text: str) -> set[str]:
    return {
        match["name"]
        for block in _LOCALS_BLOCK.finditer(text)
        for match in _ASSIGNED.finditer(block["body"])
    }


def _interface() -> set[str]:
    """The locals the shared files read but do not define: what each root must set."""
    texts = [(SHARED / name).read_text(encoding="utf-8") for name in SHARED_FILES]
    used = {name for text in texts for name in _LOCAL_USE.findall(text)}
    defined = {name for text in texts for name in _defined_locals(text)}
    return used - defined


def test_the_shared_file_set_is_there() -> None:
    # The parametrised tests below must not pass by comparing nothing.
    assert {"backend.tf", "versions.tf", "providers.tf", "service.tf"} <= set(SHARED_FILES)
    assert {"service", "handler", "defaults", "policy_statements"} <= _interface()
    assert len(service_names()) >= 4


@pytest.mark.parametrize("service", service_names())
def test_every_service_root_links_each_shared_file(service: str) -> None:
    # Given a service root
    root = REPO / "services" / service / "infra"
    for name in SHARED_FILES:
        path = root / name
        # Then each shared file is there as a relative link to the one copy, not a copy of it
        assert path.is_symlink(), f"{path.relative_to(REPO)} must link ../../../infra/service-root"
        assert not Path(path.readlink()).is_absolute(), f"{path}: an absolute link breaks clones"
        assert path.resolve() == (SHARED / name).resolve(), f"{path} links elsewhere"


@pytest.mark.parametrize("service", service_names())
def test_every_service_root_sets_the_interface_of_the_shared_files(service: str) -> None:
    # Given the root's own files (not the linked ones)
    root = REPO / "services" / service / "infra"
    own = [p for p in sorted(root.glob("*.tf")) if not p.is_symlink()]
    defined = {name for path in own for name in _defined_locals(path.read_text(encoding="utf-8"))}
    # Then it sets every local the shared files read, and names itself after its folder
    missing = sorted(_interface() - defined)
    assert missing == [], f"{service}: main.tf does not set local(s) {missing}"
    main = (root / "main.tf").read_text(encoding="utf-8")
    assert re.search(rf'^\s*service\s*=\s*"{re.escape(service)}"\s*$', main, re.MULTILINE)


@pytest.mark.parametrize("service", service_names())
def test_no_service_root_declares_again_what_the_shared_files_declare(service: str) -> None:
    shared_text = "\n".join((SHARED / name).read_text(encoding="utf-8") for name in SHARED_FILES)
    block = re.compile(
        r'^(variable|output|provider|module|resource|data)\s+"([^"]+)"(?:\s+"([^"]+)")?'
    )
    shared = {m.groups() for m in map(block.match, shared_text.splitlines()) if m}
    root = REPO / "services" / service / "infra"
    for path in root.glob("*.tf"):
        if path.is_symlink():
            continue
        own = {m.groups() for m in map(block.match, path.read_text().splitlines()) if m}
        assert own & shared == set(), f"{path.relative_to(REPO)} repeats {sorted(own & shared)}"
        assert "terraform {" not in path.read_text(), f"{path}: backend/versions are shared"
