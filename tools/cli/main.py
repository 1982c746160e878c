"""``mediactl``: the operator CLI, a thin argparse layer over the functions of ``tools.cli``.

mediactl [--local | --aws | --endpoint URL] [--env ENV] COMMAND ...

publish EVENT             validate then publish an event (file, NAME or NAME/VARIANT)
upload FILE...            upload files to the uploads bucket
status ASSET_ID           one asset's index record
list                      recent assets (--status, --limit)
tail                      every bus event, pretty-printed (--detail-type, --max, --timeout)
dlq list [SERVICE]        what waits in each service's DLQ, with its error
dlq redrive SERVICE       move a service's DLQ back to its queue
replay --from --to        replay a window of the bus archive (where the backend supports it)
reconcile --from --to     account for every upload of a window (exit 3 if any is unaccounted for)
can-deploy SERVICE...     the deploy gate: refuse (exit 1) a deploy that strands a consumer
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from media_shared import SchemaCatalog
from tools.cli import assets, can_deploy, dlq, publish, reconcile, replay, tail, uploads
from tools.cli.errors import CliError
from tools.localstack import StackError, Target, resolve_target

PROG = "mediactl"
NOT_RECONCILED = 3


def _common() -> argparse.ArgumentParser:
    """Target options, accepted before or after the command (SUPPRESS: no clobbering)."""
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where to act")
    where.add_argument(
        "--local",
        action="store_true",
        default=argparse.SUPPRESS,
        help="the local stack of `make up` (the default when it is running)",
    )
    where.add_argument(
        "--aws",
        action="store_true",
        default=argparse.SUPPRESS,
        help="AWS, even if a local stack runs",
    )
    where.add_argument(
        "--endpoint", default=argparse.SUPPRESS, help="an AWS-compatible endpoint URL (moto)"
    )
    where.add_argument(
        "--env",
        default=argparse.SUPPRESS,
        help="environment of the SSM parameters naming the resources "
        "(default: local / $MEDIA_ENV / dev)",
    )
    where.add_argument("--region", default=argparse.SUPPRESS, help="AWS region")
    return common


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Operate the media pipeline, on AWS or on the local stack.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = commands.add_parser(
        "publish",
        parents=[common],
        help="validate an event against its schema, then put it on the bus",
        description="EVENT is a JSON file, or an example of schemas/: NAME (its valid-basic), "
        "NAME/VARIANT or NAME/vMAJOR/VARIANT, e.g. AssetIngested/valid-basic.",
    )
    p.add_argument("event", metavar="EVENT")
    p.add_argument(
        "--new-id", action="store_true", help="give it a fresh event id and time before publishing"
    )
    p.add_argument("--dry-run", action="store_true", help="validate only, publish nothing")

    p = commands.add_parser("upload", parents=[common], help="upload files to the uploads bucket")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--prefix", default=uploads.DEFAULT_PREFIX, help="key prefix (default incoming/)"
    )

    p = commands.add_parser("status", parents=[common], help="an asset's index record")
    p.add_argument("asset_id", metavar="ASSET_ID")
    p.add_argument("--json", action="store_true", help="the whole stored record as JSON")

    p = commands.add_parser("list", parents=[common], help="recently updated assets")
    p.add_argument("--status", choices=sorted(assets.TERMINAL | {"pending"}))
    p.add_argument("--limit", type=_positive, default=20)

    p = commands.add_parser("tail", parents=[common], help="print every event on the bus")
    p.add_argument(
        "--detail-type", action="append", default=[], help="only this detail-type (repeatable)"
    )
    p.add_argument("--bus", help="another bus than the media bus")
    p.add_argument("--max", type=_positive, help="stop after this many events")
    p.add_argument("--timeout", type=_seconds, help="stop after this many seconds")

    p = commands.add_parser("dlq", parents=[common], help="dead-letter queues: list, redrive")
    dlq_commands = p.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    q = dlq_commands.add_parser("list", parents=[common], help="what waits in each DLQ")
    q.add_argument("service", nargs="?", metavar="SERVICE")
    q.add_argument("--limit", type=_positive, default=50, help="messages shown per DLQ")
    q = dlq_commands.add_parser(
        "redrive", parents=[common], help="move a service's DLQ back to its queue"
    )
    q.add_argument("service", metavar="SERVICE")
    q.add_argument("--max", type=_positive, help="move at most this many")

    p = commands.add_parser(
        "replay", parents=[common], help="replay a time window of the bus archive onto the bus"
    )
    p.add_argument(
        "--from", dest="start", required=True, help="ISO 8601 time, or a time ago: 30m, 2h, 1d"
    )
    p.add_argument("--to", dest="end", default="now", help="ISO 8601 time or a time ago (now)")
    p.add_argument("--archive", help="archive name (default: the bus's only archive)")
    p.add_argument(
        "--uploads",
        action="store_true",
        help="replay the uploads bucket's S3 events (their archive on the default bus) to ingest",
    )
    p.add_argument("--wait", type=_seconds, default=30.0, help="seconds to wait for completion")

    p = commands.add_parser(
        "reconcile",
        parents=[common],
        help="account for every upload of a time window (exit 3 if any is unaccounted for)",
        description="Every upload made in the window, found in the uploads bucket, the index, "
        "the originals bucket and the DLQs, in exactly one terminal state: indexed, rejected "
        "(reason), failed (error). Lists what is not; exits 3 if anything is unaccounted for.",
    )
    p.add_argument(
        "--from", dest="start", required=True, help="ISO 8601 time, or a time ago: 30m, 2h, 1d"
    )
    p.add_argument("--to", dest="end", default="now", help="ISO 8601 time or a time ago (now)")
    p.add_argument(
        "--expect",
        metavar="FILE",
        help="asset ids known to be uploaded in the window (one per line, or JSON lines with "
        "asset_id): one found nowhere is reported lost",
    )
    p.add_argument("--verbose", action="store_true", help="list every upload, not only the rest")
    can_deploy.add_parser(commands, common)
    return parser


def target_from(args: argparse.Namespace) -> Target:
    return resolve_target(
        local=getattr(args, "local", False),
        aws=getattr(args, "aws", False),
        endpoint=getattr(args, "endpoint", None),
        environment=getattr(args, "env", None),
        region=getattr(args, "region", None),
    )


def _print(text: str = "") -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    """Carry out one parsed command; raises CliError on what the user must fix."""
    command = args.command
    if command == "publish":
        event, origin = publish.load_event(args.event)
        if args.new_id:
            event = publish.refresh_ids(event)
        if args.dry_run:
            schema = publish.validate(event, SchemaCatalog(publish.SCHEMAS))
            _print(f"valid {schema}: {origin} (not published: --dry-run)")
            return 0
        target = target_from(args)
        done = publish.publish(target, event, origin=origin)
        _print(
            f"published {done.detail_type} from {done.source} to {done.bus} "
            f"(EventBridge id {done.event_id}) on the {target.describe()}"
        )
        return 0

    target = target_from(args)
    if command == "can-deploy":
        return can_deploy.run(args, target)
    if command == "upload":
        for upload in uploads.upload(target, args.files, args.prefix):
            _print(
                f"{upload.file} -> s3://{upload.bucket}/{upload.key} "
                f"(version {upload.version_id}) asset {upload.asset_id}"
            )
    elif command == "status":
        record = assets.get_asset(target, args.asset_id)
        if args.json:
            _print(json.dumps(record.item, indent=2, sort_keys=True, default=str))
        else:
            for name, value in assets.summary(record).items():
                _print(f"{name:>11}: {value}")
            for rendition in record.thumbnails:
                _print(f"{'':>11}  s3://{rendition.get('bucket')}/{rendition.get('key')}")
    elif command == "list":
        records = assets.list_assets(target, args.status, args.limit)
        if not records:
            _print("no assets" + (f" with status {args.status}" if args.status else ""))
        else:
            rows = [assets.summary(r) for r in records]
            _print(
                assets.table(
                    rows,
                    ["asset", "status", "file", "dimensions", "camera", "thumbnails", "updated_at"],
                )
            )
    elif command == "tail":
        with tail.BusTail(target, args.detail_type, args.bus) as following:
            filtered = f" ({', '.join(args.detail_type)})" if args.detail_type else ""
            print(
                f"tailing {following.bus}{filtered} on the {target.describe()}; Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            for event in following.events(args.max, args.timeout):
                _print(tail.render(event))
    elif command == "dlq" and args.dlq_command == "list":
        return _dlq_list(target, args.service, args.limit)
    elif command == "dlq" and args.dlq_command == "redrive":
        moved = dlq.redrive(target, args.service, args.max)
        _print(f"moved {moved} message(s) from the {args.service} DLQ back to its queue")
    elif command == "replay":
        result = replay.replay(
            target,
            replay.parse_time(args.start),
            replay.parse_time(args.end),
            archive=args.archive,
            uploads=args.uploads,
            wait=args.wait,
        )
        _print(
            f"replay {result.name} of {result.archive} from {result.start.isoformat()} to "
            f"{result.end.isoformat()}: {result.state}"
            + (f" ({result.reason})" if result.reason else "")
        )
        return 0 if result.state != "FAILED" else 1
    elif command == "reconcile":
        expected = reconcile.read_expected(args.expect) if args.expect else []
        report = reconcile.reconcile(
            target,
            replay.parse_time(args.start),
            replay.parse_time(args.end),
            expected=expected,
        )
        for line in reconcile.render(report, verbose=args.verbose):
            _print(line)
        return 0 if report.exact else NOT_RECONCILED
    return 0


def _dlq_list(target: Target, service: str | None, limit: int) -> int:
    reports = dlq.list_dead_letters(target, service, limit)
    if not reports:
        _print(f"no services deployed on the {target.describe()}")
    for report in reports:
        if report.dlq_url is None:
            _print(f"{report.service}: no DLQ")
            continue
        _print(f"{report.service}: {report.approximate} message(s) in {report.dlq_url}")
        for letter in report.messages:
            what = letter.detail_type or "?"
            asset = f" asset {letter.asset_id}" if letter.asset_id else ""
            if letter.kind == "parked":
                why = f"parked: {letter.reason} ({letter.error_type}: {letter.error_message})"
            else:
                why = (
                    f"redriven by SQS after {letter.receive_count} receive(s); "
                    f"see the function's log"
                )
            _print(f"  {letter.message_id} {what}{asset}\n    {why}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    def on_term(_number: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        return run(args)
    except (CliError, StackError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except NoCredentialsError:
        print(
            f"{PROG}: error: no AWS credentials found. For the local stack run `make up` (or pass "
            "--local); for AWS configure credentials (AWS_PROFILE, aws sso login, ...).",
            file=sys.stderr,
        )
        return 1
    except NoRegionError:
        print(f"{PROG}: error: no AWS region: pass --region or set AWS_REGION", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
