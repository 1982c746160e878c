"""The upload API: who may ask, what a presigned POST binds, and what is refused before upload.

The presigned POST's policy is decoded and read like S3 reads it; that S3 (locally: the moto
server with ``tools.runtime.moto_patches``) enforces it is proved in
``tests/runtime/test_s3_post.py`` and, from a browser, in ``tests/browser``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from ingest.upload_api import (
    UploadApiSettings,
    UploadRequest,
    UploadRequestError,
    build_app,
    presign_upload,
    sanitise_filename,
)
from media_shared.exceptions import ConfigurationError
from media_shared.ownership import owner_id, owner_of_key
from tests.support.apigw import http_event, json_body
from tests.support.aws import REGION, UPLOADS, FakeLambdaContext, fake_credentials, handler_loader

MAX = 1_000_000
OWNER = owner_id("https://issuer.example", "user-1")
SETTINGS = UploadApiSettings(uploads_bucket=UPLOADS, max_upload_bytes=MAX, expires_seconds=300)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_credentials(monkeypatch)
    with mock_aws():
        # As the handler makes it: SigV4, what a POST policy on an SSE-KMS bucket must carry.
        client = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))
        client.create_bucket(Bucket=UPLOADS)
        yield client


def policy_of(grant_fields: dict[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(grant_fields["policy"]))
    return policy


def ask(app: Any, body: Any, *, subject: str | None = "user-1") -> dict[str, Any]:
    event = http_event("POST", "/uploads", body=body, subject=subject)
    response: dict[str, Any] = app.resolve(event, FakeLambdaContext.of("ingest"))
    return response


# --- what a grant binds ----------------------------------------------------------------------


def test_a_grant_binds_one_new_key_of_the_owner_the_type_the_declared_size_and_minutes(
    s3: Any,
) -> None:
    # Given a valid request for a JPEG
    request = UploadRequest(filename="Holiday photo.jpg", content_type="image/jpeg", size=1234)
    issued = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    # When the API presigns it
    grant = presign_upload(
        s3, SETTINGS, request, owner=OWNER, token=lambda: "ab" * 16, now=lambda: issued
    )
    policy = policy_of(grant.fields)
    conditions = policy["conditions"]
    # Then the key is new, random, under incoming/<owner>/, with a safe file name
    assert grant.key == f"incoming/{OWNER}/{'ab' * 16}/Holiday-photo.jpg"
    assert owner_of_key(grant.key) == OWNER
    assert grant.fields["key"] == grant.key
    # and the policy binds this bucket, exactly this key, exactly this image type and size
    assert {"bucket": UPLOADS} in conditions
    assert {"key": grant.key} in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert grant.fields["Content-Type"] == "image/jpeg"
    # and it expires within minutes (S3 reads the policy's own expiration)
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 0 < (expiration - datetime.now(UTC)).total_seconds() <= 300
    assert grant.expires_at == "2026-11-23T10:05:00Z"
    # and it is signed with SigV4 (the fields S3 checks)
    assert grant.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert {"x-amz-signature", "x-amz-credential", "x-amz-date"} <= set(grant.fields)


def test_every_grant_gets_its_own_key(s3: Any) -> None:
    request = UploadRequest(filename="same.png", content_type="image/png", size=10)
    keys = {presign_upload(s3, SETTINGS, request, owner=OWNER).key for _ in range(20)}
    assert len(keys) == 20
    assert all(k.startswith(f"incoming/{OWNER}/") and k.endswith("/same.png") for k in keys)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("cat.jpg", "cat.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Pictures\\dog.PNG", "dog.PNG"),
        ("été à Zürich.jpeg", "ete-a-Zurich.jpeg"),
        ("a  b%20c?.gif", "a-b-20c-.gif"),
        (".hidden", "hidden"),
        ("日本.jpg", "jpg"),
        ("///", "upload"),
        ("x" * 300 + ".webp", "x" * 95 + ".webp"),
    ],
)
def test_file_names_become_one_safe_key_segment(given: str, expected: str) -> None:
    assert sanitise_filename(given) == expected


# --- the API, through API Gateway's event ----------------------------------------------------


def test_a_signed_in_request_gets_201_with_the_form_to_post(s3: Any) -> None:
    app = build_app(s3, SETTINGS)
    response = ask(app, {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 2048})
    assert response["statusCode"] == 201
    body = json_body(response)
    assert UPLOADS in body["url"]
    assert body["key"].startswith(f"incoming/{OWNER}/")
    assert body["key"].endswith("/cat.jpg")
    assert body["fields"]["key"] == body["key"]
    assert body["content_type"] == "image/jpeg"
    assert body["max_bytes"] == MAX


def test_the_owner_in_the_key_is_the_tokens_issuer_and_subject_whatever_the_body_says(
    s3: Any,
) -> None:
    # Given two people of one issuer, and one of another issuer with the same subject
    app = build_app(s3, SETTINGS)
    request = {
        "filename": "cat.jpg",
        "content_type": "image/jpeg",
        "size": 9,
        "owner": "u-" + "0" * 32,
    }
    keys = {
        who: json_body(app.resolve(http_event("POST", "/uploads", body=request, subject=sub,
                                              issuer=iss), FakeLambdaContext.of("ingest")))["key"]
        for who, (iss, sub) in {
            "ada": ("https://issuer.example", "ada"),
            "bob": ("https://issuer.example", "bob"),
            "other ada": ("https://other.example", "ada"),
        }.items()
    }  # fmt: skip
    # Then each key names its own caller's owner id, never the one the body claims
    owners = {who: owner_of_key(key) for who, key in keys.items()}
    assert owners == {
        "ada": owner_id("https://issuer.example", "ada"),
        "bob": owner_id("https://issuer.example", "bob"),
        "other ada": owner_id("https://other.example", "ada"),
    }
    assert len(set(owners.values())) == 3


def test_a_request_without_the_authorizers_subject_is_refused(s3: Any) -> None:
    app = build_app(s3, SETTINGS)
    response = ask(
        app, {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 1}, subject=None
    )
    assert response["statusCode"] == 401
    assert json_body(response)["reason"] == "unauthorized"


@pytest.mark.parametrize(
    ("body", "status", "reason", "says"),
    [
        ({"filename": "notes.txt", "content_type": "text/plain", "size": 10}, 400,
         "unsupported_type", "only images"),
        ({"filename": "a.svg", "content_type": "image/svg+xml", "size": 10}, 400,
         "unsupported_type", "image/svg+xml"),
        ({"filename": "big.jpg", "content_type": "image/jpeg", "size": MAX + 1}, 400,
         "too_large", f"{MAX:,} bytes"),
        ({"filename": "empty.jpg", "content_type": "image/jpeg", "size": 0}, 400,
         "empty", "empty"),
        ({"filename": "x.jpg", "content_type": "image/jpeg"}, 400, "bad_request", "size"),
        ({"filename": "x.jpg", "content_type": "image/jpeg", "size": True}, 400,
         "bad_request", "size"),
        ({"content_type": "image/jpeg", "size": 3}, 400, "bad_request", "filename"),
        ("not json", 400, "bad_request", "JSON"),
        ([1, 2], 400, "bad_request", "JSON"),
    ],
)  # fmt: skip
def test_what_cannot_be_uploaded_is_refused_with_a_reason_and_a_message(
    s3: Any, body: Any, status: int, reason: str, says: str
) -> None:
    app = build_app(s3, SETTINGS)
    response = ask(app, body)
    assert response["statusCode"] == status
    answer = json_body(response)
    assert answer["reason"] == reason
    assert says in answer["message"]


def test_a_declared_type_with_parameters_is_read_by_its_media_type(s3: Any) -> None:
    app = build_app(s3, SETTINGS)
    response = ask(app, {"filename": "p.PNG", "content_type": "Image/PNG; q=1", "size": 5})
    assert response["statusCode"] == 201
    assert json_body(response)["fields"]["Content-Type"] == "image/png"


def test_an_unknown_route_is_404(s3: Any) -> None:
    app = build_app(s3, SETTINGS)
    response = app.resolve(http_event("GET", "/nothing"), FakeLambdaContext.of("ingest"))
    assert response["statusCode"] == 404


def test_request_parsing_rejects_a_non_object() -> None:
    with pytest.raises(UploadRequestError) as refused:
        UploadRequest.parse(None, MAX)
    assert refused.value.reason == "bad_request"


# --- settings and the Lambda entry point -----------------------------------------------------


def test_settings_come_from_the_environment_with_defaults() -> None:
    settings = UploadApiSettings.from_env({"UPLOADS_BUCKET": "b", "UPLOAD_KEY_PREFIX": "in"})
    assert settings.uploads_bucket == "b"
    assert settings.key_prefix == "in/"
    assert settings.max_upload_bytes == 50 * 1024 * 1024
    assert settings.expires_seconds == 300


def test_settings_without_the_bucket_fail_loudly() -> None:
    with pytest.raises(ConfigurationError, match="UPLOADS_BUCKET"):
        UploadApiSettings.from_env({})


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch, s3: Any) -> ModuleType:
    env = {
        "POWERTOOLS_SERVICE_NAME": "ingest",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "UPLOADS_BUCKET": UPLOADS,
        "MAX_UPLOAD_BYTES": str(MAX),
        "UPLOAD_URL_EXPIRES_SECONDS": "120",
    }
    return handler_loader(monkeypatch, "ingest.upload_handler", env)()


def test_the_lambda_handler_answers_api_gateway_with_a_presigned_post(handler: ModuleType) -> None:
    event = http_event(
        "POST", "/uploads", body={"filename": "c.gif", "content_type": "image/gif", "size": 7}
    )
    response = handler.lambda_handler(event, FakeLambdaContext.of("ingest"))
    assert response["statusCode"] == 201
    fields = json_body(response)["fields"]
    policy = policy_of(fields)
    assert ["content-length-range", 7, 7] in policy["conditions"]
    expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert (expiration - datetime.now(UTC)).total_seconds() <= 120


def test_a_base64_encoded_body_is_read_like_a_plain_one(s3: Any) -> None:
    app = build_app(s3, SETTINGS)
    request = {"filename": "b.webp", "content_type": "image/webp", "size": 9}
    event = http_event("POST", "/uploads", headers={"content-type": "application/octet-stream"})
    event["body"] = base64.b64encode(json.dumps(request).encode()).decode()
    event["isBase64Encoded"] = True
    response = app.resolve(event, FakeLambdaContext.of("ingest"))
    assert response["statusCode"] == 201
    assert json_body(response)["content_type"] == "image/webp"
