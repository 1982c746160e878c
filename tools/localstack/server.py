"""Start and stop the local stack's moto server (``tools.localstack.moto_server``).

:func:`start` is the only writer of the stack record (``moto.json``). With a snapshot in the
stack's folder (``snapshot/``, see :mod:`tools.localstack.snapshot`) the server starts with the
state it had when it last stopped: that is the warm start of ``make up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tools.localstack import snapshot
from tools.localstack.errors import StackError
from tools.localstack.record import (
    DEFAULT_REGION,
    RECORD,
    REPO,
    Stack,
    answers,
    is_moto_process,
    read_stack,
)

START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0  # the server writes its snapshot before it exits
SERVER_MODULE = "tools.localstack.moto_server"


def _free_port(preferred: int | None = None) -> int:
    """``preferred`` if nothing listens there, else any free loopback port."""
    if preferred:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # as the server binds (werkzeug sets it): connections of the last run in TIME_WAIT
            # do not keep the port from it
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    directory: Path, region: str = DEFAULT_REGION, *, restore: bool = True
) -> tuple[Stack, dict[str, Any] | None]:
    """Start the server on a loopback port for ``directory`` (the recorded one if it is free);
    record it in moto.json.

    With ``restore`` and a snapshot in the folder, the server loads it before it serves
    anything; the second value is what it reported about that (None: nothing to restore).
    """
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    # The endpoint stays the same across a restart when it can (shells that exported
    # AWS_ENDPOINT_URL, a runtime still running, a fault proxy in front of it).
    try:
        previous = read_stack(directory)
    except ValueError:
        previous = None
    port = _free_port(previous.port if previous is not None else None)
    log_path = directory / "moto.log"
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), environment.get("PYTHONPATH", "")) if p
    )
    environment[snapshot.DIR_VARIABLE] = str(snapshot.folder(directory))
    environment[snapshot.RESTORE_VARIABLE] = "1" if restore else "0"
    report_file = snapshot.folder(directory) / snapshot.RESTORED
    report_file.unlink(missing_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=environment,
            start_new_session=True,  # outlives its starter, like `make up`'s server
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(endpoint, timeout=2):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise StackError(f"the local moto server did not start on port {port}:\n{tail}")
        time.sleep(0.05)
    record = {
        "pid": process.pid,
        "port": port,
        "endpoint": endpoint,
        "region": region,
        "log": str(log_path),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "server": SERVER_MODULE,
    }
    (directory / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    restored: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError):
        restored = json.loads(report_file.read_text(encoding="utf-8"))
    return Stack(directory, endpoint, region, process.pid), restored


def ensure_running(directory: Path, region: str = DEFAULT_REGION) -> tuple[Stack, str]:
    """The serving moto of ``directory``, started (warm when it can) if needed.

    The second value says how: ``reused``, ``restored`` (from the snapshot) or ``started``.
    """
    try:
        existing = read_stack(directory)
    except ValueError:
        existing = None
    if existing is not None and existing.serving:
        return existing, "reused"
    stack, restored = start(directory, region)
    if restored is not None and restored.get("ok"):
        return stack, "restored"
    if restored is not None:
        print(f"moto: the snapshot could not be restored ({restored.get('error')}): empty start")
    return stack, "started"


def stop(stack: Stack, *, save: bool = True) -> bool:
    """Stop the recorded server (only a process that is moto is ever signalled); True if it was.

    ``save``: SIGTERM, on which the server writes its snapshot before it exits (``make stop``);
    otherwise SIGINT, on which it just exits (``make down``, which removes the snapshot).
    """
    pid = stack.pid
    if pid is None or not is_moto_process(pid):
        return False
    os.kill(pid, signal.SIGTERM if save else signal.SIGINT)
    deadline = time.monotonic() + STOP_TIMEOUT
    while is_moto_process(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it happens to be our child
        time.sleep(0.05)
    if is_moto_process(pid):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return True
