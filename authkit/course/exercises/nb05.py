"""Exercises of notebook 05 (session cookies with Redis): cookie attributes, sliding, fixation, CSRF."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from authkit.course.exercise import COMPARE_DIGEST, URANDOM, Incorrect, expect, expect_calls, register
from authkit.course.exercises.kinds import expect_choice, expect_predictions
from authkit.web.cookie_app import csrf_reason, session_cookie

# --- 1. the Set-Cookie header ---------------------------------------------------------------------

_FORBIDDEN = {"domain": "Domain widens the cookie to sibling hosts and is not allowed with __Host-",
              "expires": "a session cookie should not outlive the browser: leave Expires out",
              "max-age": "a session cookie should not outlive the browser: leave Max-Age out"}


def _check_session_cookie(fn) -> None:
    value = "alice.s3cr3t-random-part"
    for same_site in ("Lax", "Strict"):
        given = f"value={value!r}, same_site={same_site!r}"
        header = fn(value, same_site)
        if not isinstance(header, str):
            raise Incorrect(f"expected a str for {given}, got {header!r}")
        first, *rest = [part.strip() for part in header.split(";")]
        expect(first, f"__Host-sid={value}", f"the name=value pair ({given})")
        attributes = {name.strip().lower(): v.strip() for name, _, v in (part.partition("=") for part in rest)}
        for name in ("secure", "httponly"):
            if name not in attributes:
                raise Incorrect(f"expected the {name.title()} attribute for {given}, got {header!r}")
        expect(attributes.get("path"), "/", f"the Path attribute ({given}; __Host- requires Path=/)")
        expect(attributes.get("samesite", "").lower(), same_site.lower(), f"the SameSite attribute ({given})")
        for name, why in _FORBIDDEN.items():
            if name in attributes:
                raise Incorrect(f"expected no {name.title()} attribute for {given} ({why}), got {header!r}")


register(
    "session_cookie",
    checker=_check_session_cookie,
    hints=(
        "The header is name=value followed by '; '-separated attributes, e.g. __Host-sid=<value>; Secure; ...",
        "Four attributes: Secure (HTTPS only), HttpOnly (no JavaScript), Path=/ and SameSite=<same_site>.",
        "Leave out Domain (forbidden by the __Host- prefix) and Expires/Max-Age (a session cookie dies with "
        "the browser; the server enforces the real timeouts).",
    ),
    reference=session_cookie,
)

# --- 2. the sliding rule --------------------------------------------------------------------------


def next_expiry(now: datetime, last_seen: datetime, created: datetime, idle: timedelta,
                absolute: timedelta) -> datetime | None:
    """The session's expiry after a request at ``now``, or None if it had already expired."""
    if now >= min(last_seen + idle, created + absolute):
        return None
    return min(now + idle, created + absolute)


_T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
_IDLE, _ABSOLUTE = timedelta(minutes=30), timedelta(hours=8)
_SLIDING_CASES = [  # (minutes after login of: now, last_seen)
    (0, 0), (10, 0), (29, 0), (30, 0), (31, 0), (50, 25), (55, 25), (460, 440), (470, 460), (479, 460),
    (480, 479), (481, 470),
]


def _check_next_expiry(fn) -> None:
    for now_min, seen_min in _SLIDING_CASES:
        now, seen = _T0 + timedelta(minutes=now_min), _T0 + timedelta(minutes=seen_min)
        given = f"now={now}, last_seen={seen}, created={_T0}, idle={_IDLE}, absolute={_ABSOLUTE}"
        expect(fn(now, seen, _T0, _IDLE, _ABSOLUTE), next_expiry(now, seen, _T0, _IDLE, _ABSOLUTE), given)


register(
    "next_expiry",
    checker=_check_next_expiry,
    hints=(
        "Two deadlines exist: last_seen + idle (moves with every request) and created + absolute (never moves).",
        "If now has reached the earlier of the two, the session is already dead: return None. The boundary "
        "counts as expired (now >= deadline).",
        "Otherwise the new expiry is now + idle, but never later than created + absolute: take the min.",
    ),
    reference=next_expiry,
)

# --- 3. session fixation --------------------------------------------------------------------------


def login_without_fixation(sessions: dict[str, dict[str, Any]], presented: str | None, user: str) -> str:
    """Log ``user`` in: forget the ID the browser presented, issue a fresh random one."""
    if presented is not None:
        sessions.pop(presented, None)  # never promote an ID the browser brought along
    session_id = secrets.token_urlsafe(32)
    sessions[session_id] = {"user": user}
    return session_id


def _check_login_without_fixation(fn) -> None:
    planted = "attacker-chose-this-id"
    sessions: dict[str, dict[str, Any]] = {planted: {"user": None}}
    given = f"sessions={sessions!r}, presented={planted!r}, user='alice' (an anonymous session the attacker planted)"
    new = expect_calls(lambda: fn(sessions, planted, "alice"), URANDOM,
                       f"expected the new ID for {given} to come from the secrets module (a CSPRNG), but "
                       "login_without_fixation drew nothing from it: a counter, a hash of the user name or the "
                       "random module can be predicted")
    if new == planted:
        raise Incorrect(f"expected a new session ID for {given}, got the planted one back: that is fixation")
    if planted in sessions:
        raise Incorrect(f"expected the planted session to be deleted for {given}, it is still in sessions")
    expect(sessions.get(new), {"user": "alice"}, f"sessions[new_id] after {given}")
    if not isinstance(new, str) or len(new) < 22:
        raise Incorrect(f"expected at least 128 bits of randomness (22+ base64url characters) for {given}, "
                        f"got {new!r}")
    before = dict(sessions)
    given = f"sessions={before!r}, presented=None, user='bob' (a second login)"
    other = fn(sessions, None, "bob")
    if other == new or sessions.get(other) != {"user": "bob"}:
        raise Incorrect(f"expected a different fresh ID holding {{'user': 'bob'}} for {given}, got "
                        f"{other!r} with sessions[id]={sessions.get(other)!r}")
    expect(sessions.get(new), {"user": "alice"}, f"alice's session after {given}")
    before = dict(sessions)
    given = f"sessions={before!r}, presented='never-issued', user='alice' (an ID the server never issued)"
    forged = fn(sessions, "never-issued", "alice")
    if "never-issued" in sessions or forged == new or sessions.get(forged) != {"user": "alice"}:
        raise Incorrect(f"expected the presented ID to be ignored and a fresh one issued for {given}; got "
                        f"{forged!r}, and sessions now has {sorted(sessions)!r}")


register(
    "login_without_fixation",
    checker=_check_login_without_fixation,
    hints=(
        "The bug in naive_login is 'presented or new_id': it keeps whatever ID the browser brought.",
        "At login, delete the presented session (if any) and create a brand-new ID with the secrets module.",
        "secrets.token_urlsafe(32) gives 256 bits; store {'user': user} under it and return it.",
    ),
    reference=login_without_fixation,
)

# --- 4. the CSRF check ----------------------------------------------------------------------------

_SITE = "https://bank.example"
_TOKEN = "k" * 43
_CSRF_CASES = [  # (sent_token, origin)
    (_TOKEN, _SITE), (_TOKEN, None), (_TOKEN, "https://evil.example"), (_TOKEN, "null"),
    (_TOKEN, "http://bank.example"), (_TOKEN, _SITE + ".evil.example"), (_TOKEN, _SITE + ":8443"),
    (None, _SITE), ("", _SITE), ("k" * 42, _SITE), ("k" * 42 + "K", _SITE),
    ("tökén", _SITE), (None, "https://evil.example"),
]


def _check_csrf_reason(fn) -> None:
    for sent, origin in _CSRF_CASES:
        given = f"expected_token={_TOKEN!r}, sent_token={sent!r}, origin={origin!r}, allowed={{{_SITE!r}}}"
        expect(fn(_TOKEN, sent, origin, {_SITE}), csrf_reason(_TOKEN, sent, origin, {_SITE}), given)
    guess = "k" * 42 + "K"  # right origin, a token of the right length: only the comparison can refuse it
    given = f"expected_token={_TOKEN!r}, sent_token={guess!r}, origin={_SITE!r}, allowed={{{_SITE!r}}}"
    got = expect_calls(lambda: fn(_TOKEN, guess, _SITE, {_SITE}), COMPARE_DIGEST,
                       f"expected hmac.compare_digest to compare the tokens for {given}, but csrf_reason decided "
                       "without calling it: == can stop at the first differing character, and its timing leaks how "
                       "much of a guess was right")
    expect(got, "bad_token", given)


register(
    "csrf_reason",
    checker=_check_csrf_reason,
    hints=(
        "Check the origin first: None → 'missing_origin'; not in allowed → 'bad_origin'.",
        "Then the token: None or empty → 'missing_token'; different from the session's → 'bad_token'; else None.",
        "Compare bytes in constant time: hmac.compare_digest(sent.encode('utf-8'), expected.encode('utf-8')) "
        "(compare_digest refuses non-ASCII str).",
    ),
    reference=csrf_reason,
)


# --- the password store: a choice -----------------------------------------------------------------

_PASSWORD_THREAT = "'the table of users, with whatever the site stores for each password, is stolen and taken offline'"
_PASSWORD_WRONG = {
    "a": "SHA-256 is built to be fast: a GPU tries billions of guesses a second against each salted hash; the "
         "salt only stops one guess from testing every user at once",
    "c": "encryption is reversible: whoever also gets the key (it sits in the same config) reads every password, "
         "and the site never needed to read them",
    "d": "2**10 costs 1 MiB and a millisecond: cheap for the attacker too. The notebook lowers it only to log in "
         "dozens of times; OWASP's minimum for scrypt is N=2**17, r=8, p=1",
}


def password_choice() -> str:
    """A slow, memory-hard, salted hash at OWASP's minimum cost: authkit.hash_password's default."""
    return "b"


def _check_password_choice(fn) -> None:
    from authkit.login.passwords import DEFAULT_COST

    assert (DEFAULT_COST.log2_n, DEFAULT_COST.r, DEFAULT_COST.p) == (17, 8, 1)  # what "b" describes
    expect_choice(fn(), "b", _PASSWORD_WRONG, _PASSWORD_THREAT)


register(
    "password_choice",
    checker=_check_password_choice,
    hints=(
        "The attacker now guesses offline, as fast as their hardware allows: what makes each guess expensive?",
        "A password hash should be slow and memory-hard, salted per user, and never reversible.",
    ),
    reference=password_choice,
    solution='def password_choice():\n    return "b"',
)


# --- what the store says: a prediction, judged by SessionStore ---------------------------------------

def refusal_predictions() -> dict[str, str]:
    """SessionStore's reason for four cookies (idle 30 min, absolute 8 h), as the real store gives it."""
    import time_machine

    from authkit import SessionError, SessionStore
    from authkit.state.redis import connect

    def reason(session_id: str) -> str:
        try:
            store.validate(session_id)
        except SessionError as refusal:
            return refusal.reason
        return "accepted"

    verdicts = {}
    with time_machine.travel(datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc), tick=False) as clock:
        store = SessionStore(connect(fresh=True))
        gone = store.create("alice", label="laptop")
        store.destroy(gone.id)
        verdicts["a copy of the cookie, after logout"] = reason(gone.id)
        idle = store.create("alice", label="phone")
        busy = store.create("alice", label="tablet")
        verdicts["a cookie that is not an ID at all"] = reason("not-a-session-id")
        for click in range(1, 25):  # the tablet clicks every 20 minutes for 8 hours
            clock.shift(timedelta(minutes=20))
            last = reason(busy.id)
            if click == 2:  # 40 minutes after login, the phone has not been used since
                verdicts["the phone's cookie, unused for 40 minutes"] = reason(idle.id)
        verdicts["the tablet's cookie, used every 20 minutes, 8 hours after login"] = last
    return verdicts


def _check_refusal_predictions(fn) -> None:
    expect_predictions(fn(), refusal_predictions(), "SessionStore, idle 30 min, absolute 8 h")


register(
    "refusal_predictions",
    checker=_check_refusal_predictions,
    hints=(
        "Answer with SESSION_REASONS: 'missing', 'malformed', 'unknown', 'idle_timeout', 'absolute_timeout' "
        "(or 'accepted').",
        "An ID is '<user>.<deadline ms>.<secret>': anything else is refused before Redis is asked.",
        "Logout deletes the record, so the store has nothing under that ID. A busy session still ends at its "
        "absolute deadline.",
    ),
    reference=refusal_predictions,
    solution=('def refusal_predictions():\n    return {\n'
              '        "a copy of the cookie, after logout": "unknown",\n'
              '        "a cookie that is not an ID at all": "malformed",\n'
              '        "the phone\'s cookie, unused for 40 minutes": "idle_timeout",\n'
              '        "the tablet\'s cookie, used every 20 minutes, 8 hours after login": "absolute_timeout",\n'
              '    }'),
)
