"""The interpreter a function runs on: the Lambda runtime's Python version, with only boto3 added.

The artifacts carry compiled dependencies built for the Lambda platform (cp312 manylinux wheels for
the python3.12 runtime), so a worker must run on that exact Python version, whatever the
repository's own virtualenv uses. The Lambda runtime provides the standard library and boto3 and
nothing else; a small virtualenv under ``.local/lambda-venv/<runtime>`` reproduces that, with boto3
pinned to the version the project develops against (requirements/dev.txt).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DEFAULT_VENV_ROOT = REPO / ".local" / "lambda-venv"
DEV_REQUIREMENTS = REPO / "requirements" / "dev.txt"
# What the Lambda Python runtime ships besides the standard library (boto3 and its dependencies).
RUNTIME_PACKAGES = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "python-dateutil",
    "six",
    "urllib3",
)
_RUNTIME = re.compile(r"^python(?P<major>3)\.(?P<minor>[0-9]+)$")


class InterpreterError(RuntimeError):
    """No usable interpreter for a Lambda runtime, or its virtualenv could not be built."""


def runtime_version(runtime: str) -> tuple[int, int]:
    """``"python3.12"`` -> ``(3, 12)``; InterpreterError for a runtime this cannot run."""
    match = _RUNTIME.match(runtime or "")
    if match is None:
        raise InterpreterError(
            f"runtime {runtime!r} is not a Python runtime; the local runtime runs python3.x only"
        )
    return int(match["major"]), int(match["minor"])


def _candidates(version: tuple[int, int]) -> Iterator[Path]:
    name = f"python{version[0]}.{version[1]}"
    explicit = os.environ.get("LAMBDA_PYTHON")
    if explicit:
        yield Path(explicit)
    found = shutil.which(name)
    if found:
        yield Path(found)
    pyenv_root = os.environ.get("PYENV_ROOT") or _pyenv_root()
    if pyenv_root:
        versions = Path(pyenv_root) / "versions"
        prefix = f"{version[0]}.{version[1]}."
        if versions.is_dir():
            matching = [p for p in versions.iterdir() if p.name.startswith(prefix)]
            for folder in sorted(matching, key=_patch_level, reverse=True):
                yield folder / "bin" / name
    for system in ("/usr/local/bin", "/usr/bin", "/opt/homebrew/bin"):
        yield Path(system) / name


def _pyenv_root() -> str | None:
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        home = Path.home() / ".pyenv"
        return str(home) if home.is_dir() else None
    try:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _patch_level(folder: Path) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in folder.name.split("."))
    except ValueError:
        return (-1,)


def _reports_version(python: Path, version: tuple[int, int]) -> bool:
    if not python.is_file() or not os.access(python, os.X_OK):
        return False
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip() == f"{version[0]}.{version[1]}"


def find_python(runtime: str) -> Path:
    """The first interpreter on this machine that is the runtime's exact Python version."""
    version = runtime_version(runtime)
    tried: list[str] = []
    for candidate in _candidates(version):
        if str(candidate) in tried:
            continue
        tried.append(str(candidate))
        if _reports_version(candidate, version):
            return candidate
    name = f"python{version[0]}.{version[1]}"
    raise InterpreterError(
        f"the {runtime} functions need a {name} interpreter (their compiled dependencies are "
        f"built for it) and none was found. Install one, e.g. `pyenv install "
        f"{version[0]}.{version[1]}` or your distribution's {name} package (with its venv "
        f"module), or point LAMBDA_PYTHON at it. Looked at: {', '.join(tried)}"
    )


def runtime_pins(requirements: Path = DEV_REQUIREMENTS) -> list[str]:
    """``name==version`` of the runtime's packages, as pinned for development."""
    wanted = {_normalise(name) for name in RUNTIME_PACKAGES}
    pins = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" not in line:
            continue
        name = line.split("==", 1)[0].split("[", 1)[0]
        if _normalise(name) in wanted:
            pins.append(line)
    missing = wanted - {_normalise(pin.split("==", 1)[0]) for pin in pins}
    if missing:
        raise InterpreterError(f"{requirements} pins none of: {', '.join(sorted(missing))}")
    return sorted(pins)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lambda_venv(
    runtime: str,
    root: Path = DEFAULT_VENV_ROOT,
    pins: Iterable[str] | None = None,
) -> Path:
    """The python of ``root/<runtime>``, created (once, under a lock) with only boto3 pinned."""
    wanted = "\n".join(sorted(pins if pins is not None else runtime_pins())) + "\n"
    venv = root / runtime
    python = venv / "bin" / "python"
    marker = venv / ".runtime-pins"
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{runtime}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and marker.exists() and marker.read_text(encoding="utf-8") == wanted:
            return python
        base = find_python(runtime)
        print(f"[runtime] creating {venv} with {base} and {wanted.split()}", file=sys.stderr)
        shutil.rmtree(venv, ignore_errors=True)
        _run([str(base), "-m", "venv", str(venv)])
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-input",
                *wanted.split(),
            ]
        )
        marker.write_text(wanted, encoding="utf-8")
    return python


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise InterpreterError(
            f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
