"""The local moto server keeps the promises of AWS that the pipeline rests on, under concurrency.

Each test races many clients, each with its own connection pool (as the runtime's workers are
separate processes), against the server the local stack runs (``tools.localstack.moto_server``):

* a conditional create (``attribute_not_exists``) of one new DynamoDB key has exactly one winner;
* a revision-conditioned update of one item loses no increment;
* every event ``PutEvents`` accepted reaches the SQS target of the rule that matches it, once;
* every message sent to a queue is received, and no message is handed to two consumers at once;
* concurrent writes of one S3 key in a versioned bucket keep every version, the newest last.

Plain moto fails these (issue 11: two winners of one conditional create, a fact overwritten, a
tail that missed events); the stack's server serialises requests so that they hold.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.runtime.conftest import CREDENTIALS

pytestmark = pytest.mark.runtime

# The runtime runs up to five workers per function and four functions at once.
THREADS = 16
CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 5}, max_pool_connections=4)


def client(endpoint: str, service: str) -> Any:
    """A client of its own: its own session and connection pool, like one worker process."""
    return boto3.session.Session().client(
        service, endpoint_url=endpoint, config=CONFIG, **CREDENTIALS
    )


def race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(0..count-1)`` on THREADS threads released together; return the results."""
    start = threading.Barrier(min(count, THREADS))

    def run(index: int) -> Any:
        if index < THREADS:
            start.wait()
        return work(index)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(run, range(count)))


def lost_the_condition(error: ClientError) -> None:
    """A conditional write that lost is fine; any other error is not."""
    if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
        raise error


@pytest.fixture
def table(moto_endpoint: str) -> Iterator[str]:
    name = f"atomic-{uuid.uuid4().hex[:8]}"
    dynamodb = client(moto_endpoint, "dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    dynamodb.delete_table(TableName=name)


def test_a_conditional_create_of_a_new_key_has_exactly_one_winner(
    moto_endpoint: str, table: str
) -> None:
    # given many writers, each with its own connection, for each of 40 new keys
    keys = [f"asset-{n}" for n in range(40)]
    clients = [client(moto_endpoint, "dynamodb") for _ in range(THREADS)]

    def create(index: int) -> str | None:
        key = keys[index // THREADS]
        writer = f"writer-{index % THREADS}"
        try:
            clients[index % THREADS].put_item(
                TableName=table,
                Item={"pk": {"S": key}, "writer": {"S": writer}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            lost_the_condition(error)
            return None
        return f"{key}:{writer}"

    # when they all create the same key at once
    winners = [won for won in race(len(keys) * THREADS, create) if won]

    # then each key has one winner, and the stored item is that winner's
    by_key = Counter(won.split(":")[0] for won in winners)
    assert {key: n for key, n in by_key.items() if n != 1} == {}
    assert sorted(by_key) == sorted(keys)
    dynamodb = clients[0]
    for won in winners:
        key, writer = won.split(":")
        item = dynamodb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)
        assert item["Item"]["writer"]["S"] == writer


def test_revision_conditioned_updates_lose_no_increment(moto_endpoint: str, table: str) -> None:
    # given one item at revision 0, and writers that read it and write revision + 1 if unchanged
    clients = [client(moto_endpoint, "dynamodb") for _ in range(THREADS)]
    clients[0].put_item(TableName=table, Item={"pk": {"S": "item"}, "revision": {"N": "0"}})
    per_writer = 15

    def bump(index: int) -> int:
        dynamodb = clients[index]
        done = 0
        while done < per_writer:
            item = dynamodb.get_item(
                TableName=table, Key={"pk": {"S": "item"}}, ConsistentRead=True
            )["Item"]
            seen = int(item["revision"]["N"])
            try:
                dynamodb.update_item(
                    TableName=table,
                    Key={"pk": {"S": "item"}},
                    UpdateExpression=(
                        "SET revision = :next, #w = list_append(if_not_exists(#w, :none), :me)"
                    ),
                    ConditionExpression="revision = :seen",
                    ExpressionAttributeNames={"#w": "writes"},
                    ExpressionAttributeValues={
                        ":next": {"N": str(seen + 1)},
                        ":seen": {"N": str(seen)},
                        ":me": {"L": [{"S": f"{index}-{done}"}]},
                        ":none": {"L": []},
                    },
                )
            except ClientError as error:
                lost_the_condition(error)
                continue
            done += 1
        return done

    # when they all bump it at once
    race(THREADS, bump)

    # then every successful update is in the item: the revision counts them all
    item = clients[0].get_item(TableName=table, Key={"pk": {"S": "item"}}, ConsistentRead=True)
    writes = [entry["S"] for entry in item["Item"]["writes"]["L"]]
    assert int(item["Item"]["revision"]["N"]) == THREADS * per_writer
    assert len(writes) == len(set(writes)) == THREADS * per_writer


@pytest.fixture
def queue(moto_endpoint: str) -> Iterator[tuple[str, str]]:
    sqs = client(moto_endpoint, "sqs")
    url = sqs.create_queue(
        QueueName=f"atomic-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "300"}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    yield url, arn
    sqs.delete_queue(QueueUrl=url)


def drain(endpoint: str, url: str, expected: int, consumers: int = 1) -> Counter[str]:
    """Receive and delete with ``consumers`` concurrent pollers until ``expected`` bodies came,
    or the queue stayed empty for two long polls in a row; count each body received."""
    received: Counter[str] = Counter()
    lock = threading.Lock()

    def consume(_: int) -> None:
        sqs = client(endpoint, "sqs")
        empty = 0
        while empty < 2:
            with lock:
                if sum(received.values()) >= expected:
                    return
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            empty = 0 if messages else empty + 1
            with lock:
                received.update(message["Body"] for message in messages)
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    race(consumers, consume)
    return received


def test_every_event_put_reaches_the_rule_target_once(
    moto_endpoint: str, queue: tuple[str, str]
) -> None:
    # given a bus with a rule that sends every event of one source to a queue
    url, arn = queue
    events = client(moto_endpoint, "events")
    bus = f"atomic-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    events.put_rule(Name="all", EventBusName=bus, EventPattern=json.dumps({"source": ["stress"]}))
    events.put_targets(Rule="all", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    clients = [client(moto_endpoint, "events") for _ in range(THREADS)]

    def put(index: int) -> list[str]:
        entries = [
            {
                "EventBusName": bus,
                "Source": "stress",
                "DetailType": "Stressed",
                "Detail": json.dumps({"n": f"{index}-{n}"}),
            }
            for n in range(10)
        ]
        answer = clients[index % THREADS].put_events(Entries=entries)
        assert answer["FailedEntryCount"] == 0
        return [entry["Detail"] for entry in entries]

    # when many producers put batches of 10 at once
    sent = [detail for batch in race(THREADS * 3, put) for detail in batch]

    # then the queue holds each event exactly once
    received = drain(moto_endpoint, url, len(sent))
    details = Counter(json.dumps(json.loads(body)["detail"]) for body in received.elements())
    assert details == Counter(sent)
    events.remove_targets(Rule="all", EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name="all", EventBusName=bus)
    events.delete_event_bus(Name=bus)


def test_every_message_sent_is_received_by_one_consumer(
    moto_endpoint: str, queue: tuple[str, str]
) -> None:
    # given producers sending unique messages while consumers receive and delete
    url, _ = queue
    clients = [client(moto_endpoint, "sqs") for _ in range(THREADS)]
    total = THREADS * 20
    results: dict[str, Counter[str]] = {}

    def consume() -> None:
        results["received"] = drain(moto_endpoint, url, total, consumers=THREADS // 2)

    consumers = threading.Thread(target=consume)
    consumers.start()

    def send(index: int) -> list[str]:
        bodies = [f"message-{index}-{n}" for n in range(20)]
        for body in bodies:
            clients[index].send_message(QueueUrl=url, MessageBody=body)
        return bodies

    # when they run at once
    sent = [body for bodies in race(THREADS, send) for body in bodies]
    consumers.join(timeout=120)

    # then every message came exactly once (within the visibility timeout, no second consumer)
    assert results["received"] == Counter(sent)


def test_concurrent_writes_of_one_key_keep_every_version(moto_endpoint: str) -> None:
    # given a versioned bucket
    s3 = client(moto_endpoint, "s3")
    bucket = f"atomic-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    clients = [client(moto_endpoint, "s3") for _ in range(THREADS)]

    def write(index: int) -> str:
        answer = clients[index % THREADS].put_object(
            Bucket=bucket, Key="same/key.jpg", Body=f"body-{index}".encode()
        )
        return str(answer["VersionId"])

    # when many writers put the same key at once
    versions = race(THREADS * 4, write)

    # then every write has its own version, each with its own body, and the newest is current
    listed = s3.list_object_versions(Bucket=bucket, Prefix="same/")["Versions"]
    assert sorted(version["VersionId"] for version in listed) == sorted(versions)
    assert len(set(versions)) == len(versions)
    bodies = {
        s3.get_object(Bucket=bucket, Key="same/key.jpg", VersionId=version)["Body"].read()
        for version in versions
    }
    assert len(bodies) == len(versions)
    latest = next(version for version in listed if version["IsLatest"])
    current = s3.get_object(Bucket=bucket, Key="same/key.jpg")
    assert current["VersionId"] == latest["VersionId"]
