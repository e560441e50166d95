"""Exercises of notebook 00 (start here): the warm-up."""

from __future__ import annotations

from authkit.course.exercise import expect, register


def is_expired(exp: int, now: int) -> bool:
    """RFC 7519 §4.1.4: a token may be accepted only *before* its ``exp``; at ``exp`` it is dead."""
    return now >= exp


def _check_is_expired(fn) -> None:
    for exp, now in ((100, 50), (50, 100), (100, 100), (100, 99), (0, 0), (1_767_225_600, 1_767_225_601)):
        expect(fn(exp, now), is_expired(exp, now), f"exp={exp} at now={now}")


register(
    "is_expired",
    checker=_check_is_expired,
    hints=(
        "Both arguments are seconds since 1970 (NumericDate); compare them.",
        "RFC 7519 §4.1.4 says the current time MUST be before exp for the token to be accepted.",
        "So at now == exp the token is already expired: use >=, not >.",
    ),
    reference=is_expired,
)
