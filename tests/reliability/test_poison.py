"""A message that fails every time ends in the DLQ after maxReceiveCount, and comes back.

The thumbnailer is refused its read of one asset's original (403 AccessDenied, not an error it
classifies as permanent) for as long as the fault rule stays. Each delivery fails, SQS makes the
message visible again, and after the queue's ``maxReceiveCount`` receives moves it to the DLQ.
Once the cause is gone, ``mediactl dlq redrive`` sends it back and the asset completes.
"""

from __future__ import annotations

import pytest

from tests.reliability.common import now, put, record, unique_prefix, wait_terminal
from tests.support import images
from tests.support.stack import Pipeline, wait_until
from tools.cli.main import main as mediactl
from tools.cli.reconcile import State, dead_letters, reconcile
from tools.runtime.faults import FaultProxy, Rule

pytestmark = pytest.mark.e2e


def test_a_message_failing_every_time_is_moved_to_the_dlq_and_redriven_once_fixed(
    stack: Pipeline, faults: FaultProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    target = stack.target
    thumbnailer = stack.queues["thumbnailer"]
    assert thumbnailer.max_receive_count is not None
    first_outcome, start = len(stack.outcomes), now()
    key = unique_prefix("poison") + "photo.jpg"

    # given the thumbnailer cannot read this asset's original, however often it tries
    upload = put(target, key, images.jpeg(640, 480, seed=51))
    asset = upload.asset_id
    (rule,) = faults.add(
        Rule("s3", "GetObject", "denied", times=None, function="thumbnailer", contains=asset)
    )

    def in_dlq() -> list[str]:
        return [
            letter.message_id
            for letter in dead_letters(target, thumbnailer)
            if asset in letter.asset_ids
        ]

    # when it has been delivered as often as the redrive policy allows
    wait_until(lambda: len(in_dlq()) == 1, 120, "the message in the thumbnailer's DLQ")
    (message_id,) = in_dlq()

    # then it failed exactly maxReceiveCount times, each failure logged with its error
    failures = [
        o for o in stack.outcomes_since(first_outcome, "thumbnailer") if message_id in o.failed_ids
    ]
    assert len(failures) == thumbnailer.max_receive_count
    logged = [
        line
        for line in stack.logs("thumbnailer").splitlines()
        if "processing failed; the message will be retried" in line and asset in line
    ]
    assert len(logged) == thumbnailer.max_receive_count
    assert all("AccessDenied" in line for line in logged)
    pending = record(target, asset)
    assert pending is not None
    assert pending.status == "pending"  # ingested and described, no thumbnails
    account = reconcile(target, start, expected=[asset]).account(asset)
    assert account is not None
    assert account.state == State.FAILED
    assert "thumbnailer DLQ" in (account.reason or "")

    # when the cause is fixed and an operator redrives the DLQ
    faults.remove(rule)
    code = mediactl(
        ["--endpoint", stack.endpoint, "--env", "local", "dlq", "redrive", "thumbnailer"]
    )
    assert code == 0
    assert "moved" in capsys.readouterr().out

    # then the asset completes, and its message is no longer in the DLQ
    done = wait_terminal(target, [asset], timeout=120)
    assert done[asset].status == "indexed"
    assert in_dlq() == []
    account = reconcile(target, start, expected=[asset]).account(asset)
    assert account is not None
    assert account.state == State.INDEXED
