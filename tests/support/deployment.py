"""Where the end-to-end suite acts: the session's local stack, or a deployed environment.

By default the suite runs on the session's local stack (``pipeline``, tests/conftest.py). With
``MEDIA_TEST_ENV=<env>`` (what ``make test-deployed ENV=<env>`` sets) it runs against that
environment instead, through its public interfaces only, and finds everything the way a client
would, never from a local stack's record, Terraform state or files:

* AWS access is boto3's usual chain (credentials, ``AWS_REGION``, and ``AWS_ENDPOINT_URL`` when
  set: that is how the local stack is addressed as if it were any environment);
* every resource name comes from the environment's SSM parameters (``/media-pipeline/<env>/...``:
  the uploads bucket, the bus, the index table) through :class:`tools.localstack.Target`, and the
  read API's address from ``/media-pipeline/<env>/indexer/read-api/url`` unless
  ``MEDIA_READ_API_URL`` gives another (the local stack's API Gateway is the runtime's gateway,
  ``make runtime``'s ``http://127.0.0.1:3000``, not the URL moto records);
* a read-API token is ``MEDIA_TEST_TOKEN`` (a bearer token of a user of the environment's
  identity provider; ``MEDIA_TEST_OTHER_TOKEN``, another user's, for the owner-isolation check).
  In the ``local`` environment the local issuer gives one for any subject
  (``POST <read api>/local-auth/token``). Without one, the tests that need it skip and say so.

Tests that need the local stack's own internals (the runtime's invocations and logs, a service's
queue, a synthetic event on the bus) keep asking for ``pipeline``, which skips in this mode.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from media_shared.ownership import owner_id
from tools.localstack import DEFAULT_REGION, StackError, Target

__all__ = [
    "ENV_VARIABLE",
    "Deployment",
    "HttpAnswer",
    "deployed_environment",
    "deployed_target",
    "owner_of_token",
]

ENV_VARIABLE = "MEDIA_TEST_ENV"
READ_API_VARIABLE = "MEDIA_READ_API_URL"
TOKEN_VARIABLE = "MEDIA_TEST_TOKEN"
OTHER_TOKEN_VARIABLE = "MEDIA_TEST_OTHER_TOKEN"
READ_API_PARAMETER = "indexer/read-api/url"
LOCAL_ENVIRONMENT = "local"


def deployed_environment() -> str | None:
    """The environment ``make test-deployed`` names, or None: the session's local stack."""
    return os.environ.get(ENV_VARIABLE) or None


def deployed_target(environment: str) -> Target:
    """The environment as boto3's usual chain reaches it (``AWS_ENDPOINT_URL`` included)."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return Target(environment=environment, region=region or DEFAULT_REGION)


def owner_of_token(token: str) -> str:
    """The owner id the read API derives from a token (its ``iss`` and ``sub``; not verified)."""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return owner_id(str(claims["iss"]), str(claims["sub"]))


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def http(url: str, *, token: str | None = None, data: bytes | None = None) -> HttpAnswer:
    headers = {"content-type": "application/json"} if data is not None else {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return HttpAnswer(response.status, response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.read())
    except urllib.error.URLError as error:
        raise AssertionError(
            f"cannot reach {url}: {error.reason} (a local stack's read API is the runtime's "
            f"gateway: set {READ_API_VARIABLE}, READ_API_URL for make)"
        ) from error


@dataclass
class Deployment:
    """One place the suite acts on: its target, mediactl's options for it, its read API."""

    target: Target
    #: mediactl's "where to act" options for this deployment.
    cli: tuple[str, ...]
    #: The read API's base URL, or None (``read_api_missing`` says why).
    read_api_url: str | None = None
    read_api_missing: str = ""
    #: A token for a subject (the local issuer), when the deployment has one.
    mint: Callable[[str], str] | None = None
    #: Tokens given from outside (MEDIA_TEST_TOKEN, MEDIA_TEST_OTHER_TOKEN), in that order.
    given_tokens: tuple[str, ...] = ()
    deployed: bool = False
    _tokens: dict[int, str] = field(default_factory=dict, repr=False)

    @classmethod
    def of_environment(cls, environment: str) -> Deployment:
        """A deployed environment, found from its SSM parameters and endpoint only."""
        target = deployed_target(environment)
        cli = ("--aws", "--env", environment, "--region", target.region)
        url = os.environ.get(READ_API_VARIABLE) or None
        missing = ""
        if url is None:
            try:
                url = target.parameter(READ_API_PARAMETER)
            except StackError as error:
                missing = f"no read API: {error} (or set {READ_API_VARIABLE})"
        given = tuple(
            token
            for token in (os.environ.get(TOKEN_VARIABLE), os.environ.get(OTHER_TOKEN_VARIABLE))
            if token
        )
        mint = None
        if url and environment == LOCAL_ENVIRONMENT and not given:
            base = url.rstrip("/")

            def mint(subject: str) -> str:
                body = json.dumps({"subject": subject}).encode()
                answer = http(f"{base}/local-auth/token", data=body)
                assert answer.status == 200, f"the local issuer refused a token: {answer}"
                return str(answer.json()["access_token"])

        return cls(target, cli, url, missing, mint, given, deployed=True)

    def read_api(self) -> str:
        """The read API's base URL; the test skips, saying why, when there is none."""
        if self.read_api_url is None:
            pytest.skip(self.read_api_missing or "no read API in this deployment")
        return self.read_api_url.rstrip("/")

    def token(self, person: int = 0) -> str:
        """A bearer token of person 0, 1, ... (distinct users); skips when none can be had."""
        if person not in self._tokens:
            if self.mint is not None:
                self._tokens[person] = self.mint(f"e2e-person-{person}")
            elif person < len(self.given_tokens):
                self._tokens[person] = self.given_tokens[person]
            else:
                needed = TOKEN_VARIABLE if person == 0 else OTHER_TOKEN_VARIABLE
                pytest.skip(
                    f"no read-API token for user {person + 1} of environment "
                    f"{self.target.environment}: set {needed} to a bearer token of a user of "
                    "its identity provider (its JWT authorizer's issuer and audience)"
                )
        return self._tokens[person]

    def get(self, path: str, person: int = 0) -> HttpAnswer:
        """``GET <read api><path>`` as that person."""
        return http(self.read_api() + path, token=self.token(person))
