"""Build a service's Lambda artifact: ``build/lambda/<service>.zip``.

The zip holds, at its root, the service package (``<pkg>/``), the shared library (``media_shared/``
with the event contracts copied to ``media_shared/schemas/``) and the third-party dependencies of
``requirements/lambda.txt`` plus the service's own ``services/<name>/requirements.txt``.

Dependencies are installed for the Lambda platform, never the host: CPython 3.12 manylinux wheels
for the architecture the service's Terraform declares (the default of its ``architecture``
variable). They are pinned to the versions the test suite runs (``requirements/dev.txt`` is the
constraints file) and cached in ``build/cache/deps/<arch>-<hash>`` so a rebuild is a zip away. The
runtime already provides boto3 and botocore, so those and whatever only they need are left out.

A zip is not built again when nothing it is made from changed: ``<zip>.inputs`` beside it holds the
digest of its entries' names and bytes and of the bytecode compiler, and the zip's own SHA-256.

The zip is deterministic: entries sorted, every timestamp 1980-01-01, every mode 0644; building
twice gives the same bytes, and so the same ``source_code_hash``.

It carries bytecode compiled by a python3.12 interpreter (``unchecked-hash`` pycs, source paths
under ``/var/task``): Lambda's code folder is read-only, so without it every cold start compiles
every module it imports (measured by ``make bench``: the largest part of the cold start above its
floor). Without a python3.12 on the machine the zip is built with sources only, and says so.

Run: ``python -m tools.package [SERVICE ...]`` (all services when none is named).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LAMBDA_PYTHON = "3.12"
#: Lambda's architecture names -> the machine names in manylinux wheel tags.
ARCHITECTURES: Mapping[str, str] = {"x86_64": "x86_64", "arm64": "aarch64"}
DEFAULT_ARCHITECTURE = "x86_64"
#: Provided by the python3.12 runtime; packaging them would only shadow the runtime's copies.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = 0o100644  # regular file, rw-r--r--
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
# Bump when the way the dependency tree is built changes, so old caches are not reused.
_RECIPE = "2"


class PackagingError(Exception):
    """A Lambda artifact cannot be built (unknown service, pip failure, bad requirements)."""


@dataclass(frozen=True)
class Service:
    """One deployable service as the repository lays it out."""

    name: str
    root: Path

    @property
    def package(self) -> str:
        return self.name.replace("-", "_")

    @property
    def directory(self) -> Path:
        return self.root / "services" / self.name

    @property
    def source(self) -> Path:
        return self.directory / self.package

    @property
    def infra(self) -> Path:
        return self.directory / "infra"

    @property
    def requirements_file(self) -> Path:
        return self.directory / "requirements.txt"


@dataclass(frozen=True)
class Artifact:
    service: str
    path: Path
    architecture: str
    size: int
    sha256: str

    @property
    def code_sha256(self) -> str:
        """Base64 SHA-256, as Lambda reports CodeSha256 and Terraform's filebase64sha256()."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")

    def describe(self) -> str:
        return (
            f"{self.path}  {self.size / 1024 / 1024:.1f} MiB ({self.size} bytes)  "
            f"{self.architecture}  sha256={self.sha256}"
        )


def service_names(root: Path = REPO) -> list[str]:
    """Every folder under services/ that holds its Python package (services/<name>/<pkg>/)."""
    services = root / "services"
    if not services.is_dir():
        return []
    return sorted(
        entry.name
        for entry in services.iterdir()
        if (entry / entry.name.replace("-", "_")).is_dir()
    )


def get_service(name: str, root: Path = REPO) -> Service:
    known = service_names(root)
    if name not in known:
        listed = ", ".join(known) or "none"
        raise PackagingError(f"unknown service {name!r}; the services are: {listed}")
    return Service(name=name, root=root)


# --- the architecture, from the service's Terraform ------------------------------------------


def _strip_hcl_comments(text: str) -> str:
    """The text with comments blanked out, strings kept (so braces inside strings stay inert)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif char == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _block_body(text: str, header: re.Pattern[str]) -> str | None:
    match = header.search(text)
    if match is None:
        return None
    depth, start = 1, match.end()
    in_string = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if char == "\\":
                continue
            if char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    raise PackagingError("unbalanced braces in a variable block")


# A top-level attribute of the block: nested blocks (validation) sit deeper and are removed first.
_NESTED_BLOCK = re.compile(r"\{[^{}]*\}")
_DEFAULT = re.compile(
    r'^\s*default\s*=\s*(?:"(?P<string>[^"]*)"|(?P<bare>[^\s"{\[]+))\s*$', re.MULTILINE
)


def variable_default(infra_dir: Path, name: str) -> str | None:
    """The default of a root's ``variable "<name>"`` (a string, number or bool literal) in its
    variables.tf or service-variables.tf (the variables every service root links from
    infra/service-root/), as text; None when the variable or a literal default is not there."""
    files = [infra_dir / name for name in ("variables.tf", "service-variables.tf")]
    texts = [path.read_text(encoding="utf-8") for path in files if path.is_file()]
    if not texts:
        return None
    text = _strip_hcl_comments("\n".join(texts))
    header = re.compile(rf'^\s*variable\s+"{re.escape(name)}"\s*\{{', re.MULTILINE)
    body = _block_body(text, header)
    if body is None:
        return None
    previous = None
    while previous != body:
        previous, body = body, _NESTED_BLOCK.sub("", body)
    match = _DEFAULT.search(body)
    if match is None or match["bare"] == "null":
        return None
    return match["string"] if match["string"] is not None else match["bare"]


_SERVICE_DEFAULTS = re.compile(r"^\s*defaults\s*=\s*\{(?P<body>[^{}]*)\}", re.MULTILINE)


def declared_default(infra_dir: Path, name: str) -> str | None:
    """What a service root uses for ``name`` when it is not set: the variable's literal default,
    or, where that is null, the root's ``local.defaults`` entry (its main.tf, see
    infra/service-root/README.md); None when neither is there."""
    value = variable_default(infra_dir, name)
    main = infra_dir / "main.tf"
    if value is not None or not main.is_file():
        return value
    match = _SERVICE_DEFAULTS.search(_strip_hcl_comments(main.read_text(encoding="utf-8")))
    if match is None:
        return None
    entry = re.search(rf"\b{re.escape(name)}\s*=\s*(?P<value>[^\s,}}]+)", match["body"])
    return entry["value"].strip('"') if entry else None


def declared_architecture(infra_dir: Path) -> str | None:
    """The default of ``variable "architecture"`` in the root's variables.tf, if declared."""
    return variable_default(infra_dir, "architecture")


def architecture(service: Service) -> str:
    arch = declared_architecture(service.infra) or DEFAULT_ARCHITECTURE
    if arch not in ARCHITECTURES:
        raise PackagingError(
            f"{service.name}: architecture {arch!r} in {service.infra / 'variables.tf'} is not one "
            f"of {', '.join(ARCHITECTURES)}"
        )
    return arch


# --- third-party dependencies, installed for the Lambda platform -----------------------------


def read_requirements(path: Path) -> list[str]:
    """Requirement lines of a requirements file (comments and blanks dropped, no -r/-c)."""
    if not path.is_file():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            raise PackagingError(f"{path}: options are not supported here: {line!r}")
        lines.append(line)
    return lines


def requirements_for(service: Service) -> list[str]:
    common = read_requirements(service.root / "requirements" / "lambda.txt")
    return sorted(set(common) | set(read_requirements(service.requirements_file)))


def _target_environment(arch: str) -> dict[str, str]:
    """PEP 508 marker values for the Lambda runtime (CPython 3.12 on Amazon Linux 2023)."""
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": LAMBDA_PYTHON,
        "python_full_version": f"{LAMBDA_PYTHON}.0",
        "implementation_version": f"{LAMBDA_PYTHON}.0",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": ARCHITECTURES[arch],
        "platform_release": "",
        "platform_version": "",
    }


def _read_metadata(dist_info: Path) -> tuple[str, list[str]]:
    name, requires = "", []
    for line in (dist_info / "METADATA").read_text(encoding="utf-8").splitlines():
        if not line:
            break  # the headers end at the first blank line
        if line.startswith("Name:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("Requires-Dist:"):
            requires.append(line.split(":", 1)[1].strip())
    return canonicalize_name(name), requires


def prune_runtime_provided(target: Path, roots: Sequence[str], arch: str) -> list[str]:
    """Delete the distributions only boto3/botocore need; returns the names removed.

    Walks Requires-Dist from the requested requirements (markers evaluated for the Lambda
    runtime), never entering RUNTIME_PROVIDED, and removes every installed distribution the walk
    does not reach, file by file from its RECORD.
    """
    installed: dict[str, tuple[Path, list[str]]] = {}
    for dist_info in target.glob("*.dist-info"):
        name, requires = _read_metadata(dist_info)
        installed[name] = (dist_info, requires)
    environment = _target_environment(arch)
    wanted: set[str] = set()
    walked: set[tuple[str, str]] = set()  # (distribution, extra) pairs already expanded
    pending: list[tuple[str, set[str]]] = []
    for line in roots:
        requirement = Requirement(line)
        pending.append((canonicalize_name(requirement.name), set(requirement.extras)))
    while pending:
        name, extras = pending.pop()
        if name in RUNTIME_PROVIDED or name not in installed:
            continue
        wanted.add(name)
        for extra in {"", *extras}:
            if (name, extra) in walked:
                continue
            walked.add((name, extra))
            for line in installed[name][1]:
                requirement = Requirement(line)
                if requirement.marker is None or requirement.marker.evaluate(
                    {**environment, "extra": extra}
                ):
                    pending.append((canonicalize_name(requirement.name), set(requirement.extras)))
    removed = sorted(set(installed) - wanted)
    for name in removed:
        _remove_distribution(target, installed[name][0])
    return removed


def _remove_distribution(target: Path, dist_info: Path) -> None:
    record = dist_info / "RECORD"
    root = target.resolve()
    if record.is_file():
        for line in record.read_text(encoding="utf-8").splitlines():
            relative = line.rsplit(",", 2)[0]
            path = (target / relative).resolve()
            if path.is_relative_to(root) and path.is_file():
                path.unlink()
    shutil.rmtree(dist_info, ignore_errors=True)
    for directory in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _pip_command(
    requirements: Sequence[str], arch: str, target: Path, constraints: Path
) -> list[str]:
    machine = ARCHITECTURES[arch]
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile", "--no-input",
        "--target", str(target),
        # Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels
        # run there, and some (Pillow 13) are published only with that tag; 2014 covers the rest.
        "--platform", f"manylinux_2_28_{machine}",
        "--platform", f"manylinux2014_{machine}",
        "--implementation", "cp",
        "--python-version", LAMBDA_PYTHON,
        "--only-binary=:all:",
    ]  # fmt: skip
    if constraints.is_file():
        command += ["--constraint", str(constraints)]
    return [*command, *requirements]


def dependencies(
    requirements: Sequence[str], arch: str, cache_dir: Path, constraints: Path
) -> Path:
    """A directory with ``requirements`` installed for Lambda, built once per requirements set."""
    key = hashlib.sha256()
    for part in (_RECIPE, LAMBDA_PYTHON, arch, *requirements, *sorted(RUNTIME_PROVIDED)):
        key.update(part.encode() + b"\0")
    if constraints.is_file():
        key.update(constraints.read_bytes())
    cached = cache_dir / f"{arch}-{key.hexdigest()[:16]}"
    if cached.is_dir():
        return cached
    if not requirements:
        cached.mkdir(parents=True, exist_ok=True)
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{cached.name}-", dir=cache_dir))
    try:
        result = subprocess.run(
            _pip_command(requirements, arch, staging, constraints),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise PackagingError(
                f"pip could not install {', '.join(requirements)} for Lambda ({arch}, "
                f"python {LAMBDA_PYTHON}):\n{result.stderr.strip()}"
            )
        prune_runtime_provided(staging, requirements, arch)
        # Console scripts carry the host interpreter in their shebang: no use in a Lambda.
        shutil.rmtree(staging / "bin", ignore_errors=True)
        staging.chmod(0o755)
        try:
            staging.rename(cached)
        except OSError:
            if not cached.is_dir():  # another build raced us to it: theirs is as good
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cached


# --- the zip --------------------------------------------------------------------------------


def _tree(directory: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in directory.rglob("*"):
        relative = path.relative_to(directory)
        if any(part in _SKIPPED_DIRS for part in relative.parts[:-1]):
            continue
        if path.is_dir() or path.suffix in _SKIPPED_SUFFIXES or path.name in _SKIPPED_DIRS:
            continue
        yield f"{prefix}{relative.as_posix()}", path


def artifact_files(service: Service, dependency_dir: Path) -> dict[str, Path]:
    """Archive name -> source file, for everything the service's zip holds."""
    if not (service.source / "__init__.py").is_file():
        raise PackagingError(f"{service.source} is not a Python package (no __init__.py)")
    files: dict[str, Path] = {}
    sources = [
        (dependency_dir, ""),
        (service.root / "shared" / "media_shared", "media_shared/"),
        (service.root / "schemas", "media_shared/schemas/"),
        (service.source, f"{service.package}/"),
    ]
    for directory, prefix in sources:
        for name, path in _tree(directory, prefix):
            if name in files:
                raise PackagingError(f"{name} comes from both {files[name]} and {path}")
            files[name] = path
    return files


def write_zip(files: Mapping[str, Path], destination: Path) -> None:
    """A zip that depends only on the files' names and bytes (not times, owners, or order)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{destination.name}-", dir=destination.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
                info.create_system = 3  # unix, so external_attr carries the mode
                info.external_attr = ZIP_FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED  # at zlib's default level
                archive.writestr(info, files[name].read_bytes())
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


LAMBDA_TASK_ROOT = "/var/task"


def with_bytecode(files: Mapping[str, Path], staging: Path, python: Path) -> dict[str, Path]:
    """``files`` plus ``__pycache__/*.cpython-312.pyc`` for each module, compiled by ``python``.

    unchecked-hash pycs hold a hash of their source rather than its mtime, and the source paths
    they record are rewritten to Lambda's task root, so the bytes depend on the sources alone.
    """
    for name, path in files.items():
        if name.endswith(".py"):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    done = subprocess.run(
        [
            str(python),
            "-I",
            "-m",
            "compileall",
            "-q",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(staging),
            "-p",
            LAMBDA_TASK_ROOT,
            str(staging),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        # A file that does not compile under 3.12 is left as source: Lambda reports it at import.
        print(f"compileall: {done.stdout.strip()[-500:]}", file=sys.stderr)
    compiled = dict(files)
    for pyc in staging.rglob("__pycache__/*.pyc"):
        compiled[pyc.relative_to(staging).as_posix()] = pyc
    return compiled


def lambda_interpreter() -> Path | None:
    """A python3.12 to compile bytecode with, or None (the zip then carries sources only)."""
    from tools.runtime.awslambda import InterpreterError, find_python

    try:
        return find_python(f"python{LAMBDA_PYTHON}")
    except InterpreterError:
        return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build(
    name: str,
    *,
    root: Path = REPO,
    output_dir: Path | None = None,
    cache_dir: Path | None = None,
) -> Artifact:
    """Build services/<name> into ``<output_dir>/<name>.zip`` (default build/lambda)."""
    service = get_service(name, root)
    arch = architecture(service)
    deps = dependencies(
        requirements_for(service),
        arch,
        cache_dir or REPO / "build" / "cache" / "deps",
        root / "requirements" / "dev.txt",
    )
    destination = (output_dir or root / "build" / "lambda") / f"{name}.zip"
    files = artifact_files(service, deps)
    python = lambda_interpreter()
    inputs = inputs_digest(files, deps, python)
    built = _built_from(destination, inputs)
    if built is not None:
        return Artifact(name, destination, arch, destination.stat().st_size, built)
    _inputs_file(destination).unlink(missing_ok=True)
    if python is None:
        print(f"{name}: no python{LAMBDA_PYTHON} found: the zip carries sources only (no bytecode)")
        write_zip(files, destination)
    else:
        with tempfile.TemporaryDirectory(prefix="bytecode-") as staging:
            write_zip(with_bytecode(files, Path(staging), python), destination)
    sha256 = sha256_of(destination)
    recorded = _inputs_file(destination)
    temporary = recorded.with_name(f".{recorded.name}-{os.getpid()}")
    temporary.write_text(f"{inputs} {sha256}\n")
    os.replace(temporary, recorded)
    return Artifact(
        service=name,
        path=destination,
        architecture=arch,
        size=destination.stat().st_size,
        sha256=sha256,
    )


# --- not building what is already built ------------------------------------------------------


def inputs_digest(files: Mapping[str, Path], deps: Path, python: Path | None) -> str:
    """What a zip is made from: its entries' names and bytes, and the bytecode compiler.

    The dependency tree is named by its cache folder, whose name is already the digest of what
    was installed there (:func:`dependencies`), so only the project's own files are read.
    """
    digest = hashlib.sha256()
    compiler = "sources only" if python is None else str(python.resolve())
    for part in (_RECIPE, compiler, deps.resolve().as_posix()):
        digest.update(part.encode() + b"\0")
    deps_prefix = deps.resolve()
    for name in sorted(files):
        path = files[name]
        digest.update(name.encode() + b"\0")
        if not path.resolve().is_relative_to(deps_prefix):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _inputs_file(destination: Path) -> Path:
    return destination.with_name(destination.name + ".inputs")


def _built_from(destination: Path, inputs: str) -> str | None:
    """The zip's SHA-256 when ``destination`` is the zip of exactly ``inputs``, else None.

    ``<zip>.inputs`` records the inputs' digest and the zip's SHA-256 when it is written; a zip
    changed or replaced since then no longer has that SHA-256 and is built again.
    """
    try:
        recorded, sha256 = _inputs_file(destination).read_text().split()
    except (OSError, ValueError):
        return None
    if recorded != inputs or not destination.is_file() or sha256_of(destination) != sha256:
        return None
    return sha256


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.package", description=__doc__.split("\n")[0]
    )
    parser.add_argument("services", nargs="*", help="service names (default: all)")
    parser.add_argument("--output-dir", type=Path, default=None, help="default: build/lambda")
    args = parser.parse_args(argv)
    names = args.services or service_names()
    try:
        for name in names:
            artifact = build(name, output_dir=args.output_dir)
            print(artifact.describe(), flush=True)
    except (PackagingError, InvalidRequirement) as error:
        print(f"package: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
