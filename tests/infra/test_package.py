"""The Lambda artifacts tools/package.py builds: reproducible, complete, built for Lambda.

The first run needs PyPI (pip fetches the manylinux wheels once; build/cache/deps keeps them).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tools import package
from tools.package import ARCHITECTURES, Artifact, PackagingError, lambda_interpreter

pytestmark = pytest.mark.network

REPO = package.REPO
SERVICES = package.service_names()
IMAGE_SERVICES = ["ingest", "thumbnailer", "metadata-extractor"]
ELF_MACHINE = {"x86_64": 0x3E, "arm64": 0xB7}  # e_machine in the ELF header


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    output = tmp_path_factory.mktemp("lambda")
    return {name: package.build(name, output_dir=output) for name in SERVICES}


def names_in(artifact: Artifact) -> set[str]:
    with zipfile.ZipFile(artifact.path) as archive:
        return set(archive.namelist())


def test_every_service_folder_is_packaged() -> None:
    assert set(SERVICES) == {"ingest", "thumbnailer", "metadata-extractor", "indexer"}


@pytest.mark.parametrize("service", SERVICES)
def test_a_rebuild_is_byte_identical(
    service: str, artifacts: dict[str, Artifact], tmp_path: Path
) -> None:
    # given an artifact already built
    first = artifacts[service]
    # when the same service is built again elsewhere
    second = package.build(service, output_dir=tmp_path)
    # then the bytes are the same, so Terraform's source_code_hash does not move
    assert second.path.read_bytes() == first.path.read_bytes()
    assert second.sha256 == first.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()


def test_the_zip_ignores_file_times_and_checkout_location(
    artifacts: dict[str, Artifact], tmp_path: Path
) -> None:
    # given a copy of the sources in another place, every file with another modification time
    checkout = tmp_path / "checkout"
    for part in ("shared/media_shared", "schemas", "requirements", "services/indexer"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    for path in checkout.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    # when the indexer is built from the copy
    copy = package.build("indexer", root=checkout, output_dir=tmp_path / "out")
    # then it is the same artifact
    assert copy.sha256 == artifacts["indexer"].sha256


def _indexer_checkout(tmp_path: Path) -> Path:
    checkout = tmp_path / "checkout"
    for part in ("shared/media_shared", "schemas", "requirements", "services/indexer"):
        shutil.copytree(REPO / part, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
    return checkout


def test_an_unchanged_service_is_not_built_again_and_a_changed_one_is(tmp_path: Path) -> None:
    # given the indexer built once from a checkout of its own
    checkout = _indexer_checkout(tmp_path)
    first = package.build("indexer", root=checkout, output_dir=tmp_path / "out")
    written = first.path.stat().st_mtime_ns
    # when it is built again with nothing changed
    again = package.build("indexer", root=checkout, output_dir=tmp_path / "out")
    # then the zip is the one already there, not written again
    assert again == first
    assert again.path.stat().st_mtime_ns == written
    # when one of its sources changes
    logic = checkout / "services" / "indexer" / "indexer" / "logic.py"
    logic.write_text(logic.read_text() + "\n# changed\n")
    changed = package.build("indexer", root=checkout, output_dir=tmp_path / "out")
    # then it is built again, with the change in it
    assert changed.sha256 != first.sha256
    with zipfile.ZipFile(changed.path) as archive:
        assert archive.read("indexer/logic.py").endswith(b"# changed\n")


def test_a_zip_changed_since_it_was_built_is_built_again(tmp_path: Path) -> None:
    # given the indexer built, then its zip overwritten by something else
    checkout = _indexer_checkout(tmp_path)
    first = package.build("indexer", root=checkout, output_dir=tmp_path / "out")
    first.path.write_bytes(b"PK\x05\x06" + bytes(18))
    # when it is built again from the same sources
    again = package.build("indexer", root=checkout, output_dir=tmp_path / "out")
    # then the zip is the real one again
    assert again.sha256 == first.sha256 == hashlib.sha256(again.path.read_bytes()).hexdigest()


@pytest.mark.parametrize("service", SERVICES)
def test_entries_are_sorted_with_fixed_times_and_modes(
    service: str, artifacts: dict[str, Artifact]
) -> None:
    with zipfile.ZipFile(artifacts[service].path) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


@pytest.mark.parametrize("service", SERVICES)
def test_the_zip_has_the_handler_the_shared_library_and_the_schemas(
    service: str, artifacts: dict[str, Artifact]
) -> None:
    names = names_in(artifacts[service])
    pkg = service.replace("-", "_")
    assert f"{pkg}/__init__.py" in names
    assert f"{pkg}/handler.py" in names, "the Lambda entry point <pkg>.handler.lambda_handler"
    assert "media_shared/__init__.py" in names
    assert "media_shared/schemas/envelope/v1.json" in names
    for schema in sorted((REPO / "schemas" / "events").glob("*/v*.json")):
        relative = schema.relative_to(REPO / "schemas").as_posix()
        assert f"media_shared/schemas/{relative}" in names
    # and the pinned runtime dependencies of requirements/lambda.txt
    assert "aws_lambda_powertools/__init__.py" in names
    assert "jsonschema/__init__.py" in names
    assert "aws_xray_sdk/__init__.py" in names


@pytest.mark.parametrize("service", SERVICES)
def test_the_zip_leaves_boto3_to_the_runtime(service: str, artifacts: dict[str, Artifact]) -> None:
    names = names_in(artifacts[service])
    top_level = {name.split("/", 1)[0] for name in names}
    assert not {"boto3", "botocore", "s3transfer", "bin"} & top_level
    assert not [n for n in top_level if n.startswith(("boto3-", "botocore-", "s3transfer-"))]


@pytest.mark.parametrize("service", SERVICES)
def test_every_module_ships_with_python312_bytecode(
    service: str, artifacts: dict[str, Artifact]
) -> None:
    if lambda_interpreter() is None:
        pytest.skip("no python3.12 on this machine: zips carry sources only")
    names = set(names_in(artifacts[service]))
    modules = [n for n in names if n.endswith(".py")]
    missing = [
        n
        for n in modules
        if f"{n.rsplit('/', 1)[0] + '/' if '/' in n else ''}__pycache__/"
        f"{n.rsplit('/', 1)[-1][:-3]}.cpython-312.pyc" not in names
    ]
    assert modules
    assert missing == []
    assert not [n for n in names if n.endswith((".pyo", ".cpython-311.pyc"))]


@pytest.mark.parametrize("service", IMAGE_SERVICES)
def test_image_services_carry_pillow_built_for_lambda_not_the_host(
    service: str, artifacts: dict[str, Artifact]
) -> None:
    artifact = artifacts[service]
    machine = ARCHITECTURES[artifact.architecture]
    core = f"PIL/_imaging.cpython-312-{machine}-linux-gnu.so"
    with zipfile.ZipFile(artifact.path) as archive:
        assert core in archive.namelist(), "CPython 3.12 manylinux build of Pillow"
        header = archive.read(core)[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[artifact.architecture]


@pytest.mark.parametrize("service", IMAGE_SERVICES)
def test_image_services_carry_the_heif_decoder_built_for_lambda_and_no_gpl_encoder(
    service: str, artifacts: dict[str, Artifact]
) -> None:
    # pi-heif (libheif + libde265, LGPL), never pillow-heif's wheel with x265 (GPL) in it
    artifact = artifacts[service]
    machine = ARCHITECTURES[artifact.architecture]
    core = f"_pi_heif.cpython-312-{machine}-linux-gnu.so"
    names = names_in(artifact)
    assert core in names, "CPython 3.12 manylinux build of pi-heif"
    assert any(n.startswith("pi_heif.libs/libheif") for n in names)
    assert not [n for n in names if "x265" in n or n.startswith("pillow_heif")]
    with zipfile.ZipFile(artifact.path) as archive:
        header = archive.read(core)[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[artifact.architecture]


def test_the_indexer_does_not_carry_pillow(artifacts: dict[str, Artifact]) -> None:
    assert not [n for n in names_in(artifacts["indexer"]) if n.startswith("PIL/")]


@pytest.mark.parametrize("service", SERVICES)
def test_the_architecture_is_the_one_the_service_terraform_declares(
    service: str, artifacts: dict[str, Artifact]
) -> None:
    declared = package.declared_architecture(REPO / "services" / service / "infra")
    assert artifacts[service].architecture == (declared or "x86_64")


def test_the_architecture_is_read_from_the_variable_default(tmp_path: Path) -> None:
    # given a variables.tf whose other variables, comments and validation mention other values
    (tmp_path / "variables.tf").write_text(
        """
variable "runtime_arch_note" {
  type    = string
  default = "x86_64"
}

# variable "architecture" { default = "x86_64" }
variable "architecture" {
  description = "Lambda instruction set: \\"x86_64\\" or \\"arm64\\" {braces in a string}"
  type        = string
  default     = "arm64" // Graviton
  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "default = \\"x86_64\\" is not what this says."
  }
}
""",
        encoding="utf-8",
    )
    assert package.declared_architecture(tmp_path) == "arm64"


def test_a_missing_architecture_variable_means_the_default(tmp_path: Path) -> None:
    (tmp_path / "variables.tf").write_text('variable "memory" {\n  default = 256\n}\n')
    assert package.declared_architecture(tmp_path) is None


def test_an_unknown_service_names_the_ones_that_exist() -> None:
    with pytest.raises(PackagingError, match=r"unknown service 'thumbnail'.*thumbnailer"):
        package.build("thumbnail")


def test_a_null_default_means_the_roots_own_local_defaults(tmp_path: Path) -> None:
    # given a service root whose shared variable defaults to null and whose main.tf says its own
    (tmp_path / "service-variables.tf").write_text(
        'variable "batch_size" {\n  type    = number\n  default = null\n}\n'
    )
    (tmp_path / "main.tf").write_text(
        "locals {\n  # defaults = { batch_size = 99 }\n"
        "  defaults = { memory_size = 1536, timeout = 120, batch_size = 5 }\n}\n"
    )
    assert package.variable_default(tmp_path, "batch_size") is None
    assert package.declared_default(tmp_path, "batch_size") == "5"
    assert package.declared_default(tmp_path, "memory_size") == "1536"
    assert package.declared_default(tmp_path, "architecture") is None
