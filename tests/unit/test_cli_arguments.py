"""mediactl's argument handling and target resolution: no stack needed, nothing leaves the host."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tools.cli import publish
from tools.cli.errors import CliError
from tools.cli.main import main as mediactl
from tools.localstack import StackError, resolve_target


@pytest.fixture
def stack_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MEDIA_STACK_DIR", str(tmp_path))
    monkeypatch.delenv("MEDIA_ENV", raising=False)
    return tmp_path


def _record(directory: Path, pid: int) -> None:
    record = {"pid": pid, "port": 1, "endpoint": "http://127.0.0.1:1", "region": "eu-west-1"}
    (directory / "moto.json").write_text(json.dumps(record))


def test_a_running_local_stack_is_the_default_target(stack_dir: Path) -> None:
    _record(stack_dir, os.getpid())
    target = resolve_target()
    assert target.endpoint == "http://127.0.0.1:1"
    assert target.environment == "local"
    assert target.region == "eu-west-1"


def test_without_a_local_stack_the_target_is_aws_dev(stack_dir: Path) -> None:
    target = resolve_target()
    assert target.endpoint is None
    assert target.environment == "dev"
    assert resolve_target(environment="prod").environment == "prod"


def test_local_without_a_stack_says_to_run_make_up(stack_dir: Path) -> None:
    with pytest.raises(StackError, match="make up"):
        resolve_target(local=True)


def test_a_stale_stack_file_is_not_silently_replaced_by_aws(stack_dir: Path) -> None:
    _record(stack_dir, 2**22 + 12345)  # no such process
    with pytest.raises(StackError, match="no longer running"):
        resolve_target()
    assert resolve_target(aws=True).endpoint is None


def test_contradictory_targets_are_refused(stack_dir: Path) -> None:
    with pytest.raises(StackError, match="contradict"):
        resolve_target(local=True, aws=True)


def test_an_explicit_endpoint_wins(stack_dir: Path) -> None:
    _record(stack_dir, os.getpid())
    assert resolve_target(endpoint="http://127.0.0.1:9").endpoint == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("spec", "file"),
    [
        ("AssetIngested", "AssetIngested/examples/v1/valid-basic.json"),
        ("AssetIngested/valid-basic", "AssetIngested/examples/v1/valid-basic.json"),
        ("AssetRejected/v1/valid-empty.json", "AssetRejected/examples/v1/valid-empty.json"),
    ],
)
def test_examples_are_named_by_event_and_variant(spec: str, file: str) -> None:
    assert publish.example_path(spec) == publish.SCHEMAS / "events" / file


def test_an_unknown_example_lists_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert mediactl(["publish", "AssetIngested/valid-nope", "--dry-run"]) == 1
    error = capsys.readouterr().err
    assert "no example 'valid-nope'" in error
    assert "valid-basic" in error


def test_a_valid_event_file_passes_a_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event, _ = publish.load_event("ThumbnailsGenerated")
    path = tmp_path / "event.json"
    path.write_text(json.dumps(publish.refresh_ids(event)))
    assert mediactl(["publish", str(path), "--dry-run"]) == 0
    assert "valid ThumbnailsGenerated-v1" in capsys.readouterr().out


def test_an_invalid_event_file_is_refused_with_the_failing_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event, _ = publish.load_event("ThumbnailsGenerated")
    event["detail"]["data"]["renditions"][0]["width"] = "wide"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert mediactl(["publish", str(path), "--dry-run"]) == 1
    error = capsys.readouterr().err
    assert "refusing to publish an invalid event" in error
    assert "detail/data/renditions/0/width" in error


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["list", "--limit", "0"],
        ["list", "--status", "lost"],
        ["tail", "--timeout", "-1"],
        ["dlq"],
        ["replay"],
        ["upload"],
    ],
)
def test_wrong_arguments_exit_2_with_usage(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        mediactl(argv)
    assert exited.value.code == 2
    assert "usage: mediactl" in capsys.readouterr().err


def test_replay_reads_times_ago_and_refuses_nonsense() -> None:
    from tools.cli.replay import parse_time

    assert parse_time("30m") < parse_time("now")
    assert parse_time("2026-11-23T10:00:00Z").isoformat() == "2026-11-23T10:00:00+00:00"
    with pytest.raises(CliError, match="cannot read time"):
        parse_time("yesterday-ish")
