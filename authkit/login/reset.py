"""Password-reset tokens: 256 random bits, stored only as a hash, single-use, short-lived, one per user.

OWASP's Forgot Password Cheat Sheet: the token is random, long, single-use and expires; the server keeps
its hash, so a Redis dump holds no usable link. ``consume`` spends it with one ``GETDEL``: of two
concurrent confirmations of one link exactly one wins. A new request supersedes the user's previous
link. The token's key and the user's key are apart (no hash tag in common), so it runs on Redis Cluster.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import redis

from authkit.errors import ResetTokenError
from authkit.state.redis import fail_closed

#: OWASP and the course's baseline: a reset link lives at most 30 minutes.
DEFAULT_TTL = timedelta(minutes=20)
MAX_TTL = timedelta(minutes=30)
TOKEN_BYTES = 32


class ResetTokens:
    """Issue and spend password-reset tokens in Redis."""

    def __init__(self, client: redis.Redis, *, ttl: timedelta = DEFAULT_TTL, prefix: str = "authkit") -> None:
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"a reset token lives more than 0 and at most {MAX_TTL}, not {ttl}")
        self.client, self.ttl, self.prefix = client, ttl, prefix

    def _token_key(self, digest: str) -> str:
        return f"{self.prefix}:reset:{{{digest}}}"

    def _user_key(self, user_id: str) -> str:
        return f"{self.prefix}:{{u:{user_id}}}:reset"

    def issue(self, user_id: str) -> str:
        """A new token for ``user_id`` (its previous one, if any, stops working); put it in the link only."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        digest = _digest(token)
        ttl_ms = int(self.ttl.total_seconds() * 1000)
        with fail_closed("the reset-token store"):
            pipe = self.client.pipeline(transaction=False)
            pipe.set(self._token_key(digest), user_id, px=ttl_ms)
            pipe.set(self._user_key(user_id), digest, px=ttl_ms)  # the latest link; earlier ones are superseded
            pipe.execute()
        return token

    def peek(self, token: str) -> str:
        """The user a live token belongs to, without spending it (to show the form), else ``ResetTokenError``."""
        digest = _checked_digest(token)
        with fail_closed("the reset-token store"):
            user = self.client.get(self._token_key(digest))
            latest = self.client.get(self._user_key(user)) if user is not None else None
        if user is None or latest != digest:
            raise ResetTokenError("unknown", "this reset link is unknown, used, expired or superseded")
        return user

    def consume(self, token: str) -> str:
        """Spend the token and return its user, or raise ``ResetTokenError``: it works once."""
        digest = _checked_digest(token)
        with fail_closed("the reset-token store"):
            user = self.client.getdel(self._token_key(digest))  # the single use: one GETDEL wins
            latest = self.client.get(self._user_key(user)) if user is not None else None
            if latest == digest:
                self.client.delete(self._user_key(user))
        if user is None or latest != digest:
            raise ResetTokenError("unknown", "this reset link is unknown, used, expired or superseded")
        return user


def _checked_digest(token: object) -> str:
    if not isinstance(token, str) or not 40 <= len(token) <= 64 or not token.isascii():
        raise ResetTokenError("malformed", "not a reset token")
    return _digest(token)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
