"""Every error authkit raises, under one root; each carries a ``reason`` a program can read."""

from __future__ import annotations


class AuthkitError(Exception):
    """Root of authkit's errors. ``reason`` is a short, stable, machine-readable code."""

    reason: str = "error"
    #: The reasons this class may carry; ``None`` accepts any. An unknown reason is a bug: refuse it.
    reasons: tuple[str, ...] | None = None

    def __init__(self, reason: str | None = None, message: str | None = None) -> None:
        if reason is not None:
            if self.reasons is not None and reason not in self.reasons:
                raise ValueError(f"unknown {type(self).__name__} reason {reason!r}; expected one of {self.reasons}")
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

#: Refusals that come from server-side state, not from the token itself: a token revoked (logout,
#: logout-everywhere, a dead refresh family) and a rotated refresh token presented again (RFC 9700 §4.14.2).
REVOCATION_REASONS = ("revoked", "reused")
TOKEN_REASONS = TOKEN_REASONS + REVOCATION_REASONS


class TokenError(AuthkitError):
    """A token was refused; ``reason`` (one of ``TOKEN_REASONS``) says which rule it broke."""

    reason = "malformed"
    reasons = TOKEN_REASONS


class WeakKeyError(AuthkitError, ValueError):
    """A key is too weak to sign with: a short or guessable HMAC secret, or an RSA key under 2048 bits."""

    reason = "weak_key"
    reasons = ("weak_key",)


#: Why a key was not imported: RFC 7517 §4.2–4.4 (``use``, ``key_ops``, ``alg``), or a key authkit cannot use.
KEY_REASONS = ("malformed_key", "unsupported_key", "wrong_use", "wrong_key_ops", "wrong_alg", "mismatched_key",
               "missing_kid")


class KeyImportError(AuthkitError, ValueError):
    """A JWK cannot become a key for the use asked of it; ``reason`` is one of ``KEY_REASONS``."""

    reason = "malformed_key"
    reasons = KEY_REASONS


class InsecureKeyUrl(AuthkitError, ValueError):
    """A JWKS URL that is not ``https://`` and not on a loopback host: keys fetched over it could be swapped."""

    reason = "insecure_url"
    reasons = ("insecure_url",)


class UnusableKeyWarning(UserWarning):
    """A JWK Set entry was skipped because it cannot be used (RFC 7517 §5: ignore such keys, keep the others)."""


#: Why a key set refused to retire a key.
RETIRE_REASONS = ("signing_key", "tokens_live")


class KeyRetirementError(AuthkitError, ValueError):
    """Retiring this key now would refuse tokens that are still valid; ``reason`` is one of ``RETIRE_REASONS``."""

    reason = "tokens_live"
    reasons = RETIRE_REASONS


# --- sessions -----------------------------------------------------------------------------------

#: Every reason a session cookie can be refused; ``SessionError.reason`` is always one of these.
SESSION_REASONS = ("missing", "malformed", "unknown", "idle_timeout", "absolute_timeout")


class SessionError(AuthkitError):
    """A session cookie names no live session (HTTP 401); ``reason`` is one of ``SESSION_REASONS``."""

    reason = "unknown"
    reasons = SESSION_REASONS


#: Why a state-changing request was refused as a possible cross-site request forgery.
CSRF_REASONS = ("missing_origin", "bad_origin", "missing_token", "bad_token", "cross_site")


class CsrfRejected(AuthkitError):
    """A request failed the Fetch Metadata policy, or a state-changing one the Origin or CSRF-token check (HTTP 403)."""

    reason = "bad_token"
    reasons = CSRF_REASONS


# --- the login and the accounts ---------------------------------------------------------------

#: Why an account could not be created or changed.
ACCOUNT_REASONS = ("bad_name", "bad_roles", "bad_id", "exists", "unknown_user", "weak_password")


class AccountError(AuthkitError, ValueError):
    """An account change was refused (HTTP 400/404); ``reason`` is one of ``ACCOUNT_REASONS``."""

    reason = "unknown_user"
    reasons = ACCOUNT_REASONS


#: Why a login was refused: the same ``invalid_credentials`` for an unknown name, a wrong password and
#: a disabled account (no enumeration); ``throttled`` (HTTP 429) and ``busy`` (503) carry ``retry_after``.
LOGIN_REASONS = ("invalid_credentials", "bad_request", "throttled", "busy")


class LoginRefused(AuthkitError):
    """A password login was refused; ``retry_after`` (seconds) is set for ``throttled`` and ``busy``."""

    reason = "invalid_credentials"
    reasons = LOGIN_REASONS

    def __init__(self, reason: str | None = None, message: str | None = None, *, retry_after: int = 0) -> None:
        super().__init__(reason, message)
        self.retry_after = retry_after


# --- the login: second factors, passkeys, password reset -----------------------------------------

#: Why a second factor (a one-time code, a recovery code, a passkey) was refused.
FACTOR_REASONS = ("malformed", "wrong_code", "replayed", "unknown_challenge", "unknown_credential",
                  "bad_assertion", "counter_regressed")


class FactorError(AuthkitError):
    """A second factor or passkey was refused (HTTP 400 or 401); ``reason`` is one of ``FACTOR_REASONS``."""

    reason = "wrong_code"
    reasons = FACTOR_REASONS


#: Why a password-reset token was refused: not one authkit issued, or used, expired or superseded.
RESET_REASONS = ("malformed", "unknown")


class ResetTokenError(AuthkitError):
    """A password-reset link cannot be used (HTTP 400); ``reason`` is one of ``RESET_REASONS``."""

    reason = "unknown"
    reasons = RESET_REASONS


# --- deployment and the course's tools ------------------------------------------------------------

#: Why a deployment setting was refused.
CONFIG_REASONS = ("missing", "invalid")


class ConfigError(AuthkitError):
    """A deployment setting is ``missing`` or ``invalid``; ``variable`` names the environment variable."""

    reason = "invalid"
    reasons = CONFIG_REASONS

    def __init__(self, reason: str, variable: str, message: str) -> None:
        super().__init__(reason, f"{variable}: {message}")
        self.variable = variable


class BrowserMissing(AuthkitError):
    """No Chromium binary was found for the browser lab: the message says how to install one."""

    reason = "browser_missing"
    reasons = ("browser_missing",)
