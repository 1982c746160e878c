"""Hot reload latency: from saving an edited handler to the first invocation that runs it.

A toy function (one handler file that reports its ``VERSION``) is deployed to a moto server of
the bench's stack with a queue and a mapping, as Terraform would; a :class:`LocalRuntime` runs it
with live code from a source folder of its own. Each round edits ``VERSION`` in that folder,
then keeps sending messages (one at a time, each waited for) until an invocation reports the new
version: the latency is from the save to that invocation's start.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

HANDLER = """import json, os, time
VERSION = {version}


def lambda_handler(event, context):
    with open(os.environ["RECORD"], "a") as out:
        out.write(json.dumps({{"version": VERSION, "at": time.time()}}) + "\\n")
    return {{"batchItemFailures": []}}
"""


def _zip(source: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*.py")):
            archive.write(path, f"toy/{path.relative_to(source)}")
    return buffer.getvalue()


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def measure(endpoint: str, rounds: int = 3, timeout: float = 60.0) -> list[float]:
    """Seconds from save to the first invocation of the new code, per round."""
    import boto3

    from tools.runtime import LocalRuntime, RuntimeOptions
    from tools.runtime.awslambda import Overlay

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    sqs = session.client("sqs", endpoint_url=endpoint)
    lam = session.client("lambda", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    with tempfile.TemporaryDirectory(prefix="bench-live-") as folder:
        base = Path(folder)
        source = base / "src" / "toy"
        source.mkdir(parents=True)
        (source / "__init__.py").write_text("", encoding="utf-8")
        handler = source / "handler.py"
        handler.write_text(HANDLER.format(version=0), encoding="utf-8")
        artifacts = base / "artifacts"
        artifacts.mkdir()
        code = _zip(source)
        (artifacts / "toy.zip").write_bytes(code)
        record = base / "invocations.jsonl"
        name = f"bench-live-{uuid.uuid4().hex[:8]}"
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="toy.handler.lambda_handler",
            Code={"ZipFile": code},
            Timeout=10,
            Environment={"Variables": {"RECORD": str(record)}},
        )
        mapping = lam.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName=name, BatchSize=1
        )["UUID"]
        runtime = LocalRuntime(
            RuntimeOptions(
                endpoint=endpoint,
                artifact_dirs=(artifacts,),
                code_root=base / "code",
                functions=(name,),
                default_concurrency=1,
                live=(Overlay(source, "toy"),),
            )
        )
        latencies: list[float] = []
        try:
            runtime.refresh()
            runtime.start_live()
            _until_version(sqs, queue_url, record, 0, timeout)
            for version in range(1, rounds + 1):
                time.sleep(1.0)  # an edit, not a burst of them
                handler.write_text(HANDLER.format(version=version), encoding="utf-8")
                saved = time.time()
                at = _until_version(sqs, queue_url, record, version, timeout)
                latencies.append(at - saved)
        finally:
            runtime.stop()
            lam.delete_event_source_mapping(UUID=mapping)
            lam.delete_function(FunctionName=name)
            sqs.delete_queue(QueueUrl=queue_url)
            iam.delete_role(RoleName=name)
    return latencies


def _until_version(sqs: Any, queue_url: str, record: Path, version: int, timeout: float) -> float:
    """Send one message at a time until an invocation reports ``version``; when it ran."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = len(_records(record))
        sqs.send_message(QueueUrl=queue_url, MessageBody="{}")
        while len(_records(record)) == seen and time.monotonic() < deadline:
            time.sleep(0.02)
        latest = _records(record)[-1] if _records(record) else None
        if latest is not None and latest["version"] == version:
            return float(latest["at"])
    raise TimeoutError(f"no invocation ran version {version} within {timeout:.0f} s")
