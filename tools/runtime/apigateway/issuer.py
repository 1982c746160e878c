"""The local stack's identity provider: an RSA key, its JWKS and discovery document, tokens.

:class:`LocalIssuer` is the issuer the local roots' ``http_api`` variable names
(:data:`LOCAL_JWT_ISSUER`, audience :data:`LOCAL_JWT_AUDIENCE`): what a real provider's login
gives a page on AWS, ``POST /local-auth/token`` gives it here. Its key is kept in the stack
directory so tokens survive a restart; its ``kid`` is the key's RFC 7638 thumbprint.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

# The issuer and audience the local stack's Terraform names in the roots' http_api variable
# (tools.localstack.terraform).
LOCAL_JWT_ISSUER = "https://issuer.local.media-pipeline.invalid"
LOCAL_JWT_AUDIENCE = "media-local-web"

DEFAULT_TOKEN_SECONDS = 3600


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
        self.kid = self._key.thumbprint()[:16]  # RFC 7638: the same key, the same kid
        self._jwk = {
            **self._key.as_dict(private=False),
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
        }

    @staticmethod
    def _load_or_create(key_file: Path | None) -> RSAKey:
        if key_file is not None and key_file.is_file():
            loaded = RSAKey.import_key(key_file.read_bytes())
            if loaded.is_private:
                return loaded
        key = RSAKey.generate_key(2048, private=True)
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_bytes(key.as_pem(private=True))
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
        return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": self.kid}, claims, self._key)
