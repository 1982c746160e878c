"""The operator CLI (``mediactl``): plain functions per concern, ``main.py`` only parses and prints.

``target`` (AWS or the local stack, names from SSM), ``publish``, ``uploads``, ``assets``,
``tail``, ``dlq``, ``replay``, ``services``.
"""
