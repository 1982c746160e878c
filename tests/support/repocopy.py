"""A temporary copy of the repository (what ``git ls-files`` lists, as in the working tree).

The scaffold tests generate a service in one (``tests/infra/test_scaffold.py``,
``tests/infra/test_scaffold_deploys.py``), never in the repository itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tools.package import REPO

__all__ = ["copy_repository"]


def copy_repository(target: Path) -> Path:
    """The repository's files (tracked and new, as in the working tree) copied into ``target``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            destination.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, destination)
    return target
