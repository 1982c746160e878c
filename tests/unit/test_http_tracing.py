"""The browser APIs never hand their answers to X-Ray: presigned POSTs and URLs are grants."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools import Tracer

from tests.support.apigw import http_event
from tests.support.aws import FakeLambdaContext, fake_credentials, handler_loader


@pytest.mark.parametrize(
    ("module", "service", "env"),
    [
        ("ingest.upload_handler", "ingest", {"UPLOADS_BUCKET": "b"}),
        (
            "indexer.read_handler",
            "indexer",
            {"INDEX_TABLE": "t", "DERIVED_BUCKET": "d", "UPLOADS_BUCKET": "u"},
        ),
    ],
)
def test_the_http_handlers_do_not_record_their_response_in_traces(
    monkeypatch: pytest.MonkeyPatch, module: str, service: str, env: dict[str, str]
) -> None:
    fake_credentials(monkeypatch)
    recorded: list[dict[str, Any]] = []
    original = Tracer._add_response_as_metadata

    def spy(self: Tracer, **kwargs: Any) -> None:
        recorded.append(kwargs)
        original(self, **kwargs)

    monkeypatch.setattr(Tracer, "_add_response_as_metadata", spy)
    loaded = handler_loader(
        monkeypatch,
        module,
        {"POWERTOOLS_SERVICE_NAME": service, "POWERTOOLS_TRACE_DISABLED": "true", **env},
    )()
    # an unauthenticated request: answered at once, without AWS
    loaded.lambda_handler(
        http_event("GET", "/nothing", subject=None), FakeLambdaContext.of(service)
    )
    assert recorded, "the handler is traced"
    assert all(call.get("capture_response") is False for call in recorded), recorded
