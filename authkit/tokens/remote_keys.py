"""The keys another service publishes at a JWKS URL, imported by the same rules as every other key.

PyJWKClient fetches (http(s) only, no redirects, a timeout); its own parser is not used, because it
ignores ``key_ops`` and drops every key whose ``alg`` it does not know (RFC 9864's "Ed25519"). Each
JWK goes through ``SigningKey.from_jwk`` instead: a key for encryption, with the wrong ``key_ops``,
with private members, or otherwise unusable is kept out, and a token naming it is refused
``unknown_key`` with the reason.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from urllib.parse import urlsplit

import jwt

from authkit.errors import InsecureKeyUrl, KeyImportError, TokenError, WeakKeyError
from authkit.tokens.keys import SigningKey, import_jwks


def is_loopback(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: a host whose traffic never leaves the machine."""
    if not host:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_jwks_url(url: object) -> str:
    """``url`` if it is ``https://``, or ``http://`` to a loopback host; ``InsecureKeyUrl`` otherwise (ASVS 9.1.3).

    Keys fetched over plain HTTP can be replaced on the way, and whoever replaces them mints tokens.
    """
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        host = parts.hostname if parts else None
    except ValueError:
        parts, host = None, None
    if parts is None or not host:
        raise InsecureKeyUrl("insecure_url", f"{url!r} is not an absolute URL with a host")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)):
        return url  # type: ignore[return-value]
    raise InsecureKeyUrl("insecure_url", f"the JWKS URL {url!r} must be https:// (http:// only to a loopback host)")


class RemoteKeySet:
    """The public keys at ``url``: kept ``lifespan`` s, refetched for an unknown kid at most every ``cooldown`` s.

    A failed fetch refuses the token that needed it; keys already fetched serve until their lifespan ends,
    then every token is refused until a fetch succeeds (fail closed), as with PyJWKClient's own cache.
    """

    def __init__(self, url: str, *, lifespan: float = 60.0, cooldown: float = 1.0, timeout: float = 5.0) -> None:
        if lifespan <= 0 or cooldown < 0:
            raise ValueError("lifespan must be positive and cooldown not negative")
        check_jwks_url(url)
        self.url, self.lifespan, self.cooldown = url, lifespan, cooldown
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey | KeyImportError | WeakKeyError] = {}
        self._fetched_at: float | None = None

    def get(self, kid: str) -> SigningKey:
        """The usable key named ``kid``; ``TokenError("unknown_key")`` if there is none, or it is unusable."""
        with self._lock:
            now = time.monotonic()
            age = None if self._fetched_at is None else now - self._fetched_at
            if age is None or age >= self.lifespan or (kid not in self._keys and age >= self.cooldown):
                self._fetch(now)
            found = self._keys.get(kid)
        if found is None:
            raise TokenError("unknown_key", f"no key with kid {kid!r} at {self.url}")
        if not isinstance(found, SigningKey):
            raise TokenError("unknown_key", f"key {kid!r} at {self.url} is unusable: {found}")
        return found

    def _fetch(self, now: float) -> None:
        try:
            keys = import_jwks(self._client.fetch_data(), public_only=True)
        except Exception as err:  # unreachable, not JSON, not a JWK Set: fail closed
            raise TokenError("unknown_key", f"the JWK Set at {self.url} is unavailable: {err}") from err
        self._keys, self._fetched_at = keys, now

    def __repr__(self) -> str:
        return f"RemoteKeySet({self.url!r}, kids={sorted(self._keys)!r})"
