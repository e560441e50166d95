"""Exercises of notebook 03 (bearer tokens over HTTP): read the header, answer with the right challenge."""

from __future__ import annotations

from authkit.course.exercise import Incorrect, expect, expect_raises, register
from authkit.web.bearer_app import BEARER_STATUS, parse_bearer, www_authenticate

_TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

_ACCEPTED = (
    (None, None),
    ("Basic YWxpY2U6c2VjcmV0", None),
    ("Digest username=alice", None),
    (f"Bearer {_TOKEN}", _TOKEN),
    (f"bearer {_TOKEN}", _TOKEN),
    (f"BEARER   {_TOKEN}", _TOKEN),
    ("Bearer abc-._~+/==", "abc-._~+/=="),
)
_MALFORMED = ("", "Bearer", "Bearer ", f"Bearer {_TOKEN} extra", f'Bearer "{_TOKEN}"', f"Bearer {_TOKEN},Bearer x",
              "Bearer é", " Bearer abc", "Bearer =abc", "Bearer ab=cd", "@@ abc")


def _check_parse_bearer(fn) -> None:
    for header, expected in _ACCEPTED:
        expect(fn(header), expected, f"header={header!r}")
    for header in _MALFORMED:
        expect_raises(lambda: fn(header), ValueError, f"header={header!r}")


_CHALLENGES = (
    (("api",), 'Bearer realm="api"'),
    (("api", "invalid_request", "malformed Authorization header"),
     'Bearer realm="api", error="invalid_request", error_description="malformed Authorization header"'),
    (("authkit", "invalid_token", "access token refused: expired"),
     'Bearer realm="authkit", error="invalid_token", error_description="access token refused: expired"'),
    (("authkit", "insufficient_scope", "this needs scope admin", "admin"),
     'Bearer realm="authkit", error="insufficient_scope", error_description="this needs scope admin", scope="admin"'),
    (("authkit", "invalid_token"), 'Bearer realm="authkit", error="invalid_token"'),
)


def _check_www_authenticate(fn) -> None:
    for args, expected in _CHALLENGES:
        expect(fn(*args), expected, f"arguments {args!r}")
    for bad in ('say "hi"', "back\\slash", "new\nline", "caf\u00e9"):
        args = ("api", "invalid_token", bad)
        expect_raises(lambda: fn(*args), ValueError, f"arguments {args!r} (a description RFC 6750 §3 forbids)")


def bearer_refusal(situation: str) -> tuple[int, str | None]:
    """RFC 6750 §3.1: the status and the error code (None: no code at all) for a refused request."""
    if situation in ("no_credentials", "other_scheme"):
        return 401, None  # the client may not know it must authenticate: just the challenge
    if situation in ("malformed_header", "two_methods", "token_in_query"):
        error = "invalid_request"
    elif situation == "missing_scope":
        error = "insufficient_scope"
    else:  # expired, bad_signature, revoked, wrong_type, unknown_key: the token itself is refused
        error = "invalid_token"
    return BEARER_STATUS[error], error


_SITUATIONS = ("no_credentials", "other_scheme", "malformed_header", "two_methods", "token_in_query", "expired",
               "bad_signature", "revoked", "wrong_type", "unknown_key", "missing_scope")


def _check_bearer_refusal(fn) -> None:
    for situation in _SITUATIONS:
        got = fn(situation)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise Incorrect(f"expected a (status, error) tuple for situation={situation!r}, got {got!r}")
        expect(got, bearer_refusal(situation), f"situation={situation!r}")


register(
    "parse_bearer",
    checker=_check_parse_bearer,
    hints=(
        "Split once on the first space: the scheme before it, the credentials after it.",
        "The scheme compares case-insensitively (RFC 9110 §11.1). Another scheme (Basic) is not an error: "
        "return None, the request simply carries no bearer token.",
        r"The token must match RFC 6750's b64token: re.fullmatch(r'[A-Za-z0-9\-._~+/]+=*', token); anything else, "
        "an empty token, or a scheme that is not a plain token is a ValueError.",
    ),
    reference=parse_bearer,
)

register(
    "www_authenticate",
    checker=_check_www_authenticate,
    hints=(
        'Start with "Bearer " and the realm as realm="...". Add error, error_description and scope only when given.',
        'Parameters are separated by ", " and every value is in double quotes.',
        "RFC 6750 §3 forbids the double quote and the backslash in these values (printable ASCII only): "
        "raise ValueError rather than send a broken header.",
    ),
    reference=www_authenticate,
)

register(
    "bearer_refusal",
    checker=_check_bearer_refusal,
    hints=(
        "Three codes exist: invalid_request (400), invalid_token (401), insufficient_scope (403).",
        "When the request carries no bearer credentials at all, RFC 6750 §3.1 says: 401 and no error code.",
        "A malformed request (bad header, two methods, token in the URL) is invalid_request; anything wrong with "
        "the token itself is invalid_token.",
    ),
    reference=bearer_refusal,
)
