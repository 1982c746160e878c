"""The code a function really runs: the artifact whose SHA-256 is the deployed CodeSha256.

Terraform uploads ``build/lambda/<service>.zip``; Lambda (and moto) report its SHA-256, base64
encoded, as ``CodeSha256``. The runtime looks for the zip with that digest among the build output
(or downloads it from ``get_function``'s ``Code.Location`` when that is a loopback address), and
extracts it once per digest under ``.local/runtime/code/<digest>/``, the local ``/var/task``.
A deployed function whose code matches no local file is an error, never a silent fallback to the
source tree: what runs is what was deployed.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import ipaddress
import shutil
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEFAULT_ARTIFACT_DIRS = (REPO / "build" / "lambda",)
DEFAULT_CODE_ROOT = REPO / ".local" / "runtime" / "code"


class ArtifactError(RuntimeError):
    """The deployed code of a function cannot be found or extracted."""


def code_sha256(path: Path) -> str:
    """SHA-256 of a file, base64 encoded: how Lambda reports CodeSha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode("ascii")


def find_artifact(
    code_sha: str, directories: Iterable[Path] = DEFAULT_ARTIFACT_DIRS
) -> Path | None:
    """The zip among ``directories`` whose CodeSha256 is ``code_sha``, if any."""
    for directory in directories:
        if not directory.is_dir():
            continue
        for candidate in sorted(directory.glob("*.zip")):
            if code_sha256(candidate) == code_sha:
                return candidate
    return None


def _is_loopback_url(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        return False
    if parsed.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parsed.hostname).is_loopback
    except ValueError:
        return False


def download(location: str, target: Path) -> Path | None:
    """Fetch ``Code.Location`` when the backend serves it on loopback; None otherwise."""
    if not _is_loopback_url(location):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(location, timeout=30) as response, target.open("wb") as out:
        shutil.copyfileobj(response, out)
    return target


def _folder_name(code_sha: str) -> str:
    return base64.urlsafe_b64decode(code_sha.encode("ascii")).hex()


def extract(artifact: Path, code_sha: str, root: Path = DEFAULT_CODE_ROOT) -> Path:
    """Extract ``artifact`` once into ``root/<digest>`` (shared by every worker of that code)."""
    actual = code_sha256(artifact)
    if actual != code_sha:
        raise ArtifactError(f"{artifact} has CodeSha256 {actual}, not the deployed {code_sha}")
    target = root / _folder_name(code_sha)
    done = target / ".extracted"
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        staging = root / f".{target.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(artifact) as archive:
            for member in archive.infolist():
                destination = (staging / member.filename).resolve()
                if not destination.is_relative_to(staging.resolve()):
                    raise ArtifactError(f"{artifact}: member {member.filename!r} escapes the root")
            archive.extractall(staging)
            for member in archive.infolist():
                mode = (member.external_attr >> 16) & 0o777
                if mode and not member.is_dir():
                    (staging / member.filename).chmod(mode | 0o400)
        staging.rename(target)
        done.write_text(str(artifact), encoding="utf-8")
    return target
