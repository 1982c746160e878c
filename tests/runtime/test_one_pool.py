"""One pool of warm workers per function, whichever event source invokes it.

The API Gateway emulation runs a route's function through ``LocalRuntime.invoke``: on the same
workers the function's SQS mapping uses, with one log and one cold start between them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.conftest import ToyFunction, wait_until
from tools.runtime import LocalRuntime
from tools.runtime.apigateway import HttpGateway, LocalIssuer
from tools.runtime.awslambda import read_function

pytestmark = pytest.mark.runtime

Deploy = Callable[..., tuple[ToyFunction, LocalRuntime]]


def direct_event(n: int) -> dict[str, Any]:
    """An event the toy handler accepts, sent by something other than its queue's poller."""
    body = json.dumps({"action": "ok", "n": n})
    record = {"messageId": f"direct-{n}", "body": body, "attributes": {}, "eventSourceARN": "-"}
    return {"Records": [record]}


def test_the_gateway_runs_a_function_on_the_warm_worker_its_queue_uses(
    deploy: Deploy, tmp_path: Path
) -> None:
    # given a deployed function whose queue's poller has run it once (one cold start)
    toy, runtime = deploy()
    toy.send({"action": "ok", "n": 0})
    wait_until(lambda: len(toy.outcomes) == 1, 30, "the queue's batch")
    gateway = HttpGateway(
        runtime, port=0, web_root=None, issuer=LocalIssuer(key_file=tmp_path / "issuer.pem")
    )
    arn = read_function(runtime.lambda_client, toy.name).arn

    # when the gateway invokes it (as a route's integration does)
    invocation = gateway.invoke(arn, direct_event(1))

    # then it ran warm, in the very worker process the queue's batch ran in
    assert invocation.ok, invocation.error_summary
    assert invocation.init_ms is None
    queued, direct = toy.invocations()
    assert direct["pid"] == queued["pid"]
    assert direct["bodies"] == [json.dumps({"action": "ok", "n": 1})]
    # and the function has one log, with one cold start for both invocations
    log = (tmp_path / "logs" / f"{toy.name}.log").read_text(encoding="utf-8")
    assert log.count("REPORT RequestId") == 2
    assert log.count("Init Duration") == 1


def test_a_function_no_poller_runs_stays_warm_across_refreshes(deploy: Deploy) -> None:
    # given a deployed function without an event source mapping (an HTTP route's function)
    toy, runtime = deploy(start=False)
    for mapping in runtime.lambda_client.list_event_source_mappings(FunctionName=toy.name)[
        "EventSourceMappings"
    ]:
        runtime.lambda_client.delete_event_source_mapping(UUID=mapping["UUID"])
    assert runtime.refresh() == []
    assert runtime.pollers == []
    function = read_function(runtime.lambda_client, toy.name)

    # when it is invoked, the runtime re-reads the deployment, and it is invoked again
    first = runtime.invoke(function, direct_event(1))
    runtime.refresh()
    second = runtime.invoke(read_function(runtime.lambda_client, toy.name), direct_event(2))

    # then the second invocation found the first one's worker still warm
    assert first.ok
    assert second.ok
    assert first.init_ms is not None
    assert second.init_ms is None
    one, two = toy.invocations()
    assert one["pid"] == two["pid"]
