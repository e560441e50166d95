"""Every error authkit raises, under one root; each carries a ``reason`` a program can read."""

from __future__ import annotations


class AuthkitError(Exception):
    """Root of authkit's errors. ``reason`` is a short, stable, machine-readable code."""

    reason: str = "error"

    def __init__(self, reason: str | None = None, message: str | None = None) -> None:
        if reason is not None:
            self.reason = reason
        super().__init__(message or self.reason)

    def __str__(self) -> str:
        text = super().__str__()
        return text if text == self.reason else f"{self.reason}: {text}"


class StoreUnavailable(AuthkitError):
    """The Redis store cannot be reached: callers must fail closed (HTTP 503), never accept."""

    reason = "store_unavailable"


# --- tokens -------------------------------------------------------------------------------------

#: Every reason a token can be refused; ``TokenError.reason`` is always one of these.
TOKEN_REASONS = (
    "expired",
    "not_yet_valid",
    "bad_signature",
    "malformed",
    "wrong_audience",
    "wrong_issuer",
    "wrong_type",
    "unknown_key",
    "algorithm_not_allowed",
    "missing_claim",
)


class TokenError(AuthkitError):
    """A token was refused; ``reason`` (one of ``TOKEN_REASONS``) says which rule it broke."""

    reason = "malformed"

    def __init__(self, reason: str | None = None, message: str | None = None) -> None:
        if reason is not None and reason not in TOKEN_REASONS:
            raise ValueError(f"unknown token reason {reason!r}; expected one of {TOKEN_REASONS}")
        super().__init__(reason, message)


class WeakKeyError(AuthkitError, ValueError):
    """A key is too weak to sign with: an HMAC secret shorter than 256 bits (32 bytes)."""

    reason = "weak_key"
