"""Identifiers every service derives the same way."""

from __future__ import annotations

import hashlib


def asset_id(bucket: str, key: str, version_id: str | None) -> str:
    """Deterministic, version-aware id of one upload: 32 lowercase hex characters.

    The same (bucket, key, version) always maps to the same asset, so a duplicate delivery of one
    upload is recognised; a second upload of the same key is a new version, hence a new asset.
    """
    material = f"{bucket}\n{key}\n{version_id or 'null'}".encode()
    return hashlib.sha256(material).hexdigest()[:32]
