"""`make up` removes an event source mapping that repeats one of its roots' and no state holds.

``CreateEventSourceMapping`` is not idempotent: a create the provider sent twice on a loaded
machine left the metadata-extractor's function with two mappings of its queue (two pollers), one
of which no Terraform state knew. ``tools.localstack.driver.stray_mappings`` finds those.
"""

from __future__ import annotations

from typing import Any

from tools.localstack.driver import stray_mappings

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:media-local-metadata-extractor"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:media-local-metadata-extractor"
OTHER_QUEUE = "arn:aws:sqs:us-east-1:123456789012:a-queue-of-its-own"


def _state(uuid: str) -> dict[str, Any]:
    return {
        "resources": [
            {
                "mode": "managed",
                "type": "aws_lambda_event_source_mapping",
                "instances": [
                    {
                        "attributes": {
                            "id": uuid,
                            "uuid": uuid,
                            "function_arn": FUNCTION,
                            "event_source_arn": QUEUE,
                        }
                    }
                ],
            },
            {"mode": "data", "type": "aws_iam_policy_document", "instances": [{}]},
        ]
    }


def _mapping(uuid: str, source: str = QUEUE) -> dict[str, Any]:
    return {"UUID": uuid, "FunctionArn": FUNCTION, "EventSourceArn": source}


def test_a_second_mapping_of_the_same_queue_and_function_unknown_to_terraform_is_a_stray() -> None:
    strays = stray_mappings([_state("kept")], [_mapping("kept"), _mapping("twice")])
    assert [stray["UUID"] for stray in strays] == ["twice"]


def test_the_mapping_a_state_holds_and_mappings_of_other_pairs_are_left_alone() -> None:
    mappings = [_mapping("kept"), _mapping("by-hand", source=OTHER_QUEUE)]
    assert stray_mappings([_state("kept")], mappings) == []
    # and with no state holding any mapping, nothing is a stray
    assert stray_mappings([{"resources": []}], [_mapping("twice")]) == []
