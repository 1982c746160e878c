"""The wiring every service's handler module is built from: media_shared.service.Service."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from media_shared import CommonSettings, Event, InboundEvent
from media_shared.service import Service
from tests.support.aws import FakeLambdaContext, attributes, drain
from tests.support.events import example, sqs_batch
from tests.unit.conftest import received
from tests.unit.test_consumer import Recorder

SERVICE = "metadata-extractor"


def named(filename: str) -> dict[str, Any]:
    event = example("AssetIngested")
    event["detail"]["data"]["filename"] = filename
    return event


@pytest.fixture
def service(bus: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Service:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "MediaPipeline")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    dlq = bus["sqs"].create_queue(QueueName=f"media-test-{SERVICE}-dlq")["QueueUrl"]
    return Service.from_settings(
        CommonSettings(service=SERVICE, event_bus_name=bus["name"], dlq_url=dlq)
    )


def test_the_handler_publishes_parks_and_reports_only_the_transient_failure(
    service: Service, bus: dict[str, Any]
) -> None:
    # given a service's handler whose logic fails one record transiently, one permanently
    lambda_handler = service.handler(service.consumer(Recorder(service.catalog)))
    batch = sqs_batch(named("a.jpg"), named("transient.jpg"), named("hopeless.jpg"))

    # when Lambda hands it a batch
    response = lambda_handler(batch, FakeLambdaContext.of(SERVICE))

    # then only the transient one is retried; the good one is published, the hopeless one parked
    assert response == {"batchItemFailures": [{"itemIdentifier": "message-2"}]}
    published = received(bus)
    assert [(e["source"], e["detail-type"]) for e in published] == [
        ("media.metadata-extractor", "MetadataExtracted"),
        ("media.metadata-extractor", "ProcessingFailed"),
    ]
    (parked,) = drain(bus["sqs"], service.settings.dlq_url or "")
    assert json.loads(parked["Body"]) == named("hopeless.jpg")
    assert (attributes(parked)["service"], attributes(parked)["reason"]) == (SERVICE, "corrupt")


def test_the_handler_runs_under_the_powertools_decorators(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    lambda_handler = service.handler(service.consumer(Recorder(service.catalog)))

    lambda_handler(sqs_batch(named("a.jpg")), FakeLambdaContext.of(SERVICE))

    # the Logger carries the invocation's context, and the metrics were flushed as EMF
    assert service.logger.get_current_keys()["function_name"] == f"media-test-{SERVICE}"
    (emf,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "MediaPipeline"
    assert (emf["service"], emf["EventsProcessed"], emf["EventsPublished"]) == (
        SERVICE,
        [1.0],
        [1.0],
    )


def test_on_invoke_gets_the_context_before_any_record_is_handled(service: Service) -> None:
    seen: list[str] = []

    def logic(inbound: InboundEvent) -> Sequence[Event]:
        seen.append("record")
        return []

    lambda_handler = service.handler(
        service.consumer(logic), on_invoke=lambda context: seen.append(context.function_name)
    )

    lambda_handler(sqs_batch(named("a.jpg")), FakeLambdaContext.of(SERVICE))

    assert seen == [f"media-test-{SERVICE}", "record"]
