"""Where the CLI acts: AWS, or the local stack; and the names it finds there through SSM.

Resolution, first match wins:

* ``--endpoint URL``: that endpoint (a moto server), dummy credentials;
* ``--local``: the local stack recorded by ``make up`` in ``.local/moto.json`` (an error if none);
* ``--aws``: AWS, with the usual credential chain;
* otherwise the local stack when ``.local/moto.json`` names a running server, else AWS.

The environment (``--env``) defaults to ``local`` on the local stack and ``$MEDIA_ENV`` or ``dev``
on AWS. Every resource name comes from the SSM parameters under ``/media-pipeline/<env>/``, as the
service roots find them: nothing is derived from naming conventions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tools.runtime.endpoint import read_local_stack, stack_dir

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

REPO = Path(__file__).resolve().parents[2]
LOCAL_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
PARAMETER_ROOT = "/media-pipeline"


class CliError(Exception):
    """What the user asked cannot be done; the message says why and what to do."""


def _stack_file() -> Path:
    return stack_dir() / "moto.json"


@dataclass
class Target:
    """One deployment of the pipeline: an endpoint (None for AWS), a region, an environment."""

    environment: str
    region: str
    endpoint: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _parameters: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def local(self) -> bool:
        return self.endpoint is not None

    def describe(self) -> str:
        where = f"local stack at {self.endpoint}" if self.local else f"AWS {self.region}"
        return f"{where}, environment {self.environment}"

    @cached_property
    def session(self) -> boto3.session.Session:
        if self.local:
            return boto3.session.Session(
                aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
                aws_session_token=LOCAL_CREDENTIALS["aws_session_token"],
                region_name=self.region,
            )
        return boto3.session.Session(region_name=self.region)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service,  # type: ignore[call-overload]
                endpoint_url=self.endpoint,
            )
        return self._clients[service]

    @property
    def s3(self) -> S3Client:
        client: S3Client = self.client("s3")
        return client

    @property
    def sqs(self) -> SQSClient:
        client: SQSClient = self.client("sqs")
        return client

    @property
    def events(self) -> EventBridgeClient:
        client: EventBridgeClient = self.client("events")
        return client

    @property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self.client("dynamodb")
        return client

    @property
    def lambda_(self) -> LambdaClient:
        client: LambdaClient = self.client("lambda")
        return client

    @property
    def ssm(self) -> SSMClient:
        client: SSMClient = self.client("ssm")
        return client

    def parameter(self, path: str) -> str:
        """``/media-pipeline/<env>/<path>``; CliError naming it (and the fix) when missing."""
        name = f"{PARAMETER_ROOT}/{self.environment}/{path}"
        if name not in self._parameters:
            try:
                value = self.ssm.get_parameter(Name=name)["Parameter"].get("Value", "")
            except self.ssm.exceptions.ParameterNotFound:
                raise CliError(
                    f"SSM parameter {name} not found on the {self.describe()}: is the stack "
                    f"deployed (`make up` locally, `make deploy ENV={self.environment}` on AWS)?"
                ) from None
            except (BotoCoreError, ClientError) as error:
                raise CliError(f"cannot read SSM parameter {name}: {error}") from error
            self._parameters[name] = value
        return self._parameters[name]

    @property
    def bus_name(self) -> str:
        return self.parameter("platform/event-bus-name")

    @property
    def bus_arn(self) -> str:
        return self.parameter("platform/event-bus-arn")

    def bucket(self, role: str) -> str:
        """``uploads``, ``originals`` or ``derived``."""
        return self.parameter(f"platform/buckets/{role}/name")

    @property
    def index_table(self) -> str:
        return self.parameter("indexer/index-table/name")


def resolve_target(
    *,
    local: bool = False,
    aws: bool = False,
    endpoint: str | None = None,
    environment: str | None = None,
    region: str | None = None,
) -> Target:
    """The target the options and the machine's state designate (see the module docstring)."""
    if local and aws:
        raise CliError("--local and --aws contradict each other")
    default_region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if endpoint:
        return Target(
            environment=environment or "local",
            region=default_region or "us-east-1",
            endpoint=endpoint,
        )
    stack_file = _stack_file()
    if not aws:
        try:
            stack = read_local_stack(stack_file)
        except ValueError as error:
            raise CliError(str(error)) from None
        if stack is None and local:
            raise CliError(f"no local stack ({stack_file} is missing): start one with `make up`")
        if stack is not None and not stack.running:
            if local:
                raise CliError(
                    f"the local stack recorded in {stack_file} is not running (pid {stack.pid}): "
                    "start it again with `make up`"
                )
            raise CliError(
                f"{stack_file} names a local stack that is no longer running: `make up` to "
                "restart it, `make down` to forget it, or --aws to act on AWS"
            )
        if stack is not None:
            return Target(
                environment=environment or "local",
                region=region or stack.region,
                endpoint=stack.endpoint,
            )
    return Target(
        environment=environment or os.environ.get("MEDIA_ENV") or "dev",
        region=default_region or "us-east-1",
    )
