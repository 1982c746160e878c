"""Fixtures of the runtime tests: a moto server on loopback and toy functions deployed to it.

A toy function is what Terraform would create, made with boto3: a zip of ``toy_handler.py``
(as ``toy/handler.py``), a queue with a DLQ and a redrive policy, a Lambda function with an
environment, and an SQS event source mapping. The runtime then runs it from the zip.
"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tools.runtime import LocalRuntime, RuntimeOptions
from tools.runtime.awslambda import BatchOutcome, Overlay

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
REGION = "us-east-1"
CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "region_name": REGION,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tools.localstack.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


def toy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("toy/__init__.py", "")
        archive.writestr("toy/handler.py", (HERE / "toy_handler.py").read_text(encoding="utf-8"))
    return buffer.getvalue()


@dataclass
class ToyFunction:
    """One deployed toy function and what its runs left behind."""

    name: str
    queue_url: str
    dlq_url: str
    record_dir: Path
    endpoint: str
    sqs: Any
    outcomes: list[BatchOutcome] = field(default_factory=list)

    def send(self, *bodies: dict[str, Any]) -> list[str]:
        ids = []
        for body in bodies:
            ids.append(
                self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))[
                    "MessageId"
                ]
            )
        return ids

    def invocations(self) -> list[dict[str, Any]]:
        path = self.record_dir / "invocations.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    def counts(self, url: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def deploy(
    moto_endpoint: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[ToyFunction, LocalRuntime]]]:
    """Deploy a toy function (options as keywords) and start a runtime on it."""
    session = boto3.session.Session(**CREDENTIALS)
    sqs = session.client("sqs", endpoint_url=moto_endpoint)
    lam = session.client("lambda", endpoint_url=moto_endpoint)
    iam = session.client("iam", endpoint_url=moto_endpoint)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    code = toy_zip()
    (artifacts / "toy.zip").write_bytes(code)
    runtimes: list[LocalRuntime] = []

    def _deploy(
        *,
        batch_size: int = 10,
        window: int = 0,
        visibility: int = 30,
        max_receive_count: int = 3,
        timeout: int = 10,
        report_failures: bool = True,
        max_concurrency: int | None = None,
        start: bool = True,
        live_source: Path | None = None,
    ) -> tuple[ToyFunction, LocalRuntime]:
        name = f"toy-{uuid.uuid4().hex[:8]}"
        record_dir = tmp_path / name
        record_dir.mkdir()
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
        queue_url = sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)},
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="toy.handler.lambda_handler",
            Code={"ZipFile": code},
            Timeout=timeout,
            MemorySize=256,
            Environment={
                "Variables": {"RECORD_DIR": str(record_dir), "POWERTOOLS_SERVICE_NAME": name}
            },
        )
        mapping: dict[str, Any] = {
            "EventSourceArn": queue_arn,
            "FunctionName": name,
            "BatchSize": batch_size,
            "MaximumBatchingWindowInSeconds": window,
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if report_failures else [],
        }
        if max_concurrency is not None:
            mapping["ScalingConfig"] = {"MaximumConcurrency": max_concurrency}
        lam.create_event_source_mapping(**mapping)
        toy = ToyFunction(
            name=name,
            queue_url=queue_url,
            dlq_url=dlq_url,
            record_dir=record_dir,
            endpoint=moto_endpoint,
            sqs=sqs,
        )
        runtime = LocalRuntime(
            RuntimeOptions(
                endpoint=moto_endpoint,
                region=REGION,
                artifact_dirs=(artifacts,),
                code_root=tmp_path / "code",
                log_dir=tmp_path / "logs",
                functions=(name,),
                default_concurrency=1,
                # live code: this folder laid over the artifact's toy/ package, and watched
                live=(Overlay(live_source, "toy"),) if live_source is not None else (),
                live_interval=0.2,
            ),
            on_batch=toy.outcomes.append,
        )
        runtimes.append(runtime)
        if start:
            assert runtime.refresh() == []
            runtime.start_live()
        return toy, runtime

    yield _deploy
    for runtime in runtimes:
        runtime.stop()
