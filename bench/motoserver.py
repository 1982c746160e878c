"""Section moto: what serialising the local moto server costs in throughput (issue 11).

The local stack's server (``tools.localstack.moto_server``) runs one request at a time
(``tools.runtime.moto_patches``) so that conditional writes, queues and ``PutEvents`` fan-out are
atomic. The peer is plain ``moto_server`` from the same moto, which interleaves requests (and
loses writes under concurrency). Both get the same mix, from 16 clients of their own (the
runtime's workers are separate processes): a conditional create of a new DynamoDB item, a
revision-conditioned update, a consistent read, a send / receive / delete on one SQS queue, and
a ``PutEvents`` of 10 entries that a rule fans out to a second queue. Figures: requests per
second over a fixed window, the median of ``reps`` windows, each server fresh.
"""

from __future__ import annotations

import contextlib
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.report import Row

CLIENTS = 16
WINDOW = 10.0
REPO = Path(__file__).resolve().parents[1]
SERVERS = {
    "project": [sys.executable, "-m", "tools.localstack.moto_server"],
    "plain moto": [sys.executable, "-m", "moto.server"],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def server(command: list[str]) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [*command, "-H", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{' '.join(command)} did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def _client(endpoint: str, service: str) -> Any:
    import boto3

    session: Any = boto3.session.Session()  # a service named at run time: no overload to match
    return session.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _setup(endpoint: str) -> dict[str, str]:
    dynamodb, sqs, events = (_client(endpoint, s) for s in ("dynamodb", "sqs", "events"))
    dynamodb.create_table(
        TableName="bench",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    work = sqs.create_queue(QueueName="work")["QueueUrl"]
    fanout = sqs.create_queue(QueueName="fanout")["QueueUrl"]
    fanout_arn = sqs.get_queue_attributes(QueueUrl=fanout, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.create_event_bus(Name="bench")
    events.put_rule(Name="all", EventBusName="bench", EventPattern='{"source": ["bench"]}')
    events.put_targets(Rule="all", EventBusName="bench", Targets=[{"Id": "q", "Arn": fanout_arn}])
    return {"work": work, "fanout": fanout}


def _client_loop(
    endpoint: str, queues: dict[str, str], start: threading.Barrier, counts: list[int]
) -> None:
    dynamodb, sqs, events = (_client(endpoint, s) for s in ("dynamodb", "sqs", "events"))
    done = 0
    start.wait()  # every client made (botocore's set-up is not the server's time)
    until = time.monotonic() + WINDOW
    while time.monotonic() < until:
        key = uuid.uuid4().hex
        dynamodb.put_item(
            TableName="bench",
            Item={"pk": {"S": key}, "revision": {"N": "1"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
        dynamodb.update_item(
            TableName="bench",
            Key={"pk": {"S": key}},
            UpdateExpression="SET revision = :two",
            ConditionExpression="revision = :one",
            ExpressionAttributeValues={":one": {"N": "1"}, ":two": {"N": "2"}},
        )
        dynamodb.get_item(TableName="bench", Key={"pk": {"S": key}}, ConsistentRead=True)
        sqs.send_message(QueueUrl=queues["work"], MessageBody=key)
        for message in sqs.receive_message(QueueUrl=queues["work"], MaxNumberOfMessages=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queues["work"], ReceiptHandle=message["ReceiptHandle"])
        events.put_events(
            Entries=[
                {"EventBusName": "bench", "Source": "bench", "DetailType": "B", "Detail": "{}"}
            ]
            * 10
        )
        done += 7
    counts.append(done)


def throughput(endpoint: str) -> float:
    queues = _setup(endpoint)
    counts: list[int] = []
    start = threading.Barrier(CLIENTS + 1)
    threads = [
        threading.Thread(target=_client_loop, args=(endpoint, queues, start, counts))
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - began)


def run(ctx: Context) -> list[Row]:
    reps = max(1, min(ctx.reps, 5))
    figures: dict[str, list[float]] = {name: [] for name in SERVERS}
    for _ in range(reps):
        for name, command in SERVERS.items():  # alternated, so drift hits both alike
            with server(command) as endpoint:
                figures[name].append(throughput(endpoint))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    ctx.say(
        "  requests/s, "
        + "; ".join(f"{name}: {json.dumps([round(v) for v in vs])}" for name, vs in figures.items())
    )
    ctx.notes.append(
        f"moto: {CLIENTS} clients, {WINDOW:.0f} s windows, {reps} each; the project's server "
        "serialises requests (atomic), plain moto interleaves them (loses writes under this load)"
    )
    return [
        Row(
            f"moto/requests per s, {CLIENTS} clients",
            "req/s",
            medians["project"],
            medians["plain moto"],
            "plain moto_server",
        )
    ]
