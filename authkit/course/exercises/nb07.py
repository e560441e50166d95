"""Exercises of notebook 07 (revocation windows and sliding expiration): predict, then measure."""

from __future__ import annotations

import math

from authkit.course.exercise import Incorrect, expect, register


def stolen_token_window(issued_at: float, access_ttl: float, logout_at: float) -> float:
    """Seconds a copied stateless access token still works after the user logs out at ``logout_at``."""
    return max(0.0, issued_at + access_ttl - logout_at)


def _check_stolen_token_window(fn) -> None:
    cases = ((0, 900, 420), (0, 900, 0), (0, 900, 900), (0, 900, 1200), (300, 300, 420), (60, 3600, 61))
    for issued_at, ttl, logout_at in cases:
        given = f"issued_at={issued_at}, access_ttl={ttl}, logout_at={logout_at}"
        got = fn(issued_at, ttl, logout_at)
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise Incorrect(f"expected a number of seconds for {given}, got {got!r}")
        expect(float(got), stolen_token_window(issued_at, ttl, logout_at), given)


register(
    "stolen_token_window",
    checker=_check_stolen_token_window,
    hints=(
        "Logging out changes nothing the verifier looks at: the copy works until its exp.",
        "exp = issued_at + access_ttl; the window is what is left of that after logout_at.",
        "A token that expired before the logout leaves no window at all: never return a negative number.",
    ),
    reference=stolen_token_window,
)


def session_death(requests: list[float], idle: float, absolute: float) -> float:
    """When a session created at 0 dies, given the times of the requests its owner sends."""
    last = 0.0
    for at in sorted(requests):
        if at >= min(last + idle, absolute):
            break  # this request arrives too late: the session is already gone
        last = at
    return min(last + idle, absolute)


def _check_session_death(fn) -> None:
    cases = (
        ([], 600, 1800),
        ([60, 180, 240, 420], 600, 1800),
        ([60, 180, 240, 420, 1200], 600, 1800),
        ([120 * i for i in range(1, 18)], 600, 1800),
        ([599], 600, 1800),
        ([600, 700], 600, 1800),
        ([500, 1000, 1500, 1790], 600, 1800),
    )
    for requests, idle, absolute in cases:
        expect(fn(list(requests), idle, absolute), session_death(requests, idle, absolute),
               f"requests={list(requests)}, idle={idle}, absolute={absolute}")


register(
    "session_death",
    checker=_check_session_death,
    hints=(
        "Walk through the requests in time order, remembering when the last accepted one came.",
        "A request is accepted only if it arrives before min(last + idle, absolute); at that instant "
        "the session is already dead (the store compares now >= deadline).",
        "A late request does not revive anything: stop at the first one that arrives too late, and "
        "answer min(last + idle, absolute).",
    ),
    reference=session_death,
)


def half_window_writes(gap: float, requests: int, idle: float) -> int:
    """Writes the "half" policy makes for ``requests`` requests every ``gap`` seconds after login at 0."""
    last, writes = 0.0, 0
    for n in range(1, requests + 1):
        now = n * gap
        if now - last >= idle / 2:
            last, writes = now, writes + 1
    return writes


def _check_half_window_writes(fn) -> None:
    for gap, requests, idle in ((10, 1000, 1800), (60, 1000, 1800), (300, 1000, 1800), (900, 10, 1800),
                                (1000, 10, 1800), (7, 100, 60), (1, 5, 1800)):
        expect(fn(gap, requests, idle), half_window_writes(gap, requests, idle),
               f"gap={gap}, requests={requests}, idle={idle}")
    expect(fn(60, 1000, 1800), 1000 // math.ceil(900 / 60),
           "gap=60, requests=1000, idle=1800 (the closed form requests // ceil((idle / 2) / gap))")


register(
    "half_window_writes",
    checker=_check_half_window_writes,
    hints=(
        "Login writes last_seen = 0. A request writes only when now - last_seen >= idle / 2.",
        "Each write moves last_seen to that request's time; requests in between write nothing.",
        "A loop over n = 1 … requests with now = n * gap is enough; or find the closed form "
        "requests // ceil((idle / 2) / gap).",
    ),
    reference=half_window_writes,
)


# --- the write-amplification figure: a reading -----------------------------------------------------

def early_minutes_at_300() -> float:
    """Right panel of figure 4: how early a 'half' session may die with a request every 300 s (minutes)."""
    from authkit.study import experiments

    # The lag repeats with every slide, so 60 requests reach the maximum the figure's 1,000 show.
    half = [c for c in experiments.slide_costs((300,), requests=60) if c.policy == "half"]
    return half[0].earliest / 60


def _check_early_minutes_at_300(fn) -> None:
    from authkit.course.exercises.kinds import expect_reading

    expect_reading(fn(), early_minutes_at_300(), 0.5,
                   "the right panel's 'half' bar at a request every 300 s (minutes the session may die early)")


register(
    "early_minutes_at_300",
    checker=_check_early_minutes_at_300,
    hints=(
        "The right panel, 'minutes the session may die early': find the group for a request every 300 s.",
        "Read the orange ('half') bar against the axis; 'always' is zero everywhere.",
    ),
    reference=early_minutes_at_300,
    solution="def early_minutes_at_300():\n    return 10",
)


# --- a Redis that keeps its writes: a choice ---------------------------------------------------------

_DURABLE_THREAT = ("'Redis may crash at any moment; a credential revoked before the crash must never be accepted "
                   "after it, and a crash should not log everyone out'")
_DURABLE_WRONG = {
    "a": "a restart loads the last snapshot, minutes old: every revocation since is undone — or, with authkit's "
         "check, everyone is logged out, since nothing vouches for the lost writes",
    "c": "everysec may lose the last second of acknowledged writes and nobody can tell which, so after a crash "
         "authkit must assume the worst and log everyone out",
    "d": "replication is asynchronous: the promoted replica may lack the last writes, so a failover is a "
         "rollback like any other",
}


def durability_choice() -> str:
    """Every write fsynced before Redis replies, and no eviction: authkit's REQUIRED_SETTINGS."""
    return "b"


def _check_durability_choice(fn) -> None:
    from authkit.state.durability import REQUIRED_SETTINGS
    from authkit.course.exercises.kinds import expect_choice

    assert REQUIRED_SETTINGS == {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}
    expect_choice(fn(), "b", _DURABLE_WRONG, _DURABLE_THREAT)


register(
    "durability_choice",
    checker=_check_durability_choice,
    hints=(
        "Which option guarantees that a write Redis acknowledged is on disk before the client hears 'OK'?",
        "Snapshots, one-second fsyncs and replicas can all lose acknowledged writes; only one setting cannot.",
    ),
    reference=durability_choice,
    solution='def durability_choice():\n    return "b"',
)
