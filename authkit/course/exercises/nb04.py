"""Exercises of notebook 04 (refresh tokens and revocation): the rotation rule, the denylist, the verdict."""

from __future__ import annotations

from typing import Any

from redis.crc import key_slot

from authkit.course.exercise import Incorrect, expect, register
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
