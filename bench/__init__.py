"""Benchmarks of the media pipeline against its strongest peers and the physical floor.

``python -m bench`` (``make bench``) runs the sections, prints one table and stores it in
``bench/results.json`` and ``bench/results.md``. See ``bench/README.md`` for what each number means.
"""
