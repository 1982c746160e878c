"""Browser uploads on the local moto server the way S3 answers them (installed by ``moto_server``).

Three differences between moto 5 and S3 matter to a page that uploads with a presigned POST:

* **The POST policy.** moto stores whatever a form POST sends; S3 refuses a form whose policy has
  expired, or whose fields or file break one of its conditions (exact match, ``starts-with``,
  ``content-length-range``), or that carries a field no condition covers.
  :func:`check_post_policy` is that check, and the local server applies it. (The policy's
  signature is not verified: the local stack's credentials are dummies.)
* **The answer.** S3 answers a POST to a versioned bucket with ``x-amz-version-id`` (and
  ``ETag``), which the page needs to follow its upload; moto sends neither.
* **CORS.** moto's server adds ``Access-Control-Allow-Origin: *`` to every response on top of the
  bucket's own CORS answer (two values, which browsers refuse), and none of the bucket's rules to
  a POST. Here the global CORS layer is off, and a POST gets the headers of the bucket's CORS
  rule that matches its origin (``ExposeHeaders`` included), as S3 sends them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

#: Form fields S3 does not require a policy condition for.
EXEMPT_FIELDS = frozenset({"file", "policy", "x-amz-signature", "signature", "awsaccesskeyid"})


class PostPolicyError(Exception):
    """A form POST that S3 would refuse: ``code`` and HTTP ``status`` as S3 answers it."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_post_policy(
    policy_b64: str,
    fields: Mapping[str, str],
    bucket: str,
    content_length: int,
    now: datetime | None = None,
) -> None:
    """Raise PostPolicyError unless S3 would accept this form POST under this policy."""
    try:
        policy = json.loads(base64.b64decode(policy_b64))
    except ValueError as error:
        raise PostPolicyError("InvalidPolicyDocument", f"Invalid Policy: {error}", 400) from error
    if not isinstance(policy, dict) or "expiration" not in policy:
        raise PostPolicyError("InvalidPolicyDocument", "Invalid Policy: no expiration", 400)
    moment = now or datetime.now(UTC)
    if _parse_time(str(policy["expiration"])) <= moment:
        raise PostPolicyError("AccessDenied", "Invalid according to Policy: Policy expired.")
    values = {name.lower(): value for name, value in fields.items()}
    values["bucket"] = bucket
    covered: set[str] = {"bucket"}

    def failed(condition: Any) -> PostPolicyError:
        return PostPolicyError(
            "AccessDenied",
            f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}",
        )

    for condition in policy.get("conditions", []):
        if isinstance(condition, dict):
            for name, expected in condition.items():
                covered.add(name.lower())
                if values.get(name.lower()) != expected:
                    raise failed(condition)
            continue
        if not isinstance(condition, list) or len(condition) != 3:
            raise PostPolicyError("InvalidPolicyDocument", f"Invalid condition {condition!r}", 400)
        operator = str(condition[0]).lower()
        if operator == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if content_length > high:
                raise PostPolicyError(
                    "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400
                )
            if content_length < low:
                raise PostPolicyError(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    400,
                )
            continue
        name = str(condition[1]).lstrip("$").lower()
        covered.add(name)
        actual = values.get(name, "")
        if operator == "eq" and actual != condition[2]:
            raise failed(condition)
        if operator == "starts-with" and not actual.startswith(str(condition[2])):
            raise failed(condition)
        if operator not in {"eq", "starts-with"}:
            raise PostPolicyError("InvalidPolicyDocument", f"Unknown operator {operator}", 400)
    extra = sorted(
        name
        for name in values
        if name not in covered and name not in EXEMPT_FIELDS and not name.startswith("x-ignore-")
    )
    if extra:
        raise PostPolicyError(
            "AccessDenied",
            f"Invalid according to Policy: Extra input fields: {', '.join(extra)}",
        )


def _error_xml(error: PostPolicyError) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{error.code}</Code><Message>{error}</Message></Error>"
    )


def install() -> None:
    """Patch the moto server of this process (call before it starts serving)."""
    from moto import settings
    from moto.s3.responses import S3Response

    settings.DISABLE_GLOBAL_CORS = True
    try:
        from moto.moto_server import werkzeug_app

        werkzeug_app.DISABLE_GLOBAL_CORS = True  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - layout of another moto version
        pass

    original: Callable[..., Any] = S3Response._bucket_response_post
    if getattr(original, "_media_pipeline_patch", False):
        return

    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        form = dict(self.form_data.items()) if self.form_data is not None else {}
        if "policy" not in {name.lower() for name in form} or self.is_delete_keys():
            return original(self, request, bucket_name)
        policy = next(value for name, value in form.items() if name.lower() == "policy")
        body = self.raw_body if isinstance(self.raw_body, bytes) else str(self.body).encode()
        cors = self._get_cors_headers_other()
        try:
            check_post_policy(policy, form, bucket_name, len(body))
        except PostPolicyError as refused:
            return refused.status, {**cors, "content-type": "application/xml"}, _error_xml(refused)
        status, headers, answer = original(self, request, bucket_name)
        key = self.querystring["key"][0]
        stored = self.backend.get_object(bucket_name, key)
        extra: dict[str, str] = dict(cors)
        if stored is not None:
            extra["ETag"] = stored.etag
            if stored.version_id and stored.version_id != "null":
                extra["x-amz-version-id"] = str(stored.version_id)
        return status, {**headers, **extra}, answer

    bucket_response_post._media_pipeline_patch = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]
