"""The infrastructure tests read the session's local stack (``pipeline``, tests/conftest.py).

That stack is brought up by the same driver as ``make up`` (``python -m tools.localstack up``) in
a folder of its own (``MEDIA_STACK_DIR``), never a developer's ``.local/`` stack, and shared with
the end-to-end, reliability and browser tests: one stack per session. These tests only read it,
except the deploy of a changed thumbnailer configuration, which deploys the original back.
"""

from __future__ import annotations

import pytest

from tests.support.stack import Pipeline


@pytest.fixture(scope="session")
def local_stack(pipeline: Pipeline) -> Pipeline:
    return pipeline
