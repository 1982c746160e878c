"""Ingest refuses an upload whose decode would not fit its function's memory, before decoding it.

The budget counts what the decode really holds (the review measured 794 MB for a 2.35 MB
progressive CMYK JPEG at the pixel limit despite the 1/8 scaled decode): bytes per pixel of the
decoded mode, and a progressive JPEG's coefficients for the whole image at full size. These tests
shrink the function's memory (``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``) instead of decoding 100 MP.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from types import ModuleType
from typing import Any

from PIL import Image

from tests.support.events import sqs_batch
from tests.support.s3events import object_created

# ingest at 160 MB: 18 MiB for decoding. A 2000x2000 progressive CMYK JPEG holds 4 bands x 2
# bytes of coefficients a pixel (30.5 MiB); the same picture as a baseline JPEG decodes at 1/8
# scale (250x250 x 4 bytes, under 0.3 MiB).
SMALL_FUNCTION = {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "160"}


def cmyk_jpeg(*, progressive: bool) -> bytes:
    picture = Image.linear_gradient("L").resize((2000, 2000))
    buffer = io.BytesIO()
    Image.merge("CMYK", [picture] * 4).save(buffer, "JPEG", progressive=progressive, quality=40)
    return buffer.getvalue()


def deliver(aws: Any, handler: ModuleType, context: Any, key: str, body: bytes) -> dict[str, Any]:
    response = aws.put_upload(key, body)
    event = object_created(aws.uploads, key, size=len(body), version_id=response["VersionId"])
    assert handler.lambda_handler(sqs_batch(event), context) == {"batchItemFailures": []}
    (published,) = aws.published()
    return published


def test_a_progressive_cmyk_jpeg_over_the_memory_budget_is_quarantined_as_a_bomb(
    aws: Any, handler_env: Callable[..., ModuleType], lambda_context: Any
) -> None:
    # given ingest deployed with little memory, and a progressive CMYK JPEG whose coefficients
    # alone need more than that memory allows
    handler = handler_env(**SMALL_FUNCTION)
    body = cmyk_jpeg(progressive=True)
    assert len(body) < 300_000

    # when it is uploaded
    published = deliver(aws, handler, lambda_context, "incoming/poster.jpg", body)

    # then it is rejected as a decompression bomb, saying what it needs and what is allowed,
    # and kept in quarantine like every rejection
    assert published["detail-type"] == "AssetRejected"
    data = published["detail"]["data"]
    assert data["reason"] == "decompression_bomb"
    assert "progressive" in data["detail"]
    assert "MiB" in data["detail"]
    assert "160 MB" in data["detail"]
    assert aws.keys(aws.originals) == [f"quarantine/{data['asset_id']}/poster.jpg"]


def test_the_same_picture_as_a_baseline_jpeg_is_accepted_by_the_same_function(
    aws: Any, handler_env: Callable[..., ModuleType], lambda_context: Any
) -> None:
    handler = handler_env(**SMALL_FUNCTION)
    published = deliver(
        aws, handler, lambda_context, "incoming/poster.jpg", cmyk_jpeg(progressive=False)
    )
    assert published["detail-type"] == "AssetIngested"


def test_with_its_deployed_memory_ingest_accepts_the_progressive_jpeg(
    aws: Any, handler_env: Callable[..., ModuleType], lambda_context: Any
) -> None:
    handler = handler_env(AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024")
    published = deliver(
        aws, handler, lambda_context, "incoming/poster.jpg", cmyk_jpeg(progressive=True)
    )
    assert published["detail-type"] == "AssetIngested"
