"""Helpers shared by every test in the repository (not packaged into any Lambda).

* ``tests.support.images``: deterministic, photographic-ish test images as bytes, in every format
  the pipeline meets, including the broken and hostile ones.
* ``tests.support.events``: the canonical example events and factories for variations.
* ``tests.support.s3events``: the S3 "Object Created" events ingest receives.
* ``tests.support.aws``: the moto account a service's tests run in, and reading it back.
* ``tests.support.capture``: every event published during a test session.
"""
