"""The CLI's own error: what the user asked cannot be done; the message says why and what to do.

Where the CLI acts and what it finds there (the target, its SSM parameters) is
:mod:`tools.localstack.target`'s, whose errors are :class:`tools.localstack.StackError`.
"""

from __future__ import annotations


class CliError(Exception):
    """What the user asked cannot be done; the message says why and what to do."""
