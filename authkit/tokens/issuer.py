"""Access and refresh JWTs: which claims they carry, how long they live, which keys sign them, how they are checked.

Refresh tokens live 14 days and access tokens 15 minutes. Signed by one key set, a key could not be
retired until 14 days after its last refresh token, and retiring it sooner logs everyone out. So a
refresh token may have its own key set (``refresh_keys``), rotated on its own clock and never published:
only the issuer verifies refresh tokens, so an HMAC key suits it. Without ``refresh_keys`` both kinds
share ``keys``, and ``KeySet.retire`` refuses to retire a key while a token it signed is still valid.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from authkit.tokens import jws
from authkit.errors import TokenError
from authkit.tokens.keys import KeySet
from authkit.tokens.remote_keys import RemoteKeySet

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1, registered as application/at+jwt
REFRESH_TOKEN_TYPE = "rt+jwt"  # authkit's own media type, not a registered one: it only has to differ (RFC 8725 §3.11)
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=14)
REQUIRED_CLAIMS = ("iss", "sub", "aud", "iat", "exp", "jti")
#: RFC 9068 §2.2 also requires ``client_id`` in an access token: the OAuth client that requested it (RFC 8693 §4.3).
ACCESS_REQUIRED_CLAIMS = REQUIRED_CLAIMS + ("client_id",)
JTI_BYTES = 16  # 128 bits: a token ID nobody can guess or collide


def _media_type(typ: object) -> str | None:
    """``typ`` compared as RFC 7515 §4.1.9 says: case-insensitive, ``application/`` optional."""
    if not isinstance(typ, str):
        return None
    typ = typ.lower()
    return typ[len("application/") :] if typ.startswith("application/") else typ


def _signing(keys: KeySet, role: str) -> KeySet:
    if not keys.current.can_sign:
        raise ValueError(f"the current {role} key {keys.current.kid!r} is verify-only")
    return keys


class TokenIssuer:
    """Signs access tokens with ``keys`` and refresh tokens with ``refresh_keys`` (default: ``keys`` too).

    Access tokens carry ``client_id`` (RFC 9068 §2.2): the client that asked for them. In the course's
    first-party flows the API's own front end is that client, so it defaults to the API's identifier
    (``audience``); a deployment with several clients names each one.
    """

    def __init__(
        self,
        keys: KeySet,
        *,
        refresh_keys: KeySet | None = None,
        issuer: str,
        audience: str,
        access_ttl: timedelta = ACCESS_TTL,
        refresh_ttl: timedelta = REFRESH_TTL,
        client_id: str | None = None,
    ) -> None:
        client_id = audience if client_id is None else client_id
        if not isinstance(client_id, str) or not client_id:
            raise ValueError("client_id must be a non-empty string (RFC 9068 §2.2)")
        self.client_id = client_id
        self.keys = _signing(keys, "access")
        self.refresh_keys = _signing(refresh_keys, "refresh") if refresh_keys is not None else keys
        self.issuer, self.audience = issuer, audience
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl

    def _issue(self, keys: KeySet, typ: str, ttl: timedelta, subject: str, extra: dict[str, Any]) -> str:
        if not isinstance(subject, str) or not subject:
            raise ValueError("subject must be a non-empty string")
        clash = sorted(set(extra) & set(REQUIRED_CLAIMS))
        if clash:
            raise ValueError(f"extra claims may not override registered claims {clash}")
        now = int(time.time())
        exp = now + int(ttl.total_seconds())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "iat": now,
            "exp": exp,
            "jti": secrets.token_urlsafe(JTI_BYTES),
            **extra,
        }
        return jws.sign_claims(claims, keys.signer(until=exp), typ=typ)

    def issue_access(self, subject: str, *, scope: str = "", claims: dict[str, Any] | None = None) -> str:
        """A short-lived access token (``typ`` at+jwt) for ``subject``, with ``scope`` if given."""
        extra = {"scope": scope} if scope else {}
        extra = {**extra, **(claims or {})}
        if "client_id" in extra:
            raise ValueError("extra claims may not override registered claims ['client_id']")
        return self._issue(self.keys, ACCESS_TOKEN_TYPE, self.access_ttl, subject,
                           {"client_id": self.client_id, **extra})

    def issue_refresh(self, subject: str, *, claims: dict[str, Any] | None = None) -> str:
        """A long-lived refresh token (``typ`` rt+jwt) for ``subject``, signed by the refresh key set."""
        return self._issue(self.refresh_keys, REFRESH_TOKEN_TYPE, self.refresh_ttl, subject, dict(claims or {}))


class TokenVerifier:
    """Checks tokens against keys found by ``kid``; every refusal is one ``TokenError`` with a reason.

    ``keys`` is a ``KeySet`` or the ``RemoteKeySet`` of a JWKS URL (``jws.jwks_client``); refresh tokens are
    checked against ``refresh_keys`` when given, else against ``keys``, as ``TokenIssuer`` signs them.
    """

    def __init__(
        self,
        keys: jws.KeySource,
        *,
        refresh_keys: KeySet | None = None,
        issuer: str,
        audience: str,
        leeway: timedelta = timedelta(0),
    ) -> None:
        if not isinstance(keys, (KeySet, RemoteKeySet)):
            raise TypeError(f"keys is a KeySet or a RemoteKeySet (jws.jwks_client(url)), not {type(keys).__name__}")
        self.keys, self.refresh_keys = keys, refresh_keys if refresh_keys is not None else keys
        self.issuer, self.audience, self.leeway = issuer, audience, leeway

    def verify_access(self, token: str | bytes) -> dict[str, Any]:
        """The claims of a valid access token; ``TokenError`` otherwise."""
        return self.verify_complete(token, typ=ACCESS_TOKEN_TYPE)[1]

    def verify_refresh(self, token: str | bytes) -> dict[str, Any]:
        """The claims of a valid refresh token; ``TokenError`` otherwise."""
        return self.verify_complete(token, typ=REFRESH_TOKEN_TYPE)[1]

    def verify(self, token: str | bytes, *, typ: str) -> dict[str, Any]:
        """The claims of a valid token of type ``typ``; ``TokenError`` otherwise."""
        return self.verify_complete(token, typ=typ)[1]

    def verify_complete(self, token: str | bytes, *, typ: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims: key by ``kid``, algorithm from that key, signature, time, issuer, audience, ``typ``."""
        keys = self.refresh_keys if typ == REFRESH_TOKEN_TYPE else self.keys
        try:
            header, claims = jws.verify_token(token, keys, now=time.time(), issuer=self.issuer,
                                              audience=self.audience, leeway=self.leeway.total_seconds(),
                                              require=REQUIRED_CLAIMS)
        except TokenError:
            raise
        except Exception as err:  # fail closed: nothing but a TokenError leaves the verifier
            raise jws.token_error(err) from err
        found = header.get("typ")
        if found != typ and _media_type(found) != typ:
            raise TokenError("wrong_type", f"expected typ {typ!r}, got {found!r}")
        if typ == ACCESS_TOKEN_TYPE:  # after the type: a refresh token is refused as wrong_type, not for its claims
            if claims.get("client_id") is None:
                raise TokenError("missing_claim", 'Token is missing the "client_id" claim (RFC 9068 §2.2)')
            if not isinstance(claims["client_id"], str) or not claims["client_id"]:
                raise TokenError("malformed", "client_id must be a non-empty string (RFC 9068 §2.2)")
        return header, claims
