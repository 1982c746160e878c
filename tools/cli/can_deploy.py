"""``mediactl can-deploy SERVICE... [--env E] [--local] [--candidate DIR]``: the deploy gate.

Compares the candidate (the working tree, or ``--candidate DIR``) of each named service with the
contracts the environment records (``/media-pipeline/<env>/<service>/contract``, written by each
root's apply) and refuses, exit 1, a deploy that would strand a deployed consumer or consume an
event and major that nobody produces (see ``tools.contracts``). Several services are checked as
one deploy: a producer's new major and its consumer's move can go out together.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from tools.cli.errors import CliError
from tools.contracts import REPO, ContractError, candidate, check, deployed
from tools.localstack import Target

REFUSED = 1


def add_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = commands.add_parser(
        "can-deploy",
        parents=[common],
        help="refuse a deploy that would strand a deployed consumer (exit 1)",
        description="Compare the candidate of SERVICE (the working tree) with what the "
        "environment records, and refuse (exit 1), naming service, event and version, a deploy "
        "that would leave a deployed consumer's rule with no producer, or consume an event "
        "nobody produces.",
    )
    p.add_argument("services", nargs="+", metavar="SERVICE", help="the services deployed together")
    p.add_argument(
        "--candidate",
        type=Path,
        default=REPO,
        metavar="DIR",
        help="the tree to deploy (default: this working tree)",
    )


def run(args: argparse.Namespace, target: Target) -> int:
    try:
        candidates = [candidate(service, args.candidate) for service in args.services]
        recorded = deployed(target.ssm, target.environment)
    except ContractError as error:
        raise CliError(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(
            f"cannot read the recorded contracts on the {target.describe()}: {error}"
        ) from error
    names = ", ".join(args.services)
    refusals = check(candidates, recorded)
    others = sorted(set(recorded) - set(args.services))
    print(
        f"can-deploy {names} to the {target.describe()}: recorded contracts of "
        f"{', '.join(sorted(recorded)) or 'no service'}",
        flush=True,
    )
    for contract in candidates:
        produced = ", ".join(str(p) for p in sorted(contract.produces)) or "nothing"
        print(f"  {contract.service} would publish {produced}", flush=True)
    if refusals:
        print(f"REFUSED: deploying {names} next to {', '.join(others) or 'nothing'}:", flush=True)
        for refusal in refusals:
            print(f"  - {refusal}", flush=True)
        return REFUSED
    print(f"allowed: every rule of {', '.join(sorted({*others, *args.services}))} keeps a producer")
    return 0
