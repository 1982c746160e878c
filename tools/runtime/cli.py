"""``python -m tools.runtime --endpoint URL``: run the functions deployed there until interrupted.

The composition of the runtime's parts: the Lambda emulation (``tools.runtime.awslambda``) polls
every mapping, then the API Gateway emulation (``tools.runtime.apigateway``) serves the HTTP APIs
and the page, invoking through the same :class:`LocalRuntime`.

The runtime knows nothing of the local stack's folder: ``make runtime``
(``python -m tools.localstack runtime``) finds the running stack and passes its endpoint, region,
log folder and state file. Without them: ``--endpoint`` is required, and the logs and the state
file go to a folder under the system's temporary directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from tools.runtime.apigateway import DEFAULT_HOST, DEFAULT_PORT, HttpGateway, LocalIssuer
from tools.runtime.awslambda import (
    DEFAULT_ARTIFACT_DIRS,
    DEFAULT_CONCURRENCY,
    InterpreterError,
    LocalRuntime,
    Overlay,
    RuntimeOptions,
    run,
)

DEFAULT_HOME = Path(tempfile.gettempdir()) / "media-local-runtime"
DEFAULT_STATE = DEFAULT_HOME / "runtime.json"
DEFAULT_LOGS = DEFAULT_HOME / "logs"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.runtime",
        description="Run the Lambda functions deployed to a local (moto) endpoint against their "
        "SQS queues, the way Lambda's event source mappings do.",
    )
    parser.add_argument(
        "--endpoint",
        required=True,
        help="the local AWS endpoint (make runtime passes the local stack's)",
    )
    parser.add_argument("--region", help="AWS region (default $AWS_DEFAULT_REGION or us-east-1)")
    parser.add_argument(
        "--artifacts",
        action="append",
        type=Path,
        help="folder of Lambda zips to match against CodeSha256 (repeatable; default build/lambda)",
    )
    parser.add_argument(
        "--function", action="append", default=[], help="run only this function (repeatable)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="batches in flight per mapping without ScalingConfig.MaximumConcurrency "
        f"(default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--refresh", type=float, default=10.0, help="seconds between re-reads of the deployment"
    )
    parser.add_argument(
        "--log-dir", type=Path, default=DEFAULT_LOGS, help="function logs, one file per function"
    )
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE)
    parser.add_argument(
        "--echo-logs", action="store_true", help="also print the functions' own log lines"
    )
    parser.add_argument(
        "--http",
        default=f"{DEFAULT_HOST}:{DEFAULT_PORT}",
        metavar="HOST:PORT",
        help="serve the deployed HTTP APIs and the web page there (default %(default)s; "
        "a free port if taken)",
    )
    parser.add_argument("--no-http", dest="http", action="store_const", const=None)
    parser.add_argument(
        "--live",
        action="append",
        default=[],
        metavar="SOURCE=TARGET",
        help="live code: lay the source folder SOURCE over TARGET (a package folder of the "
        "artifact, e.g. ingest or media_shared) and pick up its changes with the next "
        "invocation (repeatable; make runtime passes every service's package and shared/)",
    )
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.refresh <= 0:
        parser.error("--refresh must be positive")
    args.region = args.region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    try:
        args.live = tuple(Overlay.parse(text) for text in args.live)
    except ValueError as error:
        parser.error(f"--live {error}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    options = RuntimeOptions(
        endpoint=args.endpoint,
        region=args.region,
        artifact_dirs=tuple(args.artifacts or DEFAULT_ARTIFACT_DIRS),
        log_dir=args.log_dir,
        default_concurrency=args.concurrency,
        functions=tuple(args.function),
        echo_function_logs=args.echo_logs,
        live=args.live,
    )
    stop = threading.Event()
    signals = {"count": 0}
    gateway: HttpGateway | None = None

    def on_signal(number: int, _frame: FrameType | None) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            logging.getLogger("tools.runtime").warning("second signal: exiting now")
            os._exit(130)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def record(runtime: LocalRuntime) -> None:
        nonlocal gateway
        write_state(runtime)
        if gateway is None and args.http:
            # After the first state is written: the mappings are polled already, the page next.
            host, _, port = args.http.rpartition(":")
            gateway = HttpGateway(
                runtime,
                host=host or DEFAULT_HOST,
                port=int(port),
                # beside the state file: .local/http/ for `make runtime`
                issuer=LocalIssuer(key_file=args.state_file.parent / "http" / "issuer-key.pem"),
            ).start()
            write_state(runtime)

    def write_state(runtime: LocalRuntime) -> None:
        state = {
            "pid": os.getpid(),
            "endpoint": args.endpoint,
            "started_at": started,
            "log_dir": str(args.log_dir),
            "mappings": runtime.describe(),
            "http": gateway.url if gateway is not None else None,
        }
        args.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = args.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2), encoding="utf-8")
        temporary.replace(args.state_file)

    started = time.time()
    logging.getLogger("tools.runtime").info(
        "local runtime on %s (function logs in %s); Ctrl-C to stop", args.endpoint, args.log_dir
    )
    try:
        return run(options, stop, refresh_seconds=args.refresh, on_started=record)
    except InterpreterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        if gateway is not None:
            gateway.stop()
        try:
            state = json.loads(args.state_file.read_text(encoding="utf-8"))
            if state.get("pid") == os.getpid():
                args.state_file.unlink()
        except (OSError, ValueError):
            pass
