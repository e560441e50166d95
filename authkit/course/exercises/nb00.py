"""Exercises of notebook 00 (start here): the warm-up."""

from __future__ import annotations

from authkit.course.exercise import expect, register
from authkit.course.exercises.kinds import expect_reading


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


def _measured_sizes() -> tuple[int, int]:
    """The two headers of the figure, made again by authkit at the notebook's pinned 09:00 on 5 January 2026."""
    from datetime import datetime, timezone

    import time_machine

    from authkit import KeySet, SessionStore, SigningKey, TokenIssuer
    from authkit.state.redis import connect

    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc), tick=False):
        issuer = TokenIssuer(KeySet(SigningKey.generate("EdDSA")), issuer="https://auth.example",
                             audience="https://api.example")
        bearer = f"Authorization: Bearer {issuer.issue_access('u42', scope='profile:read')}"
        session = SessionStore(connect(fresh=True)).create("u42", roles=["reader"], label="laptop")
        cookie = f"Cookie: __Host-sid={session.id}"
    return len(bearer.encode()), len(cookie.encode())


def header_ratio() -> float:
    """Read off the figure: the bearer header's bytes over the cookie header's, to one decimal."""
    bearer, cookie = _measured_sizes()
    return round(bearer / cookie, 1)


def _check_header_ratio(fn) -> None:
    bearer, cookie = _measured_sizes()
    expect_reading(fn(), bearer / cookie, 0.15,
                   f"the figure's two arrows ({bearer} bytes with a token, {cookie} with a cookie)")


register(
    "header_ratio",
    checker=_check_header_ratio,
    hints=(
        "Each arrow in the figure is labelled with the bytes that travel on every request.",
        "Divide the number on the left arrow (Authorization: Bearer …) by the one on the right (Cookie: …).",
    ),
    reference=header_ratio,
    solution="def header_ratio():\n    return round(476 / 197, 1)",
)
