"""What a request to AWS is, and how AWS answers one that fails.

A :class:`Call` is one request as the fault proxy sees it. The service comes from the SigV4
credential scope in the ``Authorization`` header (``.../us-east-1/s3/aws4_request``), the
operation from ``X-Amz-Target`` (JSON protocols), the ``Action`` parameter (query protocol) or,
for S3, the method, path and query string. :func:`error_response` is the answer AWS sends for a
fault of one of :data:`ERROR_KINDS` (503 ``SlowDown`` from S3, ``ThrottlingException`` or
``ProvisionedThroughputExceededException`` from the JSON APIs, 500s, 403s) in that protocol's
own shape (XML or JSON, with request ids).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
ERROR_KINDS = ("throttle", "server", "unavailable", "denied")


@dataclass(frozen=True)
class Call:
    """One request as the proxy sees it."""

    function: str | None  # the function whose workers sent it (None: the default listener)
    service: str  # "s3", "dynamodb", "events", "sqs", ... ("unknown" without SigV4)
    operation: str  # "GetObject", "PutItem", "PutEvents", ... ("unknown" if not recognised)
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json_protocol(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/x-amz-json")

    def text(self) -> str:
        """Path and body, for ``Rule.contains``."""
        return self.path + "\n" + self.body.decode("utf-8", "replace")


def service_of(headers: dict[str, str]) -> str:
    match = _SCOPE.search(headers.get("authorization", ""))
    return match.group(1) if match else "unknown"


def s3_operation(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str]
) -> str:
    """The S3 operation of a path-style request (the style boto3 uses with an IP endpoint)."""
    parts = path.lstrip("/").split("/", 1)
    bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
    if not bucket:
        return "ListBuckets"
    if not key:
        if method == "GET":
            if "versions" in query:
                return "ListObjectVersions"
            if "uploads" in query:
                return "ListMultipartUploads"
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        if method == "HEAD":
            return "HeadBucket"
        if method == "POST" and "delete" in query:
            return "DeleteObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, "unknown")
    if method == "GET":
        if "uploadId" in query:
            return "ListParts"
        return "GetObjectTagging" if "tagging" in query else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        copy = "x-amz-copy-source" in headers
        if "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        if "tagging" in query:
            return "PutObjectTagging"
        return "CopyObject" if copy else "PutObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
    return "unknown"


def operation_of(
    service: str,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: dict[str, str],
    body: bytes,
) -> str:
    target = headers.get("x-amz-target")
    if target:
        return target.rsplit(".", 1)[-1]
    if service == "s3":
        return s3_operation(method, path, query, headers)
    if "Action" in query:
        return query["Action"][0]
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return "unknown"


# (HTTP status, error code) per kind, by protocol family.
_S3_ERRORS = {
    "throttle": (503, "SlowDown", "Please reduce your request rate."),
    "server": (500, "InternalError", "We encountered an internal error. Please try again."),
    "unavailable": (503, "ServiceUnavailable", "Service is unable to handle request."),
    "denied": (403, "AccessDenied", "Access Denied"),
}
_JSON_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "server": (500, "InternalFailure", "The request processing has failed."),
    "unavailable": (503, "ServiceUnavailable", "Service is unavailable."),
    "denied": (400, "AccessDeniedException", "User is not authorized to perform this action."),
}
_SERVICE_ERRORS = {
    "dynamodb": {
        "throttle": (
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        "server": (500, "InternalServerError", "Internal server error"),
    },
    "events": {"server": (500, "InternalException", "An internal error occurred.")},
}


def error_for(service: str, kind: str) -> tuple[int, str, str]:
    """(status, code, message) AWS answers with for a fault of ``kind`` in ``service``."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(ERROR_KINDS)}")
    if service == "s3":
        return _S3_ERRORS[kind]
    return _SERVICE_ERRORS.get(service, {}).get(kind) or _JSON_ERRORS[kind]


def error_response(call: Call, kind: str) -> tuple[int, dict[str, str], bytes]:
    """The response AWS would send for a fault of ``kind`` on ``call``."""
    status, code, message = error_for(call.service, kind)
    request_id = uuid.uuid4().hex.upper()
    headers = {"x-amzn-requestid": request_id, "x-amz-request-id": request_id}
    if call.json_protocol:
        headers["content-type"] = call.headers["content-type"]
        headers["x-amzn-errortype"] = code
        prefix = "com.amazonaws.dynamodb.v20120810#" if call.service == "dynamodb" else ""
        body = json.dumps({"__type": prefix + code, "message": message}).encode()
    elif call.service == "s3":
        headers["content-type"] = "application/xml"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{message}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
    else:
        headers["content-type"] = "text/xml"
        body = (
            f"<ErrorResponse><Error><Type>{'Receiver' if status >= 500 else 'Sender'}</Type>"
            f"<Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
    if call.method == "HEAD":
        body = b""
    return status, headers, body
