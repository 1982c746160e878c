"""API Gateway's CORS for an HTTP API deployed with a ``CorsConfiguration``.

The gateway itself answers a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) for
an allowed origin with the configured methods, headers and max age, and marks every other
response of the API for that origin (``Access-Control-Allow-Origin``, credentials, exposed
headers). An origin the configuration does not allow gets no CORS header at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def cors_headers(
    cors: Mapping[str, Any] | None, origin: str | None, *, preflight: bool = False
) -> dict[str, str]:
    """The CORS headers API Gateway adds for ``origin`` under an API's CorsConfiguration."""
    if not cors or not origin:
        return {}
    allowed = [str(o) for o in cors.get("AllowOrigins") or []]
    if origin not in allowed and "*" not in allowed:
        return {}
    credentials = bool(cors.get("AllowCredentials"))
    headers = {"access-control-allow-origin": "*" if "*" in allowed and not credentials else origin}
    if credentials:
        headers["access-control-allow-credentials"] = "true"
    if preflight:
        for name, key in (
            ("access-control-allow-methods", "AllowMethods"),
            ("access-control-allow-headers", "AllowHeaders"),
        ):
            if cors.get(key):
                headers[name] = ",".join(str(v) for v in cors[key])
        if cors.get("MaxAge") is not None:
            headers["access-control-max-age"] = str(cors["MaxAge"])
    elif cors.get("ExposeHeaders"):
        headers["access-control-expose-headers"] = ",".join(str(v) for v in cors["ExposeHeaders"])
    return headers
