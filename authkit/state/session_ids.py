"""The session ID a cookie carries: how one is minted, read back, and named in Redis without being stored.

The ID is ``<user>.<absolute deadline in ms>.<secret>``. The user part routes to the user's Redis
Cluster slot; the deadline lets the application compute the next expiry *before* it calls Redis; the
256-bit secret is what authenticates. Redis stores the SHA-256 of the whole string (the handle), so
changing any part of it names no record.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from base64 import urlsafe_b64encode

from authkit.errors import SessionError

SECRET_BYTES = 32  # 256 bits from the CSPRNG; OWASP asks for at least 64 bits of entropy
USER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SESSION_ID = re.compile(r"([A-Za-z0-9_-]{1,64})\.([1-9][0-9]{0,15})\.[A-Za-z0-9_-]{43}")
_CSRF_LABEL = b"authkit session csrf token\x00"
MALFORMED = "the cookie is not a session ID"


def new_id(user_id: str, absolute: int) -> str:
    """A fresh session ID: the user, the absolute deadline, 256 bits from the CSPRNG."""
    return f"{user_id}.{absolute}.{secrets.token_urlsafe(SECRET_BYTES)}"


def parse_id(session_id: str) -> tuple[str, int, str]:
    """``(user, absolute deadline in ms, handle)`` of a well-formed session ID, else ``SessionError``."""
    match = _SESSION_ID.fullmatch(session_id) if isinstance(session_id, str) else None
    if match is None:
        raise SessionError("malformed", MALFORMED)
    user_id, absolute = match.group(1, 2)
    return user_id, int(absolute), hashlib.sha256(session_id.encode()).hexdigest()


def session_handle(session_id: str) -> str:
    """SHA-256 hex of a session ID: what Redis stores instead of the ID itself."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def session_csrf_token(session_id: str) -> str:
    """The CSRF token of a session: SHA-256 of a fixed label and the session ID, base64url, 43 characters.

    Whoever holds the ID can compute it, and nobody else can (the ID is a 256-bit secret, and the label
    keeps the token apart from the handle, the plain SHA-256 of the ID); it is stored nowhere and
    changes with every new ID. A server checks it against the cookie before touching the store.
    """
    digest = hashlib.sha256(_CSRF_LABEL + session_id.encode("utf-8")).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
