"""The end-to-end tests run on the session's local stack: the ``pipeline`` fixture of
``tests/conftest.py`` (see ``tests.support.stack``), shared with the reliability tests."""

from __future__ import annotations

from tests.support.stack import Pipeline

__all__ = ["Pipeline"]
