"""JSON Web Tokens as API Gateway's JWT authorizer checks them.

Signatures, keys and the registered claims are joserfc's (RFC 7515/7517/7519: the library moto
itself uses): a token is accepted only if it is an RS256 JWT signed by a key of the issuer's
JWKS (``kid``), with ``iss`` the configured issuer, ``exp`` in the future, ``nbf`` and ``iat``
(if any) in the past. What is API Gateway's own is here: the identity source (``Authorization``,
with or without ``Bearer``), ``aud`` (or, without one, ``client_id``) among the configured
audiences, a route's scopes met by ``scope``/``scp``; 401 otherwise (403 for scopes).

:class:`KeySets` finds an issuer's keys: the local issuer's (``issuer.py``) own, any other's
through its OIDC discovery document.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from tools.runtime.apigateway.issuer import LocalIssuer

_CLOCK_SKEW = 0  # API Gateway allows none for exp/nbf


class AuthorizationError(Exception):
    """The JWT authorizer refuses the request: 401 (no or bad token) or 403 (missing scope)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def _fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


class KeySets:
    """The JWKS of each issuer: the local issuer's own; any other's through OIDC discovery."""

    def __init__(
        self, local: LocalIssuer | None, fetch: Callable[[str], Any] = _fetch_json
    ) -> None:
        self.local = local
        self.fetch = fetch
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def keys(self, issuer: str) -> dict[str, Any]:
        if self.local is not None and issuer == self.local.issuer:
            return self.local.jwks()
        with self._lock:
            cached = self._cache.get(issuer)
            if cached and time.monotonic() - cached[0] < 3600:
                return cached[1]
        try:
            discovery = self.fetch(f"{issuer.rstrip('/')}/.well-known/openid-configuration")
            jwks = self.fetch(str(discovery["jwks_uri"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise AuthorizationError(
                401, f"cannot get the keys of issuer {issuer}: {error}"
            ) from error
        with self._lock:
            self._cache[issuer] = (time.monotonic(), jwks)
        return dict(jwks)

    def key_set(self, issuer: str) -> KeySet:
        """The issuer's RSA keys, as joserfc verifies with them (by the token's ``kid``)."""
        rsa = [jwk for jwk in self.keys(issuer).get("keys", []) if jwk.get("kty") == "RSA"]
        try:
            return KeySet.import_key_set({"keys": rsa})
        except (JoseError, ValueError, TypeError) as error:
            raise AuthorizationError(401, f"unusable keys of issuer {issuer}: {error}") from error


@dataclass(frozen=True)
class JwtAuthorizer:
    """An ``AuthorizerType: JWT`` authorizer as deployed: issuer, audience, identity source."""

    authorizer_id: str
    issuer: str
    audience: tuple[str, ...]
    identity_source: tuple[str, ...] = ("$request.header.Authorization",)

    def token(self, headers: Mapping[str, str]) -> str:
        for source in self.identity_source:
            prefix = "$request.header."
            if source.startswith(prefix):
                value = headers.get(source[len(prefix) :].lower(), "").strip()
                if value:
                    # API Gateway takes the token with or without the "Bearer " prefix.
                    return value[7:].strip() if value[:7].lower() == "bearer " else value
        raise AuthorizationError(401, "no token in the identity source")

    def validate(
        self,
        headers: Mapping[str, str],
        keys: KeySets,
        scopes: Sequence[str] = (),
        now: float | None = None,
    ) -> dict[str, Any]:
        """The token's claims, or AuthorizationError as API Gateway would refuse it."""
        token = self.token(headers)
        if token.count(".") != 2:
            raise AuthorizationError(401, "not a JWT")
        try:
            decoded = jwt.decode(token, keys.key_set(self.issuer), algorithms=["RS256"])
        except BadSignatureError as error:
            raise AuthorizationError(401, "bad signature") from error
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise AuthorizationError(401, f"unusable JWT: {error}") from error
        claims = dict(decoded.claims)
        moment = int(time.time() if now is None else now)
        registry = jwt.JWTClaimsRegistry(
            now=moment,
            leeway=_CLOCK_SKEW,
            iss={"essential": True, "value": self.issuer},
            exp={"essential": True},
        )
        try:
            # A null claim is an absent one (an essential one is then missing).
            registry.validate({name: value for name, value in claims.items() if value is not None})
        except ExpiredTokenError as error:
            raise AuthorizationError(401, "expired") from error
        except MissingClaimError as error:
            raise AuthorizationError(401, f"missing claim: {error}") from error
        except JoseError as error:
            raise AuthorizationError(401, f"refused claim: {error}") from error
        audiences = claims.get("aud")
        presented = set(audiences if isinstance(audiences, list) else [audiences])
        if audiences is None:
            presented = {claims.get("client_id")}
        if not presented & set(self.audience):
            raise AuthorizationError(401, f"audience {sorted(map(str, presented))} not accepted")
        if scopes:
            granted = set(str(claims.get("scope") or claims.get("scp") or "").split())
            if not granted & set(scopes):
                raise AuthorizationError(403, f"none of the scopes {list(scopes)}")
        return claims


def claims_for_lambda(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims the way API Gateway hands them to the function: every value a string."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, list):
            out[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            out[name] = str(value).lower()
        else:
            out[name] = str(value)
    return out
