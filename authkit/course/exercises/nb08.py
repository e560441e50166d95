"""Exercises of notebook 08 (choosing, and the interview cheat sheet): the numbers behind a decision."""

from __future__ import annotations

from authkit.course.exercise import expect, register
from authkit.course.exercises.kinds import expect_predictions


def revocation_bound(strategy: str, access_ttl: float, leeway: float = 0.0) -> float:
    """The longest a copied credential can keep working after logout, in seconds, per strategy."""
    if strategy in ("stateless", "refresh", "bff"):  # a self-contained token lives to exp (+ leeway)
        return access_ttl + leeway
    if strategy in ("denylist", "version", "session"):  # checked against server state on every request
        return 0.0
    raise ValueError(f"unknown strategy {strategy!r}")


def _check_revocation_bound(fn) -> None:
    cases = (("stateless", 900, 0), ("stateless", 900, 30), ("refresh", 300, 0), ("bff", 60, 5),
             ("denylist", 900, 30), ("version", 900, 0), ("session", 1800, 0))
    for strategy, ttl, leeway in cases:
        expect(float(fn(strategy, ttl, leeway)), revocation_bound(strategy, ttl, leeway),
               f"strategy={strategy!r}, access_ttl={ttl}, leeway={leeway}")


register(
    "revocation_bound",
    checker=_check_revocation_bound,
    hints=(
        "Sort the strategies in two groups: does the check on each request read server state or not?",
        "Without a lookup the copy lives until exp; the verifier's leeway extends that (notebook 02). "
        "In the BFF the access token is the 60-second token minted for the internal service.",
        "With a lookup (denylist, version, session) the first request after logout is refused: 0 seconds.",
    ),
    reference=revocation_bound,
)


def denylist_entries(logouts_per_hour: float, access_ttl_minutes: float) -> float:
    """Upper bound on live denylist entries: each logout's entry lives at most one access lifetime."""
    return logouts_per_hour * access_ttl_minutes / 60


def _check_denylist_entries(fn) -> None:
    for rate, ttl in ((120, 15), (120, 5), (3600, 15), (0, 15), (10_000, 60), (90, 10)):
        expect(float(fn(rate, ttl)), denylist_entries(rate, ttl), f"logouts_per_hour={rate}, access_ttl_minutes={ttl}")


register(
    "denylist_entries",
    checker=_check_denylist_entries,
    hints=(
        "An entry is written at logout and expires when the token it names would have expired.",
        "So an entry lives at most one access-token lifetime; count the logouts within one lifetime.",
        "Little's law: items in the system = arrival rate × time each one stays. Mind hours against minutes.",
    ),
    reference=denylist_entries,
)


def cookie_is_hardened(set_cookie: str) -> bool:
    """True for a session ``Set-Cookie`` with ``__Host-``, Secure, HttpOnly, Path=/, no Domain, SameSite Lax/Strict."""
    name_value, *attributes = [part.strip() for part in set_cookie.split(";")]
    flags = {a.split("=", 1)[0].strip().lower(): a.split("=", 1)[1].strip() if "=" in a else "" for a in attributes}
    return (
        name_value.startswith("__Host-")
        and "secure" in flags
        and "httponly" in flags
        and flags.get("path") == "/"
        and "domain" not in flags
        and flags.get("samesite", "").lower() in ("lax", "strict")
    )


def _check_cookie_is_hardened(fn) -> None:
    from authkit.web.cookie_app import session_cookie

    cases = (
        session_cookie("alice.abc", "Lax"),
        session_cookie("alice.abc", "Strict"),
        "__Host-sid=abc; Secure; HttpOnly; Path=/; SameSite=Lax",
        "__Host-sid=abc; secure; httponly; path=/; samesite=strict",
        "sid=abc; Secure; HttpOnly; Path=/; SameSite=Lax",
        "__Host-sid=abc; HttpOnly; Path=/; SameSite=Lax",
        "__Host-sid=abc; Secure; Path=/; SameSite=Lax",
        "__Host-sid=abc; Secure; HttpOnly; Path=/app; SameSite=Lax",
        "__Host-sid=abc; Secure; HttpOnly; Path=/; Domain=example.com; SameSite=Lax",
        "__Host-sid=abc; Secure; HttpOnly; Path=/; SameSite=None",
        "__Host-sid=abc; Secure; HttpOnly; Path=/",
        "__Host-sid=secure-httponly; Path=/; SameSite=Lax",  # the words in the value are not attributes
    )
    for header in cases:
        expect(fn(header), cookie_is_hardened(header), f"Set-Cookie: {header}")


register(
    "cookie_is_hardened",
    checker=_check_cookie_is_hardened,
    hints=(
        "Split the header on ';': the first part is name=value, the rest are attributes.",
        "Attribute names are case-insensitive; some have values (Path=/), some do not (Secure, HttpOnly).",
        "All six must hold: the __Host- prefix, Secure, HttpOnly, Path exactly '/', no Domain, "
        "and SameSite Lax or Strict (None sends the cookie on cross-site requests).",
    ),
    reference=cookie_is_hardened,
)


# --- a refresh token at the API: find the bug, fix the check ------------------------------------------

def is_access_token(header: dict) -> bool:
    """Does this JWS header say "access token"? typ at+jwt, case-insensitive, "application/" optional."""
    typ = header.get("typ")
    if not isinstance(typ, str):
        return False
    typ = typ.lower()
    return typ.removeprefix("application/") == "at+jwt"


def _typ_cases() -> list[tuple[dict, str]]:
    """Headers of real authkit tokens (one key set for both kinds, as in the bug), then edge cases."""
    from authkit import KeySet, SigningKey, TokenIssuer
    from authkit.tokens.jws import read_header

    issuer = TokenIssuer(KeySet(SigningKey.generate("EdDSA", kid="one-set")), issuer="https://auth.example",
                         audience="https://api.example")
    return [
        (read_header(issuer.issue_access("alice")), "authkit's access token"),
        (read_header(issuer.issue_refresh("alice")), "authkit's refresh token, same key set"),
        ({"alg": "EdDSA", "kid": "one-set", "typ": "application/at+jwt"}, "the full media type"),
        ({"alg": "EdDSA", "kid": "one-set", "typ": "AT+JWT"}, "upper case"),
        ({"alg": "EdDSA", "kid": "one-set", "typ": "JWT"}, "a generic JWT, e.g. an ID token"),
        ({"alg": "EdDSA", "kid": "one-set"}, "no typ at all"),
        ({"alg": "EdDSA", "kid": "one-set", "typ": ["at+jwt"]}, "typ that is not a string"),
        ({"alg": "EdDSA", "kid": "one-set", "typ": "at+jwt; charset=x"}, "a media type with a parameter"),
    ]


def _check_is_access_token(fn) -> None:
    from authkit import TokenError, TokenVerifier, KeySet, SigningKey, TokenIssuer

    for header, what in _typ_cases():
        expect(fn(dict(header)), is_access_token(header), f"header={header!r} ({what})")
    # the reference agrees with authkit's verifier on its own two token kinds
    keys = KeySet(SigningKey.generate("EdDSA", kid="k"))
    issuer = TokenIssuer(keys, issuer="https://auth.example", audience="https://api.example")
    verifier = TokenVerifier(keys, issuer="https://auth.example", audience="https://api.example")
    try:
        verifier.verify_access(issuer.issue_refresh("alice"))
        raise AssertionError("authkit must refuse a refresh token at the API")
    except TokenError as refusal:
        assert refusal.reason == "wrong_type"


register(
    "is_access_token",
    checker=_check_is_access_token,
    hints=(
        "The bug: with one key set for both kinds, a refresh token's signature and claims are as good as an "
        "access token's. Only the header's typ tells them apart.",
        "typ is a media type: compare it case-insensitively, and accept it with or without 'application/'.",
        "Anything else — no typ, 'JWT', a list, a parameter — is not an access token.",
    ),
    reference=is_access_token,
    solution=('def is_access_token(header):\n    typ = header.get("typ")\n    if not isinstance(typ, str):\n'
              '        return False\n    return typ.lower().removeprefix("application/") == "at+jwt"'),
)


# --- standard, or authkit's own policy: a prediction -----------------------------------------------------

def rule_sources() -> dict[str, str]:
    """Which of authkit's rules a standard requires ("standard") and which are its own ("authkit")."""
    return {
        "access tokens carry typ at+jwt": "standard",
        "refresh tokens carry typ rt+jwt": "authkit",
        "a token whose iat is in the future is refused": "authkit",
        "a refresh token presented again within 10 s gets the same successor": "authkit",
        "a browser app's refresh token is rotated with reuse detection (or sender-constrained)": "standard",
    }


def _check_rule_sources(fn) -> None:
    from datetime import timedelta

    from authkit import ACCESS_TOKEN_TYPE, REFRESH_GRACE, REFRESH_TOKEN_TYPE

    # the rules named are authkit's behaviour as it stands
    assert (ACCESS_TOKEN_TYPE, REFRESH_TOKEN_TYPE, REFRESH_GRACE) == ("at+jwt", "rt+jwt", timedelta(seconds=10))
    expect_predictions(fn(), rule_sources(), "required by a standard, or authkit's own policy?")


register(
    "rule_sources",
    checker=_check_rule_sources,
    hints=(
        "Answer 'standard' or 'authkit' for each rule; the paragraphs just above say which is which.",
        "RFC 9068 registers at+jwt; nobody registers rt+jwt. RFC 7519 asks nothing of a verifier about iat. No "
        "RFC fixes a grace; RFC 9700 requires rotation or sender-constraint for a public client's refresh tokens.",
    ),
    reference=rule_sources,
    solution=('def rule_sources():\n    return {\n        "access tokens carry typ at+jwt": "standard",\n'
              '        "refresh tokens carry typ rt+jwt": "authkit",\n'
              '        "a token whose iat is in the future is refused": "authkit",\n'
              '        "a refresh token presented again within 10 s gets the same successor": "authkit",\n'
              '        "a browser app\'s refresh token is rotated with reuse detection (or sender-constrained)": '
              '"standard",\n    }'),
)
