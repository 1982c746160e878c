"""JSON Web Tokens as API Gateway's JWT authorizer checks them, and the local stack's issuer.

:class:`JwtAuthorizer` is one deployed ``AuthorizerType: JWT`` authorizer: it takes the token
from the identity source (``Authorization``, with or without ``Bearer``), and accepts it only if
it is an RS256 JWT signed by a key of the issuer's JWKS (``kid``), with ``iss`` the configured
issuer, ``exp`` in the future, ``nbf`` and ``iat`` (if any) in the past, and ``aud`` (or,
without one, ``client_id``) among the configured audiences; a route's scopes must meet
``scope``/``scp``. 401 otherwise (403 for scopes), as API Gateway answers.

:class:`LocalIssuer` is the local stack's identity provider: an RSA key (kept in the stack
directory so tokens survive a restart), its JWKS, and tokens signed with it.
:class:`KeySets` finds an issuer's keys: the local issuer's own, any other's through its OIDC
discovery document.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# The local stack's identity provider (this module's LocalIssuer): the issuer and audience the
# local stack's Terraform names in the roots' http_api variable (tools.localstack.terraform).
LOCAL_JWT_ISSUER = "https://issuer.local.media-pipeline.invalid"
LOCAL_JWT_AUDIENCE = "media-local-web"
DEFAULT_TOKEN_SECONDS = 3600
_CLOCK_SKEW = 0  # API Gateway allows none for exp/nbf


class AuthorizationError(Exception):
    """The JWT authorizer refuses the request: 401 (no or bad token) or 403 (missing scope)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


# --- JSON Web Tokens (RS256) -------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64url(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class LocalIssuer:
    """The local stack's OIDC issuer: an RSA key, its JWKS, and tokens signed with it."""

    def __init__(
        self,
        issuer: str = LOCAL_JWT_ISSUER,
        audience: str = LOCAL_JWT_AUDIENCE,
        key_file: Path | None = None,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = self._load_or_create(key_file)
        numbers = self._key.public_key().public_numbers()
        self.kid = hashlib.sha256(f"{numbers.n}:{numbers.e}".encode()).hexdigest()[:16]
        self._jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": _int_b64url(numbers.n),
            "e": _int_b64url(numbers.e),
        }

    @staticmethod
    def _load_or_create(key_file: Path | None) -> rsa.RSAPrivateKey:
        if key_file is not None and key_file.is_file():
            loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if isinstance(loaded, rsa.RSAPrivateKey):
                return loaded
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            key_file.chmod(0o600)
        return key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def discovery(self, base_url: str) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{base_url}/local-auth/jwks.json",
            "token_endpoint": f"{base_url}/local-auth/token",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def mint(
        self,
        subject: str = "local-user",
        *,
        audience: str | None = None,
        lifetime: int = DEFAULT_TOKEN_SECONDS,
        scopes: Sequence[str] = (),
        issuer: str | None = None,
        extra: Mapping[str, Any] | None = None,
        now: float | None = None,
    ) -> str:
        """A signed access token; every argument overridable so tests can forge bad ones."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "sub": subject,
            "aud": audience or self.audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
            "jti": uuid.uuid4().hex,
        }
        if scopes:
            claims["scope"] = " ".join(scopes)
        claims.update(extra or {})
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = self._key.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{_b64url(signature)}"


def _public_key(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(_b64url_decode(str(jwk["n"])), "big")
    e = int.from_bytes(_b64url_decode(str(jwk["e"])), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


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
        parts = token.split(".")
        if len(parts) != 3:
            raise AuthorizationError(401, "not a JWT")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except ValueError as error:
            raise AuthorizationError(401, f"undecodable JWT: {error}") from error
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise AuthorizationError(401, "JWT parts are not JSON objects")
        if header.get("alg") != "RS256":
            raise AuthorizationError(401, f"unsupported alg {header.get('alg')!r}")
        if claims.get("iss") != self.issuer:
            raise AuthorizationError(401, f"iss {claims.get('iss')!r} is not {self.issuer}")
        candidates = [
            jwk
            for jwk in keys.keys(self.issuer).get("keys", [])
            if jwk.get("kty") == "RSA" and jwk.get("kid") == header.get("kid")
        ]
        if not candidates:
            raise AuthorizationError(401, f"no key {header.get('kid')!r} for {self.issuer}")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        try:
            _public_key(candidates[0]).verify(
                signature, signing_input, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError) as error:
            raise AuthorizationError(401, "bad signature") from error
        moment = time.time() if now is None else now
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or moment >= exp + _CLOCK_SKEW:
            raise AuthorizationError(401, "expired (or no exp)")
        if isinstance(nbf, int | float) and moment < nbf - _CLOCK_SKEW:
            raise AuthorizationError(401, "not valid yet (nbf)")
        iat = claims.get("iat")
        if isinstance(iat, int | float) and moment < iat - _CLOCK_SKEW:
            raise AuthorizationError(401, "issued in the future (iat)")
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
