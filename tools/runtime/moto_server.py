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
And browser uploads behave as on S3 (:mod:`tools.runtime.s3_post`): form POSTs checked against
their policy, answered with ``x-amz-version-id``, CORS from the bucket's rules only.
Above all, it serves one request at a time (:mod:`tools.runtime.serial`): plain moto is not
atomic under concurrent requests, and the local runtime makes many.

    python -m tools.runtime.moto_server -H 127.0.0.1 -p PORT     (same options as moto_server)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tools.runtime import s3_post, serial

START_TIMEOUT = 20.0


def disable_builtin_sqs_poller() -> None:
    """Make every SQS queue forget the mappings moto would otherwise run on SendMessage."""
    from moto.sqs import models

    def mappings(_queue: Any) -> dict[str, Any]:
        return {}  # a fresh empty dict: what moto's Lambda backend registers here is dropped

    def ignore(_queue: Any, _value: Any) -> None:
        return None

    models.Queue.lambda_event_source_mappings = property(mappings, ignore)  # type: ignore[assignment]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def answers(endpoint: str) -> bool:
    """Whether an HTTP server answers there (any status: /moto-api/data.json can fail with 500
    once some resources exist, and it serialises everything, so it is no liveness probe)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def start(directory: Path, region: str = "us-east-1") -> dict[str, Any]:
    """Start this server on a free loopback port for a stack directory; record it in moto.json.

    The record has the fields ``tools.stack`` writes and reads (pid, port, endpoint, region,
    log), so ``make up`` on that directory reuses this server instead of starting a plain one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log_path = directory / "moto.log"
    repo = Path(__file__).resolve().parents[2]
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(repo), environment.get("PYTHONPATH", "")) if p
    )
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.runtime.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=repo,
            env=environment,
            start_new_session=True,  # outlives its starter, like `make up`'s server
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(endpoint):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the local moto server did not start on port {port}:\n{tail}")
        time.sleep(0.1)
    record = {
        "pid": process.pid,
        "port": port,
        "endpoint": endpoint,
        "region": region,
        "log": str(log_path),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "server": "tools.runtime.moto_server",
    }
    (directory / "moto.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def is_patched(pid: int) -> bool:
    """Whether process ``pid`` is this server (not a plain moto_server)."""
    try:
        return b"tools.runtime.moto_server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


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


def main(argv: list[str] | None = None) -> int:
    serial.install()  # one request at a time: conditional writes, queues and fan-out atomic
    disable_builtin_sqs_poller()
    skip_conditions_moto_cannot_evaluate()
    s3_post.install()  # browser uploads: POST policies, x-amz-version-id, the bucket's CORS only
    from moto.server import main as moto_main

    sys.argv[0] = "moto_server"
    moto_main(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
