"""``moto_server`` for the local stack: moto's own SQS -> Lambda delivery off, policies mended.

moto emulates event source mappings itself: every ``SendMessage`` to a queue with a mapping makes
moto receive up to a batch of the queue's visible messages and try to run the function in Docker.
Without Docker that attempt fails, but the receive has happened: every message's receive count
goes up by one per message sent to its queue, so a burst of deliveries pushes messages past the
redrive policy's ``maxReceiveCount`` into the DLQ before any function saw them. On AWS nothing of
the sort happens. Locally the Lambda service's poller is the local runtime (``tools.runtime``),
so this entry point starts the same moto server with that emulation disabled: the mapping is
still created, listed and described exactly as Terraform declared it; only moto's attempt to
act on it is gone. It also skips the bucket policy statements whose conditions moto cannot
evaluate (:func:`skip_conditions_moto_cannot_evaluate`), which moto would otherwise apply to every
request: the policies Terraform writes are deployed as written, and only AWS enforces those.
And browser uploads behave as on S3 (:mod:`tools.runtime.moto_patches`, ``install_s3_post``):
form POSTs checked against their policy, answered with ``x-amz-version-id``, CORS from the
bucket's rules only. S3's events reach every EventBridge rule, archives' included, and schedule
rules match no event (:func:`archive_s3_events`). Setting a queue's redrive policy keeps its
policy (:func:`keep_queue_policy_when_other_attributes_are_set`). Above all, it serves one
request at a time (``install_serial``): plain moto is not atomic under concurrent requests, and
the local runtime makes many.
Its state survives a stop (:mod:`tools.localstack.snapshot`): loaded at start, saved on SIGTERM
and on SIGUSR1 when ``$MEDIA_MOTO_SNAPSHOT_DIR`` names a folder.

    python -m tools.localstack.moto_server -H 127.0.0.1 -p PORT     (same options as moto_server)

:func:`tools.localstack.server.start` starts it for a stack folder and records it in moto.json.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from tools.localstack import snapshot
from tools.runtime import moto_patches


def disable_builtin_sqs_poller() -> None:
    """Make every SQS queue forget the mappings moto would otherwise run on SendMessage."""
    from moto.sqs import models

    def mappings(_queue: Any) -> dict[str, Any]:
        return {}  # a fresh empty dict: what moto's Lambda backend registers here is dropped

    def ignore(_queue: Any, _value: Any) -> None:
        return None

    models.Queue.lambda_event_source_mappings = property(mappings, ignore)  # type: ignore[assignment]


def skip_conditions_moto_cannot_evaluate() -> None:
    """A policy statement whose Condition moto cannot evaluate does not apply locally.

    moto 5 evaluates bucket policies on object requests, but it gives policies no request context
    and understands only ``StringEquals``: any other condition (``Bool aws:SecureTransport``,
    ``ArnLike aws:PrincipalArn``, ...) is taken as met. The usual ``Deny`` statements guarded by
    such conditions (plain-HTTP requests; writes by the services' roles) then deny every request
    to the bucket. Here those statements are skipped instead: the policy is deployed exactly as
    written (Terraform sees no difference), its conditional denials are simply not enforced by
    the local stand-in, while AWS enforces them; unconditional statements still apply.
    """
    from moto.iam import access_control
    from moto.iam.policy_conditions import CONDITION_OPERATIONS

    statement = access_control.IAMPolicyStatement
    original = statement.is_action_permitted
    if getattr(original, "_media_pipeline_patch", False):
        return

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        conditions = self._statement.get("Condition") or {}
        known = incoming_condition_values or {}
        for operator, values in conditions.items():
            keys = values.keys() if isinstance(values, dict) else []
            if operator not in CONDITION_OPERATIONS or any(key not in known for key in keys):
                return access_control.PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    is_action_permitted._media_pipeline_patch = True  # type: ignore[attr-defined]
    statement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def archive_s3_events() -> None:
    """An archive with an event pattern keeps S3's events, and no longer stops their delivery;
    and a schedule rule matches no event.

    moto hands an S3 notification to each rule untransformed; an archive's rule (moto makes one
    per archive, ``Events-Archive-<name>``) learns which archive it feeds only from its target's
    input transformer, so on an S3 event it raised KeyError, and moto's delivery loop, which
    swallows any error, gave up: every rule after it (ingest's rule on the default bus, behind the
    platform's uploads archive) never saw the upload. On AWS an archive keeps what its pattern
    matches and every rule gets the event. Here an archive's rule takes the transformed path,
    with the ingestion time moto's PutEvents would have stamped. And moto takes a rule without an
    event pattern (a schedule: the indexer's reconciler) to match every event, then fails on its
    Lambda target, which it cannot invoke: S3's delivery loop stopped there too, and PutEvents
    on the default bus answered 500. On AWS a schedule rule matches no event; here neither.
    """
    from moto.events import models

    original = models.Rule.send_to_targets
    if getattr(original, "_media_pipeline_patch", False):
        return

    def send_to_targets(self: Any, event: Any, transform_input: bool = True) -> None:
        if getattr(self, "scheduled_expression", None) and not getattr(
            getattr(self, "event_pattern", None), "_pattern", None
        ):
            return None  # a schedule: on AWS no event matches it
        if transform_input or not str(getattr(self, "name", "")).startswith("Events-Archive-"):
            return original(self, event, transform_input=transform_input)
        # What moto's PutEvents adds before its rules see an event (the transformer reads it);
        # the other rules get the event as S3 sent it.
        stamped: Any = {**event, "ingestion-time": event.get("ingestion-time", event.get("time"))}
        return original(self, stamped, transform_input=True)

    send_to_targets._media_pipeline_patch = True  # type: ignore[attr-defined]
    models.Rule.send_to_targets = send_to_targets  # type: ignore[assignment,method-assign]


def keep_queue_policy_when_other_attributes_are_set() -> None:
    """``SetQueueAttributes`` changes the attributes it names only: a queue keeps its policy.

    moto sets a queue's policy to whatever each call carries, so setting any other attribute
    dropped it: the redrive policy, which the service module sets as a resource of its own once
    both queues exist, left every service queue without the policy Terraform had just created it
    with. On AWS the policy stays. Locally, every plan of a service root showed that policy to be
    added again, and every deploy set it again and waited the provider's 25 s for it.
    """
    from moto.sqs import models

    original = models.Queue._set_attributes
    if getattr(original, "_media_pipeline_patch", False):
        return

    def _set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        kept = getattr(self, "policy", None)  # None on create: the policy is not set up yet
        original(self, attributes, now)
        if "Policy" not in attributes and kept is not None:
            self.policy = kept

    _set_attributes._media_pipeline_patch = True  # type: ignore[attr-defined]
    models.Queue._set_attributes = _set_attributes  # type: ignore[method-assign]


def keep_state_across_restarts() -> None:
    """Restore the snapshot of ``$MEDIA_MOTO_SNAPSHOT_DIR`` now; save it on SIGTERM/SIGUSR1."""
    configured = os.environ.get(snapshot.DIR_VARIABLE)
    if not configured:
        return
    directory = Path(configured)
    if os.environ.get(snapshot.RESTORE_VARIABLE, "1") == "1":
        snapshot.restore(directory)
    import moto.server

    def save(reason: str) -> None:
        try:
            with moto_patches.REQUEST_LOCK:  # between two requests: a consistent state
                snapshot.save(directory, reason)
        except Exception as error:  # the server goes on serving: only the snapshot is missing
            snapshot.failed(directory, reason, error)

    def on_signal(number: int, _frame: Any) -> None:
        if number == signal.SIGUSR1:
            save("requested")
            return
        if number == signal.SIGTERM:
            save("stopped")
        sys.exit(0)  # what moto's own handler does: the server shuts down

    # moto's main() installs its handler for SIGINT and SIGTERM by this module-level name.
    moto.server.signal_handler = on_signal  # type: ignore[assignment]
    signal.signal(signal.SIGUSR1, on_signal)


def main(argv: list[str] | None = None) -> int:
    # one request at a time: conditional writes, queues and fan-out atomic
    moto_patches.install_serial()
    disable_builtin_sqs_poller()
    skip_conditions_moto_cannot_evaluate()
    archive_s3_events()
    keep_queue_policy_when_other_attributes_are_set()
    # browser uploads: POST policies, x-amz-version-id, the bucket's CORS only
    moto_patches.install_s3_post()
    keep_state_across_restarts()  # after the patches: restored objects meet the patched classes
    from moto.server import main as moto_main

    sys.argv[0] = "moto_server"
    moto_main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
