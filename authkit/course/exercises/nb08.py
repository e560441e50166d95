"""Exercises of notebook 08 (choosing, and the interview cheat sheet): the numbers behind a decision."""

from __future__ import annotations

from authkit.course.exercise import expect, register


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
