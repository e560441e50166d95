"""authkit.errors: one root; each typed error carries only reasons from its own list."""

from __future__ import annotations

import pytest

from authkit.errors import (
    CSRF_REASONS,
    SESSION_REASONS,
    TOKEN_REASONS,
    AuthkitError,
    CsrfRejected,
    SessionError,
    StoreUnavailable,
    TokenError,
)

TYPED = [(TokenError, TOKEN_REASONS), (SessionError, SESSION_REASONS), (CsrfRejected, CSRF_REASONS)]


@pytest.mark.parametrize("error, reasons", TYPED, ids=lambda v: getattr(v, "__name__", ""))
def test_every_listed_reason_is_accepted_and_printed(error: type[AuthkitError], reasons: tuple[str, ...]) -> None:
    for reason in reasons:
        raised = error(reason, "because")
        assert isinstance(raised, AuthkitError) and raised.reason == reason
        assert str(raised) == f"{reason}: because"


@pytest.mark.parametrize("error, reasons", TYPED, ids=lambda v: getattr(v, "__name__", ""))
def test_an_unlisted_reason_is_a_bug_and_refused(error: type[AuthkitError], reasons: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match=f"unknown {error.__name__} reason 'nope'"):
        error("nope")


def test_the_revocation_reasons_are_token_reasons() -> None:
    assert {"revoked", "reused"} <= set(TOKEN_REASONS)


def test_the_root_accepts_any_reason_and_defaults_stay() -> None:
    assert AuthkitError("anything").reason == "anything"
    assert str(StoreUnavailable()) == "store_unavailable"
    assert TokenError().reason == "malformed" and SessionError().reason == "unknown"
