"""The one error of the local stack's tooling."""

from __future__ import annotations


class StackError(Exception):
    """A stack operation cannot go on; the message says what to do."""
