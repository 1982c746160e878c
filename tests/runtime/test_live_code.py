"""Live code: an edited handler is picked up by the next invocation, with no new deployment."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.runtime.conftest import HERE, ToyFunction, wait_until
from tools.runtime import LocalRuntime
from tools.runtime.awslambda import read_function

Deploy = Callable[..., tuple[ToyFunction, LocalRuntime]]

# A moto server and the python3.12 workers: the stack tier, not the unit tier.
pytestmark = [pytest.mark.e2e, pytest.mark.runtime]


def source_copy(folder: Path) -> Path:
    """A source tree of the toy package, as a developer has it: toy/__init__.py, toy/handler.py."""
    package = folder / "toy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(HERE / "toy_handler.py", package / "handler.py")
    return package


def test_an_edited_handler_runs_with_the_next_invocation_without_a_deploy(
    deploy: Deploy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given a deployed toy function run with live code from a copy of its source
    source = source_copy(tmp_path / "src")
    toy, runtime = deploy(live_source=source)
    toy.send({"action": "ok", "n": 1})
    wait_until(lambda: len(toy.invocations()) == 1, 30, "the first invocation")
    assert "edited" not in toy.invocations()[0]
    deployed = runtime.lambda_client.get_function(FunctionName=toy.name)["Configuration"]

    # when the handler is edited and saved (not packaged, not deployed)
    caplog.set_level(logging.INFO, logger="tools.runtime")
    handler = source / "handler.py"
    handler.write_text(
        handler.read_text(encoding="utf-8").replace(
            '"pid": os.getpid(),', '"pid": os.getpid(), "edited": "yes",'
        ),
        encoding="utf-8",
    )
    wait_until(lambda: "live code:" in caplog.text and "changed" in caplog.text, 10, "the reload")
    toy.send({"action": "ok", "n": 2})
    wait_until(lambda: len(toy.invocations()) == 2, 30, "the second invocation")

    # then the next invocation ran the edited code, and the runtime's log says why
    assert toy.invocations()[1]["edited"] == "yes"
    assert f"{handler.name}" in caplog.text
    assert f"new workers for {toy.name} on the edited code" in caplog.text
    # and nothing was deployed: the function's code is the same zip as before
    now = runtime.lambda_client.get_function(FunctionName=toy.name)["Configuration"]
    assert now["CodeSha256"] == deployed["CodeSha256"]


def test_without_live_code_the_runtime_runs_only_the_deployed_zip(
    deploy: Deploy, tmp_path: Path
) -> None:
    # given a toy function run as packaged (no live code), and a source copy edited meanwhile
    source = source_copy(tmp_path / "src")
    toy, _ = deploy()
    handler = source / "handler.py"
    handler.write_text(handler.read_text(encoding="utf-8") + "\nraise SystemExit(3)\n")

    # when a message arrives
    toy.send({"action": "ok"})
    wait_until(lambda: len(toy.invocations()) == 1, 30, "an invocation")

    # then it ran the deployed code, which knows nothing of the edit
    assert toy.invocations()[0]["bodies"] == ['{"action": "ok"}']
    assert toy.outcomes[0].invocation.ok


def test_an_edit_reaches_a_function_no_poller_runs_with_its_next_invocation(
    deploy: Deploy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given a function with live code and no event source mapping (an HTTP route's function),
    # invoked once directly (as the API Gateway emulation invokes it)
    source = source_copy(tmp_path / "src")
    toy, runtime = deploy(live_source=source, start=False)
    client = runtime.lambda_client
    for mapping in client.list_event_source_mappings(FunctionName=toy.name)["EventSourceMappings"]:
        client.delete_event_source_mapping(UUID=mapping["UUID"])
    assert runtime.refresh() == []
    runtime.start_live()
    event = {"Records": [{"messageId": "m", "body": "{}", "attributes": {}, "eventSourceARN": "-"}]}
    assert runtime.invoke(read_function(client, toy.name), event).ok

    # when its handler is edited and saved
    caplog.set_level(logging.INFO, logger="tools.runtime")
    handler = source / "handler.py"
    handler.write_text(
        handler.read_text(encoding="utf-8").replace(
            '"pid": os.getpid(),', '"pid": os.getpid(), "edited": "yes",'
        ),
        encoding="utf-8",
    )
    wait_until(lambda: "with its next invocation" in caplog.text, 10, "the reload")

    # then the next invocation runs the edited code, on a new worker, and the log said it would
    assert runtime.invoke(read_function(client, toy.name), event).ok
    before, after = toy.invocations()
    assert "edited" not in before
    assert after["edited"] == "yes"
    assert after["pid"] != before["pid"]
    assert f"new workers for {toy.name} with its next invocation" in caplog.text
