"""Exercises of notebook 04 (refresh tokens and revocation): the rotation rule, the denylist, the verdict."""

from __future__ import annotations

from typing import Any

from redis.crc import key_slot

from authkit.course.exercise import Incorrect, expect, register
from authkit.course.exercises.kinds import expect_choice, expect_predictions
from authkit.state.revocation import STRATEGIES, deny_key, version_key

NOW = 1_767_603_600_000  # 2026-01-05 09:00 UTC, in milliseconds
SECOND, MINUTE, HOUR = 1_000, 60_000, 3_600_000
GRACE_MS = 10 * SECOND


def rotation_outcome(family: dict[str, Any] | None, presented: str, now_ms: int, *, idle_ms: int,
                     grace_ms: int = 0) -> str:
    """What the rotation script decides: "ok", "again", "reused", "revoked" or "expired" (no version check here)."""
    if not family:
        return "expired"  # the key is gone: idle or absolute lifetime ran out, or it never existed
    if family["state"] != "active":
        return "revoked"
    if now_ms >= family["abs"] or now_ms >= family["seen"] + idle_ms:
        return "expired"
    if presented == family["cur"]:
        return "ok"  # the live head: rotate
    if grace_ms > 0 and presented == family["prev"] and now_ms < family["prev_until"]:
        return "again"  # the token just rotated, within the grace: the same successor once more
    return "reused"  # an older token of this family, or the last one after the grace: someone kept a copy


def _family(**changes: Any) -> dict[str, Any]:
    """A family whose token t2 was rotated to t3 at NOW, with a 10 s grace (so prev_until = NOW + 10 s)."""
    base = {"state": "active", "cur": "t3", "prev": "t2", "prev_until": NOW + GRACE_MS, "seen": NOW,
            "abs": NOW + 10 * HOUR}
    return {**base, **changes}


# (family, presented, now_ms, options): each case one rule of the script, most near its boundary.
ROTATION_CASES = (
    (None, "t3", NOW, {}),
    (_family(), "t3", NOW + MINUTE, {}),
    (_family(), "t3", NOW + SECOND, {"grace_ms": GRACE_MS}),
    (_family(), "t2", NOW + 3 * SECOND, {"grace_ms": GRACE_MS}),
    (_family(), "t2", NOW + GRACE_MS - 1, {"grace_ms": GRACE_MS}),
    (_family(), "t2", NOW + GRACE_MS, {"grace_ms": GRACE_MS}),
    (_family(), "t2", NOW + 3 * SECOND, {}),
    (_family(), "t2", NOW + 3 * SECOND, {"grace_ms": 0}),
    (_family(prev_until=NOW), "t2", NOW + 3 * SECOND, {"grace_ms": GRACE_MS}),
    (_family(), "t1", NOW + 3 * SECOND, {"grace_ms": GRACE_MS}),
    (_family(state="revoked"), "t3", NOW + SECOND, {}),
    (_family(state="revoked"), "t2", NOW + SECOND, {"grace_ms": GRACE_MS}),
    (_family(), "t3", NOW + HOUR - 1, {}),
    (_family(), "t3", NOW + HOUR, {}),
    (_family(), "t2", NOW + HOUR, {"grace_ms": GRACE_MS}),
    (_family(abs=NOW + MINUTE), "t3", NOW + MINUTE, {}),
    (_family(abs=NOW + SECOND), "t2", NOW + SECOND, {"grace_ms": GRACE_MS}),
    (_family(state="revoked", abs=NOW - 1), "t3", NOW, {}),
)


def _check_rotation_outcome(fn) -> None:
    for family, presented, now_ms, options in ROTATION_CASES:
        args = {"idle_ms": HOUR, **options}
        expected = rotation_outcome(family, presented, now_ms, **args)
        given = ", ".join([f"family={family!r}", f"presented={presented!r}", f"now_ms={now_ms}"]
                          + [f"{name}={value}" for name, value in args.items()])
        expect(fn(family, presented, now_ms, **args), expected, given)


def denylist_entry(claims: dict[str, Any], now_ms: int) -> tuple[str, int] | None:
    """The denylist key for this token and how long to keep it (ms); None if it has expired anyway."""
    ttl_ms = int(claims["exp"]) * 1000 - now_ms
    if ttl_ms <= 0:
        return None  # nothing to remember: the token is refused for being expired
    return deny_key(claims), ttl_ms


def _check_denylist_entry(fn) -> None:
    for sub, exp_s in (("alice", NOW // 1000 + 900), ("u42", NOW // 1000 + 1), ("bob", NOW // 1000),
                       ("carol", NOW // 1000 - 60)):
        claims = {"iss": "https://auth.example", "sub": sub, "jti": f"jti-of-{sub}", "exp": exp_s}
        given = f"claims={claims!r}, now_ms={NOW}"
        got, expected = fn(claims, NOW), denylist_entry(claims, NOW)
        if expected is not None and got is not None and key_slot(got[0].encode()) != key_slot(
                version_key(sub).encode()):
            raise Incorrect(f"expected a key in the slot of {version_key(sub)!r} for {given}, got {got[0]!r}: "
                            "put the user's hash tag in it")
        expect(got, expected, given)


def revocation_reason(strategy: str, claims: dict[str, Any], reply: list[str | None]) -> str | None:
    """Judge one MGET reply (denylist key first, then version key, as the strategy reads them)."""
    chosen = STRATEGIES[strategy]
    if chosen.denylist and reply[0] is not None:
        return "revoked"  # this very token was logged out
    if chosen.version:
        current = int(reply[-1] or 0)  # no key yet: version 0
        if type(claims.get("ver")) is not int:
            return "missing_claim"
        if claims["ver"] != current:
            return "revoked"  # logout-everywhere happened after this token was issued
    return None


_VERDICTS = (
    ("stateless", {"ver": 0}, []),
    ("denylist", {"ver": 0}, [None]),
    ("denylist", {"ver": 0}, ["1"]),
    ("version", {"ver": 0}, [None]),
    ("version", {"ver": 0}, ["1"]),
    ("version", {"ver": 2}, ["2"]),
    ("version", {}, ["2"]),
    ("version", {"ver": "2"}, ["2"]),
    ("version", {"ver": True}, ["1"]),
    ("denylist+version", {"ver": 1}, [None, "1"]),
    ("denylist+version", {"ver": 1}, ["1", "1"]),
    ("denylist+version", {"ver": 1}, [None, "2"]),
    ("denylist+version", {"ver": 0}, [None, None]),
)


def _check_revocation_reason(fn) -> None:
    for strategy, claims, reply in _VERDICTS:
        expected = revocation_reason(strategy, claims, reply)
        expect(fn(strategy, claims, reply), expected, f"strategy={strategy!r}, claims={claims!r}, reply={reply!r}")


register(
    "rotation_outcome",
    checker=_check_rotation_outcome,
    hints=(
        "Check in the script's order: missing family, revoked state, lifetimes, then which token was presented.",
        "Expired means now_ms >= abs (absolute lifetime) or now_ms >= seen + idle_ms (idle lifetime).",
        "The current jti rotates ('ok'). The previous one gets 'again' only while grace_ms > 0 and now_ms < "
        "prev_until (the grace runs up to, not including, prev_until); any other token is 'reused'.",
    ),
    reference=rotation_outcome,
)

register(
    "denylist_entry",
    checker=_check_denylist_entry,
    hints=(
        "The key is authkit:deny:{<sub>}:<iss>:<jti> — the braces are the hash tag that keeps it next to the "
        "user's version key.",
        "The entry is useless once the token expires: keep it exp * 1000 - now_ms milliseconds.",
        "If that is zero or less, return None: an expired token is already refused.",
    ),
    reference=denylist_entry,
)

register(
    "revocation_reason",
    checker=_check_revocation_reason,
    hints=(
        "STRATEGIES[strategy].denylist and .version say which keys were read, in that order.",
        "A denylist hit is any value that is not None; a missing version key means version 0.",
        "Refuse a token whose 'ver' claim is not an int with 'missing_claim'; one whose ver differs with 'revoked'.",
    ),
    reference=revocation_reason,
)


# --- the real service, on a Redis of its own, for the checks below -------------------------------

def _service(grace_s: float = 0, strategy: str = "denylist+version") -> tuple[Any, Any]:
    """authkit's TokenService as the notebook builds it (Ed25519 access keys, HS256 refresh keys), and its guard."""
    from datetime import timedelta

    from authkit import (AccessGuard, KeySet, RefreshFamilies, RevocationStore, SigningKey, TokenIssuer,
                         TokenService, TokenVerifier)
    from authkit.state.redis import connect

    r = connect(fresh=True)
    keys, refresh_keys = KeySet(SigningKey.generate("EdDSA")), KeySet(SigningKey.generate("HS256"))
    issuer = TokenIssuer(keys, refresh_keys=refresh_keys, issuer="https://auth.example", audience="api")
    verifier = TokenVerifier(keys, refresh_keys=refresh_keys, issuer="https://auth.example", audience="api")
    guard = AccessGuard(verifier, strategy, RevocationStore(r))
    families = RefreshFamilies(r, grace=timedelta(seconds=grace_s)) if grace_s else RefreshFamilies(r)
    return TokenService(issuer, verifier, families, guard), guard


def _attempt(call: Any, *args: Any) -> str:
    from authkit import TokenError

    try:
        call(*args)
    except TokenError as refusal:
        return refusal.reason
    return "accepted"


def theft_predictions() -> dict[str, str]:
    """A copied refresh token replayed after alice's app refreshed: what each party gets, by authkit."""
    service, _ = _service()
    victim, phone = service.login("alice"), service.login("alice")
    stolen = victim.refresh_token
    victim = service.refresh(victim.refresh_token)
    return {
        "the attacker presents the copy": _attempt(service.refresh, stolen),
        "alice's app refreshes with its newest token": _attempt(service.refresh, victim.refresh_token),
        "alice's phone, logged in on its own, refreshes": _attempt(service.refresh, phone.refresh_token),
    }


def _check_theft_predictions(fn) -> None:
    expect_predictions(fn(), theft_predictions(), "strict rotation, no grace")


register(
    "theft_predictions",
    checker=_check_theft_predictions,
    hints=(
        "Answer with authkit's reasons: 'accepted', 'reused', 'revoked' or 'expired'.",
        "A token that has already been rotated is 'reused', and the server then revokes the whole family it "
        "belongs to: the newest token of that family is 'revoked'.",
        "A family is one login. Another login of the same user is another family, untouched.",
    ),
    reference=theft_predictions,
    solution=('def theft_predictions():\n    return {\n        "the attacker presents the copy": "reused",\n'
              '        "alice\'s app refreshes with its newest token": "revoked",\n'
              '        "alice\'s phone, logged in on its own, refreshes": "accepted",\n    }'),
)


_GRACE_THREAT = ("'responses get lost and tabs race, yet a copy of a refresh token replayed by a thief must "
                 "still be caught'")
_GRACE_WRONG = {
    "a": "with no grace a lost response or two tabs refreshing at once present a spent token, and the whole "
         "login is revoked: the user is logged out by the mechanism meant to protect them",
    "c": "for fifteen minutes after every rotation a thief replaying the just-rotated copy is served the live "
         "head like a retry: detection waits far longer than any retry needs",
    "d": "a grace as long as the token's life means a spent token is never 'reused': rotation no longer "
         "detects anything",
}


def grace_choice() -> str:
    """A grace of a few seconds: one client timeout and one retry."""
    return "b"


def _check_grace_choice(fn) -> None:
    from datetime import timedelta

    from authkit import REFRESH_GRACE

    assert REFRESH_GRACE <= timedelta(seconds=30)  # what "b" describes is authkit's own default
    expect_choice(fn(), "b", _GRACE_WRONG, _GRACE_THREAT)


register(
    "grace_choice",
    checker=_check_grace_choice,
    hints=(
        "Within the grace, a replayed copy of the just-rotated token is served like a retry: no alarm.",
        "So the grace should be as long as an honest retry needs, and not a second longer.",
    ),
    reference=grace_choice,
    solution='def grace_choice():\n    return "b"',
)


def race_predictions() -> dict[str, str]:
    """Two tabs present one refresh token at once: what the second tab gets, per implementation."""
    from authkit import NaiveRotation

    service, _ = _service()
    bob = service.verifier.verify_refresh(service.login("bob").refresh_token)
    naive = NaiveRotation(service.families)
    tab_1, tab_2 = naive.read("bob", bob["fam"]), naive.read("bob", bob["fam"])
    naive_second = "accepted" if tab_1 == tab_2 == bob["jti"] else "refused"

    bob = service.verifier.verify_refresh(service.login("bob").refresh_token)
    service.families.rotate("bob", bob["fam"], bob["jti"], "jti-for-tab-1")
    strict_second = _attempt(service.families.rotate, "bob", bob["fam"], bob["jti"], "jti-for-tab-2")

    graceful, _ = _service(grace_s=10)
    both = graceful.login("bob")
    first, second = graceful.refresh(both.refresh_token), graceful.refresh(both.refresh_token)
    return {
        "read, compare in Python, then write": naive_second,
        "one Lua script, no grace": strict_second,
        "one Lua script, 10 s grace": "same token" if first.refresh_token == second.refresh_token else "other",
    }


def _check_race_predictions(fn) -> None:
    expect_predictions(fn(), race_predictions(), "the second tab, an instant after the first")


register(
    "race_predictions",
    checker=_check_race_predictions,
    hints=(
        "Read then write: both tabs read before either writes, so both see the current token.",
        "The script checks and rotates in one step: the second tab finds a token already spent ('reused').",
        "With a grace, the second presentation within it gets the first one's successor: 'same token'.",
    ),
    reference=race_predictions,
    solution=('def race_predictions():\n    return {\n        "read, compare in Python, then write": "accepted",\n'
              '        "one Lua script, no grace": "reused",\n'
              '        "one Lua script, 10 s grace": "same token",\n    }'),
)


_STRATEGY_THREAT = ("'a logout must kill that device's access token at once, and logout-everywhere must kill "
                    "every other device's at once'")


def _strategy_row(strategy: str) -> tuple[str, str]:
    """(laptop's access token after its logout, phone's after logout-everywhere), measured by authkit."""
    service, guard = _service(strategy=strategy)
    laptop, phone = service.login("carol"), service.login("carol")
    service.logout(guard.check(laptop.access_token))
    after_logout = _attempt(guard.check, laptop.access_token)
    service.logout_all("carol")
    return after_logout, _attempt(guard.check, phone.access_token)


def strategy_choice() -> str:
    """The strategy that refuses both at once: the denylist and the version, read in one MGET."""
    return "denylist+version"


def _check_strategy_choice(fn) -> None:
    got = fn()
    if isinstance(got, str) and got in STRATEGIES and got != "denylist+version":
        after_logout, after_all = _strategy_row(got)
        raise Incorrect(f"expected 'denylist+version' for the threat {_STRATEGY_THREAT}, got {got!r}: with it the "
                        f"laptop's token after logout is {after_logout!r} and the phone's after logout-everywhere "
                        f"is {after_all!r}")
    if got == "denylist+version":
        expect(_strategy_row(got), ("revoked", "revoked"), "'denylist+version' (laptop, phone)")
    expect(got, "denylist+version", f"the threat {_STRATEGY_THREAT} (one of {sorted(STRATEGIES)})")


register(
    "strategy_choice",
    checker=_check_strategy_choice,
    hints=(
        "Read the table row by row: which strategy refuses the laptop's token after logout AND the phone's "
        "after logout-everywhere?",
        "The denylist ends one token; the version ends all of a user's tokens at once. The threat asks for both.",
    ),
    reference=strategy_choice,
    solution='def strategy_choice():\n    return "denylist+version"',
)
