"""The session ID a cookie carries: opaque to every reader, yet it routes a request to its Redis slot.

An ID is ``<sealed>.<secret>``. ``secret`` is 256 bits from the CSPRNG: it is what authenticates.
``sealed`` is the routing data, the user ID and the session's absolute deadline, encrypted and
authenticated with AES-GCM under a server key (``AUTHKIT_SESSION_KEY`` in a deployment) with a
random 96-bit nonce, so two IDs of one user never look alike and a reader learns nothing: not who,
not until when, not even how long the user ID is (it is padded). The server opens it *before* it
calls Redis: the user ID names the user's cluster slot, the deadline gives the next expiry, and a
forged or tampered ID is refused without a round trip. Redis stores only the SHA-256 of the whole
ID (the handle). The key adds privacy, not authentication: whoever held it could read IDs, never
make one that names a record, since a record is found by the hash of the secret it was issued with.
The same key, through a subkey of its own, makes each session's CSRF token an HMAC of its ID.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import re
import secrets
from base64 import urlsafe_b64decode, urlsafe_b64encode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authkit.errors import SessionError

SECRET_BYTES = 32  # 256 bits from the CSPRNG; OWASP asks for at least 64 bits of entropy
KEY_BYTES = 32  # the server key: 256 bits, from configuration or generated per store
USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_USER_BYTES = 64  # every user ID is padded to this, so the ID's length says nothing about the user's
_NONCE_BYTES = 12
_SEALED_CHARS = 134  # base64url of nonce (12) + deadline (8) + padded user ID (64) + GCM tag (16) = 100 bytes
_SECRET_CHARS = 43
PARSED_IDS = 4096  # the opened IDs a store remembers (about 1 MB): the sessions active in one worker
MALFORMED = "the cookie is not a session ID"


def _subkey(key: bytes, purpose: bytes) -> bytes:
    """One key per use, derived from the server key (HKDF-SHA256, RFC 5869)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"authkit " + purpose).derive(key)


#: The key of stores given none: generated once per process, so every store of a notebook or a test reads
#: the others' IDs. Workers of a deployment are separate processes: they must share a configured key.
_PROCESS_KEY = secrets.token_bytes(KEY_BYTES)


class SessionIds:
    """Mints and opens session IDs under one server key (``None``: this process's generated key)."""

    def __init__(self, key: bytes | None = None) -> None:
        if key is None:
            key = _PROCESS_KEY
        if not isinstance(key, bytes) or len(key) < KEY_BYTES:
            raise ValueError(f"a session key is at least {KEY_BYTES} random bytes")
        self.key = key
        self._aead = AESGCM(_subkey(key, b"session id seal"))
        self._csrf_key = _subkey(key, b"csrf token")
        # a worker sees the same cookie on every request of a session: open it once. Only IDs this key
        # sealed are remembered (a refusal raises, and is not cached), so forged cookies cannot fill it.
        self._opened = functools.lru_cache(maxsize=PARSED_IDS)(self.open)

    def parse(self, session_id: str) -> tuple[str, int, str]:
        """``(user, absolute deadline in ms, handle)`` of an ID this key sealed, else ``SessionError``."""
        if type(session_id) is not str:
            raise SessionError("malformed", MALFORMED)
        return self._opened(session_id)

    def new_id(self, user_id: str, absolute: int) -> str:
        """A fresh session ID for ``user_id`` whose session ends at ``absolute`` (ms since the epoch)."""
        return self.seal(user_id, absolute, secrets.token_urlsafe(SECRET_BYTES))

    def seal(self, user_id: str, absolute: int, secret: str) -> str:
        """The ID that carries ``secret`` (43 base64url characters) for ``user_id`` until ``absolute``."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = absolute.to_bytes(8, "big") + user_id.encode("ascii").ljust(_USER_BYTES, b"\0")
        sealed = nonce + self._aead.encrypt(nonce, plain, secret.encode("ascii"))
        return f"{urlsafe_b64encode(sealed).decode('ascii').rstrip('=')}.{secret}"

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token bound to ``session_id`` (see ``session_csrf_token``), under this key's CSRF subkey."""
        return session_csrf_token(session_id, self._csrf_key)

    def open(self, session_id: str) -> tuple[str, int, str]:
        """What ``parse`` returns, computed: the AEAD opened, the handle hashed."""
        try:
            sealed, secret = session_id.split(".")
            if len(sealed) != _SEALED_CHARS or len(secret) != _SECRET_CHARS:
                raise ValueError("wrong length")
            raw = urlsafe_b64decode(sealed + "==")
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], secret.encode("ascii"))
        except (AttributeError, ValueError, UnicodeError, binascii.Error, InvalidTag):
            raise SessionError("malformed", MALFORMED) from None
        return (plain[8:].rstrip(b"\0").decode("ascii"), int.from_bytes(plain[:8], "big"),
                hashlib.sha256(session_id.encode()).hexdigest())


def session_handle(session_id: str) -> str:
    """SHA-256 hex of a session ID: what Redis stores instead of the ID itself."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def session_csrf_token(session_id: str, key: bytes) -> str:
    """The CSRF token of a session: HMAC-SHA256 of the session ID under ``key``, base64url, 43 characters.

    Stateless and bound to the session (OWASP's CSRF cheat sheet, "Employing HMAC CSRF Tokens"): it is
    stored nowhere, changes with every new ID, and nobody can compute it without the server's key, not
    even from the session ID. A server checks it against the cookie before touching the store.
    """
    digest = hmac.new(key, session_id.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
