"""Exercises of notebook 03 (bearer tokens over HTTP): read the header, answer with the right challenge."""

from __future__ import annotations

from authkit.course.exercise import Incorrect, expect, expect_raises, register
from authkit.course.exercises.kinds import expect_choice
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


# --- the client's refresh decision: find the bug, fix it -----------------------------------------

def should_refresh(status: int, challenge: str | None) -> bool:
    """Refresh only when the server said this token is no good: 401 with error="invalid_token"."""
    return status == 401 and challenge is not None and 'error="invalid_token"' in challenge


def _refresh_cases() -> list[tuple[int, str | None, str]]:
    """(status, WWW-Authenticate as authkit's API writes it, what happened)."""
    from authkit.web.bearer_app import www_authenticate

    realm = "authkit"
    return [
        (401, www_authenticate(realm, "invalid_token", "access token refused: expired"), "the token expired"),
        (401, www_authenticate(realm, "invalid_token", "access token refused: revoked"), "the token was revoked"),
        (403, www_authenticate(realm, "insufficient_scope", "this needs scope admin", "admin"),
         "the token lacks the scope admin"),
        (401, www_authenticate(realm), "no credentials were sent"),
        (400, www_authenticate(realm, "invalid_request", "more than one method"), "a malformed request"),
        (200, None, "the request succeeded"),
        (503, None, "the revocation store is unreachable"),
    ]


def _check_should_refresh(fn) -> None:
    for status, challenge, what in _refresh_cases():
        expect(fn(status, challenge), should_refresh(status, challenge),
               f"status={status}, challenge={challenge!r} ({what})")


register(
    "should_refresh",
    checker=_check_should_refresh,
    hints=(
        "Ask of each answer: would a new access token, with the same user and scope, change it?",
        "403 insufficient_scope: the new token carries the same scope. 401 without an error code: no token was "
        "sent. 400: the request itself is malformed. 503: the server is down, not the token.",
        "Refresh exactly when status is 401 and the challenge says error=\"invalid_token\".",
    ),
    reference=should_refresh,
    solution=("def should_refresh(status, challenge):\n"
              "    return status == 401 and challenge is not None and 'error=\"invalid_token\"' in challenge"),
)


# --- two tabs, one refresh token: a choice -------------------------------------------------------

_TABS_THREAT = ("'two tabs get 401 invalid_token at the same moment, and the server forgives a second "
                "presentation of a refresh token for 10 seconds only'")
_TABS_WRONG = {
    "a": "both tabs refresh with the same token; a retry that comes back after the grace looks exactly like a "
         "thief replaying a spent token, and the whole login is revoked",
    "c": "a timer in every tab multiplies the refreshes and still lets two tabs present one token at once: the "
         "race is made more frequent, not removed",
    "d": "without rotation a stolen refresh token works for its whole lifetime and reuse is never detected "
         "(RFC 9700 asks a public client's refresh token to be rotated or sender-constrained)",
}


def tabs_choice() -> str:
    """One refresh at a time: the others wait for its result, and every refresh uses the newest token."""
    return "b"


def _check_tabs_choice(fn) -> None:
    expect_choice(fn(), "b", _TABS_WRONG, _TABS_THREAT)


register(
    "tabs_choice",
    checker=_check_tabs_choice,
    hints=(
        "The server cannot tell a slow tab from a thief: both present a token that has already been rotated.",
        "So the fix belongs in the client: make sure a spent token is never presented at all.",
    ),
    reference=tabs_choice,
    solution='def tabs_choice():\n    return "b"',
)


# --- where the token travels: a choice -----------------------------------------------------------

_PLACE_THREAT = ("'URLs are written to server and proxy logs, kept in browser history and sent on in the "
                 "Referer header'")
_PLACE_WRONG = {
    "a": "the token is then part of the URL, and every log, history entry and Referer that keeps the URL keeps "
         "the credential (RFC 6750 advises against it); this API refuses it with 400 invalid_request",
    "c": "a GET has no body a server should read, and RFC 6750 allows the form body only for a POST with a "
         "form-encoded body; it is no better than the header and far less supported",
    "d": "the copy in the query string leaks exactly as in 'a', and sending two methods at once is itself "
         "refused (400 invalid_request, 'more than one method')",
}


def token_placement() -> str:
    """Where a client sends an access token: the Authorization header, scheme Bearer."""
    return "b"


def _check_token_placement(fn) -> None:
    assert parse_bearer("Bearer abc.def.ghi") == "abc.def.ghi"  # what "b" sends, read by authkit's parser
    expect_choice(fn(), "b", _PLACE_WRONG, _PLACE_THREAT)


register(
    "token_placement",
    checker=_check_token_placement,
    hints=(
        "Which of these places ends up in a log line or a history entry?",
        "Headers other than the URL are not written to access logs by default, nor kept in history, nor sent "
        "on to the next site.",
    ),
    reference=token_placement,
    solution='def token_placement():\n    return "b"',
)
