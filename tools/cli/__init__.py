"""The operator CLI (``mediactl``): plain functions per concern, ``main.py`` only parses and prints.

Where a command acts (AWS or the local stack, names from SSM) is ``tools.localstack.target``;
here: ``errors``, ``publish``, ``uploads``, ``assets``,
``tail``, ``dlq``, ``replay``, ``services``.
"""
