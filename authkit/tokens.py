"""Access and refresh JWTs: which claims they carry, how long they live, and how they are checked."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

import jwt

from authkit import jws
from authkit.errors import TokenError
from authkit.keys import KeySet

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1
REFRESH_TOKEN_TYPE = "rt+jwt"  # distinct, so neither passes as the other (RFC 8725 §3.11)
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=14)
REQUIRED_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti")
JTI_BYTES = 16  # 128 bits: a token ID nobody can guess or collide


def _media_type(typ: object) -> str | None:
    """``typ`` compared as RFC 7515 §4.1.9 says: case-insensitive, ``application/`` optional."""
    if not isinstance(typ, str):
        return None
    typ = typ.lower()
    return typ[len("application/") :] if typ.startswith("application/") else typ


class TokenIssuer:
    """Signs access and refresh tokens with the key set's current key."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        access_ttl: timedelta = ACCESS_TTL,
        refresh_ttl: timedelta = REFRESH_TTL,
    ) -> None:
        if not keys.current.can_sign:
            raise ValueError(f"the current key {keys.current.kid!r} is verify-only")
        self.keys, self.issuer, self.audience = keys, issuer, audience
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl

    def _issue(self, typ: str, ttl: timedelta, subject: str, extra: dict[str, Any]) -> str:
        if not isinstance(subject, str) or not subject:
            raise ValueError("subject must be a non-empty string")
        clash = sorted(set(extra) & set(REQUIRED_CLAIMS))
        if clash:
            raise ValueError(f"extra claims may not override registered claims {clash}")
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "iat": now,
            "exp": now + int(ttl.total_seconds()),
            "jti": secrets.token_urlsafe(JTI_BYTES),
            **extra,
        }
        return jws.sign_claims(claims, self.keys.current, typ=typ)

    def issue_access(self, subject: str, *, scope: str = "", claims: dict[str, Any] | None = None) -> str:
        """A short-lived access token (``typ`` at+jwt) for ``subject``, with ``scope`` if given."""
        extra = {"scope": scope} if scope else {}
        return self._issue(ACCESS_TOKEN_TYPE, self.access_ttl, subject, {**extra, **(claims or {})})

    def issue_refresh(self, subject: str, *, claims: dict[str, Any] | None = None) -> str:
        """A long-lived refresh token (``typ`` rt+jwt) for ``subject``."""
        return self._issue(REFRESH_TOKEN_TYPE, self.refresh_ttl, subject, dict(claims or {}))


class TokenVerifier:
    """Checks tokens against keys found by ``kid``; every refusal is one ``TokenError`` with a reason."""

    def __init__(
        self,
        keys: KeySet | jwt.PyJWKClient,
        *,
        issuer: str,
        audience: str,
        leeway: timedelta = timedelta(0),
    ) -> None:
        self.keys, self.issuer, self.audience, self.leeway = keys, issuer, audience, leeway

    def verify_access(self, token: str | bytes) -> dict[str, Any]:
        """The claims of a valid access token; ``TokenError`` otherwise."""
        return self.verify(token, typ=ACCESS_TOKEN_TYPE)

    def verify_refresh(self, token: str | bytes) -> dict[str, Any]:
        """The claims of a valid refresh token; ``TokenError`` otherwise."""
        return self.verify(token, typ=REFRESH_TOKEN_TYPE)

    def verify(self, token: str | bytes, *, typ: str) -> dict[str, Any]:
        """Key by ``kid``, algorithm from that key, signature, time and audience claims, then ``typ``."""
        try:
            header = jws.read_header(token)
            key = jws.find_key(self.keys, header)
            header, claims = jws.verify_claims(
                token,
                key,
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                require=REQUIRED_CLAIMS,
            )
        except TokenError:
            raise
        except Exception as err:  # fail closed: nothing but a TokenError leaves the verifier
            raise jws.token_error(err) from err
        if _media_type(header.get("typ")) != typ:
            raise TokenError("wrong_type", f"expected typ {typ!r}, got {header.get('typ')!r}")
        return claims
