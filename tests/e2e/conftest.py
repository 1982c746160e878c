"""The end-to-end tests: on the session's local stack (the ``pipeline`` fixture of
``tests/conftest.py``, see ``tests.support.stack``), or, with ``MEDIA_TEST_ENV=<env>``
(``make test-deployed ENV=<env>``), against a deployed environment through its public interfaces
only (``tests.support.deployment``).

``deployment`` is where a test acts in either mode: its target (buckets, bus, index found from the
SSM parameters), mediactl's options for it, the read API and tokens for it. Tests that need the
local stack's internals ask for ``pipeline`` instead, and skip against a deployed environment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.deployment import Deployment, deployed_environment
from tests.support.stack import Pipeline

__all__ = ["Deployment", "Pipeline"]


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    environment = deployed_environment()
    if environment is not None:
        yield Deployment.of_environment(environment)
        return
    # The session's local stack, its read API served by a gateway of the session's runtime.
    from tools.runtime.apigateway import HttpGateway, LocalIssuer

    pipeline: Pipeline = request.getfixturevalue("pipeline")
    issuer = LocalIssuer(key_file=pipeline.directory / "http" / "issuer-key.pem")
    with HttpGateway(pipeline.runtime, port=0, issuer=issuer) as gateway:
        yield Deployment(
            target=pipeline.target,
            cli=("--endpoint", pipeline.endpoint, "--env", pipeline.environment),
            read_api_url=gateway.url,
            mint=lambda subject: issuer.mint(subject),
        )
