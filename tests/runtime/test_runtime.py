"""The local runtime runs a deployed function the way Lambda's SQS event source mapping does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.conftest import ToyFunction, wait_until
from tools.runtime import LocalRuntime

pytestmark = pytest.mark.runtime

Deploy = Callable[..., tuple[ToyFunction, LocalRuntime]]


def test_messages_are_delivered_in_batches_of_at_most_the_batch_size_then_deleted(
    deploy: Deploy,
) -> None:
    # given a mapping with batch size 4 and a 2 second batching window, and 9 queued messages
    toy, runtime = deploy(batch_size=4, window=2, start=False)
    toy.send(*({"action": "ok", "n": n} for n in range(9)))

    # when the runtime runs
    runtime.refresh()
    wait_until(lambda: sum(o.size for o in toy.outcomes) == 9, 20, "9 messages handled")

    # then no batch was larger than 4, messages were batched, and every one was deleted
    sizes = [len(i["bodies"]) for i in toy.invocations()]
    assert max(sizes) <= 4
    assert sizes.count(4) >= 2
    assert sorted(json.loads(b)["n"] for i in toy.invocations() for b in i["bodies"]) == list(
        range(9)
    )
    wait_until(lambda: toy.counts(toy.queue_url) == (0, 0), 5, "the queue to be empty")


def test_a_partial_failure_leaves_only_the_failed_message_on_the_queue(deploy: Deploy) -> None:
    # given a mapping that reports batch item failures, and a batch where one message fails
    toy, runtime = deploy(batch_size=10, visibility=30, start=False)
    ids = toy.send({"action": "ok"}, {"action": "fail"}, {"action": "ok"})

    # when the batch has been handled once
    runtime.refresh()
    wait_until(lambda: len(toy.outcomes) >= 1, 20, "one batch")

    # then only the failed message remains, in flight until its visibility timeout ends
    first = toy.outcomes[0]
    assert first.failed_ids == {ids[1]}
    assert toy.counts(toy.queue_url) == (0, 1)


def test_without_report_batch_item_failures_a_raising_handler_keeps_the_whole_batch(
    deploy: Deploy,
) -> None:
    # given a mapping without ReportBatchItemFailures and a batch whose handler raises
    toy, runtime = deploy(report_failures=False, visibility=30, start=False)
    toy.send({"action": "ok"}, {"action": "raise"})

    # when it is invoked
    runtime.refresh()
    wait_until(lambda: len(toy.outcomes) >= 1, 20, "one batch")

    # then nothing is deleted: both messages are in flight, to be retried
    assert toy.outcomes[0].failed == 2
    assert not toy.outcomes[0].invocation.ok
    assert "asked to raise" in toy.outcomes[0].invocation.error["errorMessage"]
    assert toy.counts(toy.queue_url) == (0, 2)


def test_a_message_that_keeps_failing_lands_in_the_dlq_after_max_receive_count(
    deploy: Deploy,
) -> None:
    # given a 1 second visibility timeout and a redrive policy of 2 receives
    toy, _ = deploy(batch_size=10, visibility=1, max_receive_count=2)

    # when a message always fails
    toy.send({"action": "fail", "marker": "poison"}, {"action": "ok"})
    wait_until(lambda: toy.counts(toy.dlq_url)[0] == 1, 20, "a message in the DLQ")

    # then it was invoked exactly twice (receive counts 1 and 2), then moved to the DLQ by SQS
    seen = [
        (json.loads(body).get("marker"), count)
        for invocation in toy.invocations()
        for body, count in zip(invocation["bodies"], invocation["receive_counts"], strict=True)
    ]
    assert [count for marker, count in seen if marker == "poison"] == ["1", "2"]
    assert toy.dead_letters() == [{"action": "fail", "marker": "poison"}]
    wait_until(lambda: toy.counts(toy.queue_url) == (0, 0), 5, "the source queue to be empty")


def test_an_invocation_past_the_function_timeout_is_killed_and_its_batch_retried(
    deploy: Deploy,
) -> None:
    # given a function with a 1 second timeout and a message that takes 5 seconds
    toy, _ = deploy(timeout=1, visibility=1, max_receive_count=1)
    began = time.monotonic()
    toy.send({"action": "sleep", "seconds": 5})

    # when it runs
    wait_until(lambda: len(toy.outcomes) >= 1, 20, "one batch")

    # then the invocation is cut at the timeout, nothing is deleted, and SQS parks the message
    outcome = toy.outcomes[0]
    assert outcome.invocation.timed_out
    assert outcome.invocation.error["errorMessage"] == "Task timed out after 1.00 seconds"
    assert time.monotonic() - began < 4
    wait_until(lambda: toy.counts(toy.dlq_url)[0] == 1, 20, "the message in the DLQ")
    assert toy.invocations() == []  # the handler never got to record a finished invocation


def test_the_handler_runs_as_packaged_with_the_lambda_environment_and_context(
    deploy: Deploy, moto_endpoint: str, tmp_path: Path
) -> None:
    # given a deployed function
    toy, _ = deploy()

    # when it handles a message
    toy.send({"action": "ok"})
    wait_until(lambda: len(toy.invocations()) == 1, 20, "one invocation")
    seen: dict[str, Any] = toy.invocations()[0]

    # then it ran on python3.12 from the extracted zip, with nothing of the repository on its path
    assert seen["python"] == [3, 12]
    assert Path(seen["cwd"]).parent == tmp_path / "code"
    assert seen["sys_path"][0] == seen["cwd"]
    assert not [p for p in seen["sys_path"] if "/.venv/" in p or p.rstrip("/").endswith("/main")]
    # with the function's variables, Lambda's own, and the local endpoint (which boto3 used)
    env = seen["environ"]
    assert env["RECORD_DIR"] == str(toy.record_dir)
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == toy.name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_ENDPOINT_URL"] == moto_endpoint
    assert env["_HANDLER"] == "toy.handler.lambda_handler"
    assert seen["queues_seen"] >= 2
    # and a Lambda context
    context = seen["context"]
    assert context["function_name"] == toy.name
    assert context["memory_limit_in_mb"] == 256
    assert context["invoked_function_arn"].endswith(f":function:{toy.name}")
    assert 0 < context["remaining_ms"] <= 10_000
    assert seen["event_source_arn"].endswith(f":{toy.name}")


def test_workers_stay_warm_between_invocations(deploy: Deploy) -> None:
    # given a deployed function that handled one message
    toy, _ = deploy()
    toy.send({"action": "ok"})
    wait_until(lambda: len(toy.outcomes) == 1, 20, "first invocation")

    # when a second message arrives
    toy.send({"action": "ok"})
    wait_until(lambda: len(toy.outcomes) == 2, 20, "second invocation")

    # then the same process served it, without a second cold start
    first, second = toy.invocations()
    assert first["pid"] == second["pid"]
    assert first["imported_at"] == second["imported_at"]
    assert toy.outcomes[0].invocation.init_ms is not None
    assert toy.outcomes[1].invocation.init_ms is None


def test_concurrency_is_capped_by_the_mapping_maximum_concurrency(deploy: Deploy) -> None:
    # given a mapping of batch size 1 capped at 2 concurrent invocations, and 6 slow messages
    toy, runtime = deploy(batch_size=1, max_concurrency=2, start=False)
    toy.send(*({"action": "sleep", "seconds": 1} for _ in range(6)))

    # when they are handled
    runtime.refresh()
    wait_until(lambda: len(toy.invocations()) == 6, 30, "6 invocations")

    # then at most two ran at any moment, and two did run side by side
    spans = [(i["began"], i["ended"]) for i in toy.invocations()]
    overlap = max(sum(1 for b, e in spans if b <= start < e) for start, _ in spans)
    assert overlap == 2
    assert len({i["pid"] for i in toy.invocations()}) == 2


def test_stopping_waits_for_the_batch_in_flight_and_ends_the_workers(deploy: Deploy) -> None:
    # given a runtime in the middle of a 2 second invocation
    toy, runtime = deploy()
    toy.send({"action": "sleep", "seconds": 2})
    wait_until(lambda: bool(runtime.pollers[0].pool.size), 20, "a worker")
    time.sleep(0.5)
    workers = [w.process for w in runtime.pollers[0].pool._busy]

    # when it is stopped
    runtime.stop()

    # then the batch finished and was deleted, and no worker is left running
    assert len(toy.outcomes) == 1
    assert toy.outcomes[0].invocation.ok
    assert toy.counts(toy.queue_url) == (0, 0)
    assert workers
    assert all(process.poll() is not None for process in workers)


def test_a_deployed_function_without_a_matching_artifact_is_refused(
    deploy: Deploy, tmp_path: Path
) -> None:
    # given a deployed function whose code digest matches no local artifact
    toy, runtime = deploy(start=False)
    (tmp_path / "artifacts" / "toy.zip").write_bytes(b"something else")

    # when the runtime reads the deployment
    problems = runtime.refresh()

    # then it refuses to run it, saying what to do
    assert len(problems) == 1
    assert toy.name in problems[0]
    assert "make package" in problems[0]
    assert runtime.pollers == []


@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": [{"id": "a"}]}, {"a", "b"}),
        ("not an object", {"a", "b"}),
    ],
)
def test_batch_item_failures_are_read_like_lambda_reads_them(
    payload: Any, failed: set[str]
) -> None:
    from tools.runtime.awslambda import Invocation, failed_message_ids

    # given an invocation that returned ``payload`` for messages a and b
    invocation = Invocation(request_id="r", ok=True, payload=payload)

    # when the runtime reads which failed, then an invalid response fails the whole batch
    assert failed_message_ids(invocation, ["a", "b"], True)[0] == failed


def test_the_local_moto_server_does_not_receive_messages_behind_the_runtimes_back(
    deploy: Deploy,
) -> None:
    # given a queue with a mapping on the local moto server, and no runtime polling it
    toy, _ = deploy(max_receive_count=2, start=False)

    # when several messages are sent to it (moto's own poller would receive on every send)
    toy.send(*({"action": "ok"} for _ in range(5)))

    # then they all wait, unreceived, for the runtime: none was counted or moved to the DLQ
    messages = toy.sqs.receive_message(
        QueueUrl=toy.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in messages] == ["1"] * 5
    assert toy.counts(toy.dlq_url) == (0, 0)


def test_the_runtime_command_stops_cleanly_on_sigterm(
    deploy: Deploy, moto_endpoint: str, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    from tests.runtime.conftest import REPO

    # given the runtime command running a deployed function
    toy, _ = deploy(start=False)
    state = tmp_path / "runtime.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.runtime",
            "--endpoint",
            moto_endpoint,
            "--artifacts",
            str(tmp_path / "artifacts"),
            "--function",
            toy.name,
            "--log-dir",
            str(tmp_path / "logs"),
            "--state-file",
            str(state),
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    toy.send({"action": "ok"})
    wait_until(lambda: len(toy.invocations()) == 1, 30, "the command to run the function")
    # (the state is recorded once the pollers run, which can be just after a first invocation)
    wait_until(state.exists, 30, "the command to record its state")
    assert json.loads(state.read_text())["mappings"][0]["function"] == toy.name

    # when it gets SIGTERM
    process.send_signal(signal.SIGTERM)

    # then it exits 0, says so, and removes its state file
    _, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors
    assert "stopped" in errors
    assert f"{toy.name}" in errors
    assert "batch=1 failed=0" in errors
    assert not state.exists()


def test_the_local_moto_server_skips_policy_conditions_it_cannot_evaluate(
    moto_endpoint: str,
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    from tests.runtime.conftest import CREDENTIALS

    # given a bucket whose policy denies plain-HTTP requests, and one that denies every delete
    s3 = boto3.session.Session(**CREDENTIALS).client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket="policy-probe")
    s3.put_bucket_policy(
        Bucket="policy-probe",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::policy-probe", "arn:aws:s3:::policy-probe/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    {
                        "Sid": "DenyDeletes",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:DeleteObject",
                        "Resource": "arn:aws:s3:::policy-probe/*",
                    },
                ],
            }
        ),
    )

    # when objects are written and deleted
    s3.put_object(Bucket="policy-probe", Key="a", Body=b"a")

    # then the statement guarded by a condition moto cannot evaluate does not apply,
    # while an unconditional deny still does
    assert s3.get_object(Bucket="policy-probe", Key="a")["Body"].read() == b"a"
    with pytest.raises(ClientError):
        s3.delete_object(Bucket="policy-probe", Key="a")
