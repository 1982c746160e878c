"""Helpers shared by every test in the repository (not packaged into any Lambda).

* ``tests.support.images``: deterministic, photographic-ish test images as bytes, in every format
  the pipeline meets, including the broken and hostile ones.
* ``tests.support.events``: the canonical example events and factories for variations.
* ``tests.support.capture``: every event published during a test session.
"""
