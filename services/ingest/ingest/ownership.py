"""Whose upload this is: the owner the upload key names, stated in ingest's events.

The upload API puts the owner id of the verified token in the key it presigns
(``incoming/<owner>/<random>/<name>``, bound by the POST policy, see ``ingest.upload_api``); ingest
reads it back from the key, never from anything else the uploader could set. A key that names no
owner (the operator CLI's ``incoming/<name>``, any other producer) gives an unowned asset: the
events carry no ``owner`` and only the read API's operator scope sees it
(``media_shared.ownership``).
"""

from __future__ import annotations

from media_shared.ownership import owner_of_key


def owner_fields(key: str) -> dict[str, str]:
    """``{"owner": ...}`` for AssetIngested/AssetRejected data, or nothing for an unowned key."""
    owner = owner_of_key(key)
    return {} if owner is None else {"owner": owner}
