"""``moto_server`` for the local stack, with moto's own SQS -> Lambda delivery switched off.

moto emulates event source mappings itself: every ``SendMessage`` to a queue with a mapping makes
moto receive up to a batch of the queue's visible messages and try to run the function in Docker.
Without Docker that attempt fails, but the receive has happened: every message's receive count
goes up by one per message sent to its queue, so a burst of deliveries pushes messages past the
redrive policy's ``maxReceiveCount`` into the DLQ before any function saw them. On AWS nothing of
the sort happens. Locally the Lambda service's poller is the local runtime (``tools.runtime``),
so this entry point starts the same moto server with that emulation disabled: the mapping is
still created, listed and described exactly as Terraform declared it; only moto's attempt to
act on it is gone.

    python -m tools.runtime.moto_server -H 127.0.0.1 -p PORT     (same options as moto_server)
"""

from __future__ import annotations

import sys
from typing import Any


def disable_builtin_sqs_poller() -> None:
    """Make every SQS queue forget the mappings moto would otherwise run on SendMessage."""
    from moto.sqs import models

    def mappings(_queue: Any) -> dict[str, Any]:
        return {}  # a fresh empty dict: what moto's Lambda backend registers here is dropped

    def ignore(_queue: Any, _value: Any) -> None:
        return None

    models.Queue.lambda_event_source_mappings = property(mappings, ignore)  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    disable_builtin_sqs_poller()
    from moto.server import main as moto_main

    sys.argv[0] = "moto_server"
    moto_main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
