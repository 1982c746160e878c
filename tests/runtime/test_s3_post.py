"""The POST policy check of the local moto server, fed the upload API's real presigned POSTs.

A grant from ``ingest.upload_api.presign_upload`` must pass exactly as issued and fail, as S3
fails it, when the form or the file breaks any of its conditions.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from ingest.upload_api import UploadApiSettings, UploadGrant, UploadRequest, presign_upload
from media_shared.ownership import owner_id
from tests.support.aws import REGION, fake_credentials
from tools.runtime.moto_patches import PostPolicyError, check_post_policy

pytestmark = pytest.mark.runtime

BUCKET = "media-test-uploads"
MAX = 1000
OWNER = owner_id("https://issuer.example", "ada")


@pytest.fixture
def grant(monkeypatch: pytest.MonkeyPatch) -> Iterator[UploadGrant]:
    fake_credentials(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))
        settings = UploadApiSettings(uploads_bucket=BUCKET, max_upload_bytes=MAX)
        request = UploadRequest(filename="cat.jpg", content_type="image/jpeg", size=10)
        yield presign_upload(s3, settings, request, owner=OWNER)


def check(grant: UploadGrant, size: int = 10, now: datetime | None = None, **changes: Any) -> None:
    fields = {**grant.fields, **changes}
    fields = {name: value for name, value in fields.items() if value is not None}
    check_post_policy(grant.fields["policy"], fields, BUCKET, size, now=now)


def test_the_form_as_granted_is_accepted(grant: UploadGrant) -> None:
    check(grant, size=10)  # the declared size, and only that (below)


@pytest.mark.parametrize(
    ("changes", "size", "code"),
    [
        ({"Content-Type": "text/html"}, 10, "AccessDenied"),
        ({"Content-Type": "image/png"}, 10, "AccessDenied"),
        ({"key": "incoming/another/cat.jpg"}, 10, "AccessDenied"),
        (
            {"key": f"incoming/{owner_id('https://issuer.example', 'bob')}/{'0' * 32}/cat.jpg"},
            10,
            "AccessDenied",
        ),
        ({"key": "originals/cat.jpg"}, 10, "AccessDenied"),
        ({"x-amz-meta-owner": "me"}, 10, "AccessDenied"),
        ({"Content-Type": None}, 10, "AccessDenied"),
        ({}, MAX + 1, "EntityTooLarge"),
        ({}, 11, "EntityTooLarge"),
        ({}, 9, "EntityTooSmall"),
        ({}, 0, "EntityTooSmall"),
    ],
)
def test_a_form_that_breaks_a_condition_is_refused(
    grant: UploadGrant, changes: dict[str, Any], size: int, code: str
) -> None:
    with pytest.raises(PostPolicyError) as refused:
        check(grant, size=size, **changes)
    assert refused.value.code == code


def test_a_form_to_another_bucket_is_refused(grant: UploadGrant) -> None:
    with pytest.raises(PostPolicyError, match="Policy Condition failed"):
        check_post_policy(grant.fields["policy"], grant.fields, "another-bucket", 10)


def test_a_policy_past_its_expiration_is_refused(grant: UploadGrant) -> None:
    later = datetime.now(UTC) + timedelta(seconds=301)
    with pytest.raises(PostPolicyError, match="Policy expired"):
        check(grant, now=later)


def test_fields_named_x_ignore_need_no_condition(grant: UploadGrant) -> None:
    check(grant, **{"x-ignore-tracking": "1"})


def test_a_policy_that_is_not_base64_json_is_invalid() -> None:
    with pytest.raises(PostPolicyError) as refused:
        check_post_policy("bm90IGpzb24=", {}, BUCKET, 1)
    assert refused.value.code == "InvalidPolicyDocument"
    assert refused.value.status == 400
