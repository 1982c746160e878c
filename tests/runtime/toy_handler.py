"""A toy Lambda handler, zipped by the fixtures as ``toy/handler.py``; runs under the runtime.

Each message body is JSON with an ``action``: ``ok``, ``fail`` (reported in batchItemFailures),
``raise`` (the whole invocation fails), ``sleep`` (for ``seconds``, then ok). Every invocation
appends one JSON line to ``$RECORD_DIR/invocations.jsonl`` describing what the handler saw.
"""

import json
import os
import sys
import time

import boto3

STARTED = time.time()  # module import = cold start


def lambda_handler(event, context):
    began = time.time()
    records = event["Records"]
    failures = []
    raised = None
    for record in records:
        body = json.loads(record["body"])
        action = body.get("action", "ok")
        if action == "sleep":
            time.sleep(float(body["seconds"]))
        elif action == "fail":
            failures.append({"itemIdentifier": record["messageId"]})
        elif action == "raise":
            raised = body
    queues = boto3.client("sqs").list_queues().get("QueueUrls", [])
    line = {
        "pid": os.getpid(),
        "imported_at": STARTED,
        "began": began,
        "ended": time.time(),
        "bodies": [record["body"] for record in records],
        "message_ids": [record["messageId"] for record in records],
        "receive_counts": [r["attributes"].get("ApproximateReceiveCount") for r in records],
        "event_source_arn": records[0]["eventSourceARN"],
        "environ": {k: v for k, v in os.environ.items() if not k.startswith("_X")},
        "sys_path": sys.path,
        "python": list(sys.version_info[:2]),
        "cwd": os.getcwd(),
        "queues_seen": len(queues),
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
    with open(os.path.join(os.environ["RECORD_DIR"], "invocations.jsonl"), "a") as out:
        out.write(json.dumps(line) + "\n")
    print(json.dumps({"level": "INFO", "message": "handled", "records": len(records)}))
    if raised is not None:
        raise RuntimeError(f"asked to raise: {raised}")
    return {"batchItemFailures": failures}
