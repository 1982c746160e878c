"""Where a command acts: the local stack, or an AWS environment; and what it finds there.

Every command that can act on either (``mediactl``, ``make deploy``/``plan``, the demo, the soak,
the tests) resolves its target here. First match wins:

* ``endpoint``: that endpoint (a moto server), dummy credentials;
* ``local`` (``--local``, ``LOCAL=1``) or ``environment="local"``: the local stack recorded in
  the stack folder (``$MEDIA_STACK_DIR``, default ``.local/``); an error if there is none or it
  is not running;
* ``aws``: AWS, with the usual credential chain;
* otherwise the local stack when its record names a running server, else AWS. A record whose
  server is gone is an error rather than a silent switch to AWS.

The environment defaults to ``local`` on the local stack and ``$MEDIA_ENV`` or ``dev`` on AWS.
Every resource name comes from the SSM parameters under ``/media-pipeline/<env>/``, as the
service roots find them: nothing is derived from naming conventions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from tools.localstack.errors import StackError
from tools.localstack.record import DEFAULT_REGION, PARAMETER_ROOT, Stack, read_stack, stack_dir

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

LOCAL_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}


@dataclass
class Target:
    """One deployment of the pipeline: an endpoint (None for AWS), a region, an environment."""

    environment: str
    region: str
    endpoint: str | None = None
    #: The local stack's record, when the target is the one in the stack folder.
    stack: Stack | None = None
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
        """``/media-pipeline/<env>/<path>``; StackError naming it (and the fix) when missing."""
        name = f"{PARAMETER_ROOT}/{self.environment}/{path}"
        if name not in self._parameters:
            try:
                value = self.ssm.get_parameter(Name=name)["Parameter"].get("Value", "")
            except self.ssm.exceptions.ParameterNotFound:
                raise StackError(
                    f"SSM parameter {name} not found on the {self.describe()}: is the stack "
                    f"deployed (`make up` locally, `make deploy ENV={self.environment}` on AWS)?"
                ) from None
            except (BotoCoreError, ClientError) as error:
                raise StackError(f"cannot read SSM parameter {name}: {error}") from error
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


def stack_target(stack: Stack) -> Target:
    """The target of one local stack (its record)."""
    return Target(
        environment=stack.environment, region=stack.region, endpoint=stack.endpoint, stack=stack
    )


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
        raise StackError("--local and --aws contradict each other")
    default_region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if endpoint:
        return Target(
            environment=environment or "local",
            region=default_region or DEFAULT_REGION,
            endpoint=endpoint,
        )
    directory = stack_dir()
    record = directory / "moto.json"
    local = local or (environment == "local" and not aws)
    if not aws:
        try:
            stack = read_stack(directory)
        except ValueError as error:
            raise StackError(str(error)) from None
        if stack is None and local:
            raise StackError(f"no local stack ({record} is missing): start one with `make up`")
        if stack is not None and not stack.running:
            if local:
                raise StackError(
                    f"the local stack recorded in {record} is not running (pid {stack.pid}): "
                    "start it again with `make up`"
                )
            raise StackError(
                f"{record} names a local stack that is no longer running: `make up` to "
                "restart it, `make down` to forget it, or --aws (ENV=<environment> for make) "
                "to act on AWS"
            )
        if stack is not None:
            target = stack_target(stack)
            target.environment = environment or stack.environment
            target.region = region or stack.region
            return target
    return Target(
        environment=environment or os.environ.get("MEDIA_ENV") or "dev",
        region=default_region or DEFAULT_REGION,
    )
