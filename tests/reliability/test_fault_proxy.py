"""The fault proxy on its own: a moto server in-process, boto3 clients through the proxy.

No Terraform and no runtime: what a rule does to a call, as an SDK sees it.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from media_shared.service import CLIENT_CONFIG
from tools.runtime.faults import FaultProxy, Rule, s3_operation, sampled, service_of

pytestmark = pytest.mark.runtime

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def proxy(upstream: str) -> Iterator[FaultProxy]:
    with FaultProxy(upstream) as running:
        yield running


def client(
    proxy: FaultProxy, service: str, function: str | None = None, config: Config = CLIENT_CONFIG
) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=proxy.endpoint(function),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config,
    )


def test_calls_are_named_by_service_and_operation() -> None:
    scope = "Credential=testing/20261123/us-east-1/s3/aws4_request"
    headers = {"authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"}
    assert service_of(headers) == "s3"
    assert service_of({}) == "unknown"
    assert s3_operation("GET", "/b/k", {}, {}) == "GetObject"
    assert s3_operation("HEAD", "/b/k", {}, {}) == "HeadObject"
    assert s3_operation("PUT", "/b/k", {}, {"x-amz-copy-source": "/a/b"}) == "CopyObject"
    assert s3_operation("PUT", "/b/k", {"partNumber": ["1"], "uploadId": ["u"]}, {}) == "UploadPart"
    assert s3_operation("GET", "/b", {"list-type": ["2"]}, {}) == "ListObjectsV2"
    assert s3_operation("GET", "/b", {"versions": [""]}, {}) == "ListObjectVersions"
    assert s3_operation("DELETE", "/b/k", {}, {}) == "DeleteObject"


def test_without_rules_everything_is_forwarded_unchanged(proxy: FaultProxy) -> None:
    s3 = client(proxy, "s3")
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="a b+c%é.txt", Body=b"hello")
    body = s3.get_object(Bucket="plain", Key="a b+c%é.txt")["Body"].read()
    assert body == b"hello"
    assert proxy.calls[(None, "s3", "GetObject")] == 1


def test_a_browsers_cors_preflight_is_forwarded_as_the_bucket_answers_it(
    proxy: FaultProxy, upstream: str
) -> None:
    # given a bucket with a CORS rule, and a page whose presigned POST (made by a function whose
    # endpoint is the proxy) points at the proxy: the browser asks with a preflight first
    s3 = client(proxy, "s3", "upload-api")
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_cors(
        Bucket="uploads",
        CORSConfiguration={
            "CORSRules": [{"AllowedOrigins": ["http://127.0.0.1:3000"], "AllowedMethods": ["POST"]}]
        },
    )
    headers = {"Origin": "http://127.0.0.1:3000", "Access-Control-Request-Method": "POST"}

    def preflight(endpoint: str) -> tuple[int, str | None]:
        request = urllib.request.Request(f"{endpoint}/uploads", method="OPTIONS", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.headers.get("access-control-allow-methods")

    # when it goes through the proxy, then it is answered as the bucket itself answers it
    assert preflight(proxy.endpoint("upload-api")) == preflight(upstream)
    assert preflight(upstream)[0] == 200


@pytest.mark.parametrize(
    ("service", "kind", "status", "code"),
    [
        ("s3", "throttle", 503, "SlowDown"),
        ("s3", "server", 500, "InternalError"),
        ("s3", "denied", 403, "AccessDenied"),
        ("dynamodb", "throttle", 400, "ProvisionedThroughputExceededException"),
        ("dynamodb", "server", 500, "InternalServerError"),
        ("events", "throttle", 400, "ThrottlingException"),
        ("events", "server", 500, "InternalException"),
        ("sqs", "throttle", 400, "ThrottlingException"),
    ],
)
def test_a_fault_reads_to_the_sdk_as_the_error_aws_sends(
    proxy: FaultProxy, service: str, kind: str, status: int, code: str
) -> None:
    calls = {
        "s3": lambda c: c.list_buckets(),
        "dynamodb": lambda c: c.list_tables(),
        "events": lambda c: c.list_event_buses(),
        "sqs": lambda c: c.list_queues(),
    }
    proxy.add(Rule(service, None, kind, times=1))
    with pytest.raises(ClientError) as raised:
        calls[service](client(proxy, service, config=NO_RETRIES))
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_the_services_clients_try_five_times_in_all_in_standard_mode(proxy: FaultProxy) -> None:
    # the services' client configuration, against throttles then 5xx, five in a row
    proxy.add(
        Rule("dynamodb", "ListTables", "throttle", times=3),
        Rule("dynamodb", "ListTables", "server", times=2),
    )
    dynamodb = client(proxy, "dynamodb")
    with pytest.raises(ClientError) as raised:
        dynamodb.list_tables()
    metadata = raised.value.response["ResponseMetadata"]
    assert (metadata["RetryAttempts"], metadata.get("MaxAttemptsReached")) == (4, True)
    assert dynamodb.meta.config.retries["mode"] == "standard"
    # the next call goes through: four faults would have been absorbed
    assert dynamodb.list_tables()["ResponseMetadata"]["RetryAttempts"] == 0


def test_a_rule_aims_at_one_function_one_operation_and_matching_text(proxy: FaultProxy) -> None:
    s3 = client(proxy, "s3", function="media-local-thumbnailer", config=NO_RETRIES)
    other = client(proxy, "s3", function="media-local-ingest", config=NO_RETRIES)
    s3.create_bucket(Bucket="aimed")
    for key in ("originals/aaa", "originals/bbb"):
        s3.put_object(Bucket="aimed", Key=key, Body=b"x")
    (rule,) = proxy.add(
        Rule("s3", "GetObject", "denied", times=None, function="thumbnailer", contains="aaa")
    )
    for _ in range(3):
        with pytest.raises(ClientError):
            s3.get_object(Bucket="aimed", Key="originals/aaa")
    assert s3.get_object(Bucket="aimed", Key="originals/bbb")["Body"].read() == b"x"
    assert other.get_object(Bucket="aimed", Key="originals/aaa")["Body"].read() == b"x"
    assert s3.head_object(Bucket="aimed", Key="originals/aaa")["ContentLength"] == 1
    assert rule.hits == 3
    proxy.remove(rule)
    assert s3.get_object(Bucket="aimed", Key="originals/aaa")["Body"].read() == b"x"


def test_a_partial_put_events_forwards_every_other_entry_and_reports_the_rest_failed(
    proxy: FaultProxy,
) -> None:
    events = client(proxy, "events")
    sqs = client(proxy, "sqs")
    queue = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="all", EventPattern=json.dumps({"source": ["test"]}))
    events.put_targets(Rule="all", Targets=[{"Id": "q", "Arn": arn}])
    (rule,) = proxy.add(Rule("events", "PutEvents", partial=True, times=1))

    response = events.put_events(
        Entries=[
            {"Source": "test", "DetailType": "n", "Detail": json.dumps({"n": n})} for n in range(5)
        ]
    )

    assert response["FailedEntryCount"] == 3
    assert [bool(e.get("ErrorCode")) for e in response["Entries"]] == [
        True,
        False,
        True,
        False,
        True,
    ]
    assert rule.failed_entries == 3
    delivered = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert sorted(json.loads(m["Body"])["detail"]["n"] for m in delivered) == [1, 3]


def test_a_rule_with_a_probability_fails_about_that_share_reproducibly() -> None:
    def share(seed: int) -> list[bool]:
        rule = Rule("s3", None, "throttle", times=None, probability=0.2, seed=seed)
        from tools.runtime.faults import Call

        call = Call(None, "s3", "GetObject", "GET", "/b/k", {}, {}, b"")
        return [rule.fires(call) for _ in range(1000)]

    first = share(3)
    assert first == share(3)
    assert 150 < sum(first) < 250


def test_duplicates_of_a_share_of_events_narrow_the_pattern_on_the_event_id() -> None:
    ours = {
        "source": ["media.ingest"],
        "detail": {"metadata": {"schema_version": [{"prefix": "1."}]}},
    }
    narrowed = sampled(ours, 4)
    assert narrowed["detail"]["metadata"]["event_id"] == [
        {"prefix": "0"},
        {"prefix": "1"},
        {"prefix": "2"},
        {"prefix": "3"},
    ]
    assert narrowed["detail"]["metadata"]["schema_version"] == [{"prefix": "1."}]
    s3 = sampled({"source": ["aws.s3"], "detail": {"bucket": {"name": ["u"]}}}, 2)
    assert s3["detail"]["object"]["version-id"] == [{"prefix": "0"}, {"prefix": "1"}]
    assert ours == {
        "source": ["media.ingest"],
        "detail": {"metadata": {"schema_version": [{"prefix": "1."}]}},
    }
