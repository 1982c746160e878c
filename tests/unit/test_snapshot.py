"""moto's state survives a save and a load: what ``make stop`` then a warm ``make up`` rely on.

The round trip runs in one process with moto's in-memory backends: every backend is pickled to a
file, all of moto is reset (as a fresh server starts), and the file is loaded back. The services
are the ones the stack's Terraform uses, SSM included: its ``ParameterDict`` is a ``defaultdict``
subclass whose constructor takes an account and a region, which the default pickling of a
``defaultdict`` cannot rebuild (the warm start fell back to a full apply because of it).
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from tools.localstack import snapshot


def _reset_moto() -> None:
    from moto.core.base_backend import BackendDict

    BackendDict.reset()


def test_a_saved_state_loads_back_with_parameters_objects_items_and_messages(
    aws: None, tmp_path: Path
) -> None:
    # given a stack's kinds of state: SSM parameters (the platform's discovery), a versioned
    # bucket's object, a table's item, a queue's waiting message and a custom bus
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/media-pipeline/local/bus", Value="media", Type="String")
    ssm.put_parameter(Name="/media-pipeline/local/bus", Value="media-2", Overwrite=True)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="uploads-bucket")
    s3.put_bucket_versioning(Bucket="uploads-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket="uploads-bucket", Key="incoming/u-1/a.jpg", Body=b"first")
    s3.put_object(Bucket="uploads-bucket", Key="incoming/u-1/a.jpg", Body=b"second")
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="index",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="index", Item={"pk": {"S": "asset-1"}, "n": {"N": "3"}})
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="indexer-events")["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kept": True}))
    boto3.client("events").create_event_bus(Name="media")

    # when it is saved, moto starts empty and the snapshot is loaded
    saved = snapshot.save(tmp_path, "test")
    _reset_moto()
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/media-pipeline/local/bus")
    report = snapshot.restore(tmp_path)

    # then it says so, and everything is as it was (versions and history included)
    assert report is not None
    assert report["ok"], report.get("error")
    assert {"ssm", "s3", "dynamodb", "sqs", "events"} <= set(saved["services"])
    parameter = ssm.get_parameter(Name="/media-pipeline/local/bus")["Parameter"]
    assert (parameter["Value"], parameter["Version"]) == ("media-2", 2)
    history = ssm.get_parameter_history(Name="/media-pipeline/local/bus")["Parameters"]
    assert [entry["Value"] for entry in history] == ["media", "media-2"]
    body = s3.get_object(Bucket="uploads-bucket", Key="incoming/u-1/a.jpg")["Body"].read()
    assert body == b"second"
    versions = s3.list_object_versions(Bucket="uploads-bucket")["Versions"]
    assert len(versions) == 2
    item = dynamodb.get_item(TableName="index", Key={"pk": {"S": "asset-1"}})["Item"]
    assert item["n"] == {"N": "3"}
    messages = sqs.receive_message(QueueUrl=queue).get("Messages", [])
    assert [json.loads(message["Body"]) for message in messages] == [{"kept": True}]
    buses = boto3.client("events").list_event_buses()["EventBuses"]
    assert "media" in {bus["Name"] for bus in buses}
    # and the starter's report file agrees
    assert json.loads((tmp_path / snapshot.RESTORED).read_text())["ok"] is True


def test_a_snapshot_of_another_moto_version_is_refused_and_leaves_moto_empty(
    aws: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a snapshot written by some other moto
    boto3.client("ssm").put_parameter(Name="/p", Value="v", Type="String")
    with monkeypatch.context() as patched:
        patched.setattr(snapshot, "_moto_version", lambda: "0.0.1")
        snapshot.save(tmp_path, "test")
    _reset_moto()

    # when it is loaded, then it is refused with the versions named, and nothing is half-loaded
    report = snapshot.restore(tmp_path)
    assert report is not None
    assert not report["ok"]
    assert "moto 0.0.1" in report["error"]
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []
