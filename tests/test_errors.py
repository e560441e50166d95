"""authkit.errors: one root; each typed error carries only reasons from its own list."""

from __future__ import annotations

import pytest

import authkit
from authkit.errors import (
    ACCOUNT_REASONS,
    CONFIG_REASONS,
    CSRF_REASONS,
    FACTOR_REASONS,
    KEY_REASONS,
    LOGIN_REASONS,
    RESET_REASONS,
    RETIRE_REASONS,
    SESSION_REASONS,
    TOKEN_REASONS,
    AccountError,
    AuthkitError,
    BrowserMissing,
    ConfigError,
    CsrfRejected,
    FactorError,
    InsecureKeyUrl,
    KeyImportError,
    KeyRetirementError,
    LoginRefused,
    ResetTokenError,
    SessionError,
    StoreUnavailable,
    TokenError,
    WeakKeyError,
)

TYPED = [
    (TokenError, TOKEN_REASONS),
    (SessionError, SESSION_REASONS),
    (CsrfRejected, CSRF_REASONS),
    (KeyImportError, KEY_REASONS),
    (KeyRetirementError, RETIRE_REASONS),
    (WeakKeyError, ("weak_key",)),
    (ConfigError, CONFIG_REASONS),
    (BrowserMissing, ("browser_missing",)),
    (InsecureKeyUrl, ("insecure_url",)),
    (AccountError, ACCOUNT_REASONS),
    (LoginRefused, LOGIN_REASONS),
    (FactorError, FACTOR_REASONS),
    (ResetTokenError, RESET_REASONS),
]


def build(error: type[AuthkitError], reason: str, message: str = "because") -> AuthkitError:
    """``error`` with ``reason``; a ConfigError also names its variable, and says so first."""
    return error(reason, "AUTHKIT_X", message) if error is ConfigError else error(reason, message)


@pytest.mark.parametrize("error, reasons", TYPED, ids=lambda v: getattr(v, "__name__", ""))
def test_every_listed_reason_is_accepted_and_printed(error: type[AuthkitError], reasons: tuple[str, ...]) -> None:
    assert error.reasons == reasons
    for reason in reasons:
        raised = build(error, reason)
        assert isinstance(raised, AuthkitError) and raised.reason == reason
        assert str(raised) == (f"{reason}: AUTHKIT_X: because" if error is ConfigError else f"{reason}: because")


@pytest.mark.parametrize("error, reasons", TYPED, ids=lambda v: getattr(v, "__name__", ""))
def test_an_unlisted_reason_is_a_bug_and_refused(error: type[AuthkitError], reasons: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=f"unknown {error.__name__} reason 'nope'"):
        build(error, "nope")


def test_every_typed_error_is_listed_here() -> None:
    """A new subclass with a reason list joins TYPED (and the package's public names, unless internal)."""
    def subclasses(cls: type) -> list[type]:
        return [sub for child in cls.__subclasses__() for sub in (child, *subclasses(child))]

    ours = [cls for cls in subclasses(AuthkitError) if cls.__module__.split(".")[0] == "authkit"]
    typed = {cls for cls in ours if cls.reasons is not None}
    assert typed == {error for error, _ in TYPED}
    public = {"ConfigError", "CONFIG_REASONS", "KeyImportError", "KEY_REASONS", "KeyRetirementError", "RETIRE_REASONS"}
    assert public <= set(authkit.__all__)


def test_config_error_moved_to_errors_and_stays_where_it_was() -> None:
    from authkit.config import ConfigError as from_config

    assert from_config is ConfigError is authkit.ConfigError


def test_the_revocation_reasons_are_token_reasons() -> None:
    assert {"revoked", "reused"} <= set(TOKEN_REASONS)


def test_the_root_accepts_any_reason_and_defaults_stay() -> None:
    assert AuthkitError("anything").reason == "anything"
    assert str(StoreUnavailable()) == "store_unavailable"
    assert TokenError().reason == "malformed" and SessionError().reason == "unknown"
