"""Who an asset belongs to: an owner id derived from a verified token, carried in the upload key.

The owner of an upload is the person whose token the upload API verified: its issuer and subject.
:func:`owner_id` turns them into a short, stable, key-safe id (``u-`` and 32 hex characters of
SHA-256 over issuer and subject), the same wherever it is computed: the upload API puts it in the
key it presigns, the read API computes the caller's to scope every read. Two issuers' subjects can
never collide, and a subject is never shown in a key.

The owner travels in the upload's key, ``<prefix><owner>/<random>/<file name>``, which the
presigned POST's policy binds exactly (``{"key": ...}``): a browser cannot upload under another
owner's id. Ingest reads it back with :func:`owner_of_key` and states it in AssetIngested and
AssetRejected; the indexer stores it and indexes it (``by_owner``).

No owner (None) means the upload did not come through the upload API: the operator CLI
(``mediactl upload``) or any other producer with write access to the uploads bucket. Such an
asset is **unowned**: no user's gallery lists it and no user can read it; only a caller with the
operator scope sees it.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

OWNER_PREFIX: Final = "u-"
#: An owner id: ``u-`` and 32 lowercase hex characters.
OWNER_PATTERN: Final = r"^u-[0-9a-f]{32}$"
_OWNER = re.compile(OWNER_PATTERN)
# ".../<owner>/<32 hex random>/<file name>" at the end of a key, whatever prefix precedes it.
_OWNED_KEY = re.compile(r"(?:^|/)(u-[0-9a-f]{32})/[0-9a-f]{32}/[^/]+$")


def owner_id(issuer: str, subject: str) -> str:
    """The owner id of the person a verified token names (its ``iss`` and ``sub``)."""
    if not issuer or not subject:
        raise ValueError("an owner needs both the token's issuer and its subject")
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    return f"{OWNER_PREFIX}{digest[:32]}"


def is_owner_id(value: object) -> bool:
    return isinstance(value, str) and _OWNER.match(value) is not None


def owner_of_key(key: str) -> str | None:
    """The owner an upload key names (``.../<owner>/<random>/<name>``), or None: unowned."""
    match = _OWNED_KEY.search(key)
    return match.group(1) if match else None
