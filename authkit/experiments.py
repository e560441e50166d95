"""The measurements behind notebook 07's figures: each runs authkit's real code and returns plain numbers."""

from __future__ import annotations

import random
import timeit
from dataclasses import dataclass
from datetime import timedelta

import redis

from authkit.approaches import Approach, GuardedJWT, RefreshRotation, ServerSession, StatelessJWT
from authkit.redis import LocalRedisServer, count_round_trips
from authkit.timeline import USER, Scenario, Timeline, simulate

MINUTE = 60.0
#: The revocation-window story: active user, theft at 6 min, logout at 7 min, watched for 20 min.
THEFT_AT, LOGOUT_AT, WATCH = 6 * MINUTE, 7 * MINUTE, 20 * MINUTE
#: The sliding-expiration story, with short timeouts so both deaths fit in one picture.
SLIDE_IDLE, SLIDE_ABSOLUTE = timedelta(minutes=10), timedelta(minutes=30)
#: Round trips per check of ``request_checks``, as tests/test_token_round_trips.py and test_sessions.py hold them.
HELD_ROUND_TRIPS = (0, 0, 1, 1)
CostRow = tuple[str, float | None, int | None]  # label, seconds per check (None: not measured), round trips


def revocation_scenario(step: float = 5.0) -> Scenario:
    """Login at 0, a request every 30 s, every credential copied at 6 min, logout at 7 min."""
    scenario = Scenario(duration=WATCH, step=step).login(0).every(30, start=30, end=LOGOUT_AT - 30)
    return scenario.steal("all", THEFT_AT).logout(LOGOUT_AT)


def revocation_approaches(client: redis.Redis | None = None) -> list[Approach]:
    """The five strategies compared in figure 1 (``client``: the Redis they share; fresh fakeredis if None)."""
    return [
        StatelessJWT(timedelta(minutes=15)),
        RefreshRotation(timedelta(minutes=5), client=client),
        GuardedJWT("denylist", timedelta(minutes=15), client=client),
        GuardedJWT("version", timedelta(minutes=15), client=client),
        ServerSession(timedelta(minutes=30), client=client),
    ]


def revocation_timelines(step: float = 5.0) -> list[Timeline]:
    """Figure 1's data: the same story played against each strategy."""
    return [simulate(approach, revocation_scenario(step)) for approach in revocation_approaches()]


def exposure_windows(lifetimes_min: tuple[int, ...] = (5, 15, 60), *, samples: int = 200, seed: int = 7,
                     step: float = 10.0) -> dict[int, list[float]]:
    """Figure 2's data: per access lifetime, seconds a stolen token worked after a logout at a random moment.

    One token per run, issued at 0 and copied at once; the user logs out at a random second of its
    life (seeded, so the same every run); probes every ``step`` seconds from the logout on.
    """
    rng = random.Random(seed)
    windows: dict[int, list[float]] = {}
    for minutes in lifetimes_min:
        approach, lifetime = StatelessJWT(timedelta(minutes=minutes)), minutes * MINUTE
        windows[minutes] = []
        for _ in range(samples):
            logout = float(rng.randrange(0, int(lifetime)))
            scenario = Scenario(duration=lifetime + step, step=step, probe_from=logout)
            timeline = simulate(approach, scenario.login(0).steal("access", 0).logout(logout))
            windows[minutes].append(timeline.revocation_window("stolen access"))
    return windows


def idle_death_scenario(step: float = 5.0) -> Scenario:
    """A few requests, then a gap longer than the idle timeout: the session dies idle."""
    return Scenario(duration=35 * MINUTE, step=step).login(0).requests([m * MINUTE for m in (1, 3, 4, 7, 20)])


def absolute_death_scenario(step: float = 5.0) -> Scenario:
    """A request every 2 min: never idle, so the absolute timeout ends the session."""
    return Scenario(duration=35 * MINUTE, step=step).login(0).every(2 * MINUTE, start=2 * MINUTE, end=34 * MINUTE)


def sliding_timelines(step: float = 5.0, *, slide: str = "always") -> tuple[Timeline, Timeline]:
    """Figure 3's data: (idle death, absolute death) with idle 10 min and absolute 30 min."""
    return tuple(  # type: ignore[return-value]
        simulate(ServerSession(SLIDE_IDLE, SLIDE_ABSOLUTE, slide=slide), scenario)
        for scenario in (idle_death_scenario(step), absolute_death_scenario(step))
    )


@dataclass(frozen=True)
class SlideCost:
    """One run of ``requests`` requests ``gap`` seconds apart under one slide policy."""

    policy: str
    gap: float
    requests: int
    writes: int
    earliest: float  # the most the session could expire before "last request + idle", in seconds
    idle: float  # the idle timeout, in seconds

    @property
    def writes_per_1000(self) -> float:
        return 1000 * self.writes / self.requests


def slide_costs(gaps: tuple[float, ...] = (10, 60, 300), *, requests: int = 1000,
                idle: timedelta = timedelta(minutes=30)) -> list[SlideCost]:
    """Figure 4's data: writes the store reports, and how early it sets the deadline, per policy and gap.

    The absolute timeout is set far away (30 days) so that only the idle rule is measured.
    """
    results = []
    for gap in gaps:
        for policy in ("always", "half"):
            approach = ServerSession(idle, timedelta(days=30), slide=policy)
            scenario = Scenario(duration=gap * (requests + 1), step=None).login(0)
            timeline = simulate(approach, scenario.every(gap, start=gap, end=gap * requests))
            assert all(r.accepted for r in timeline.requests), "the session must survive the whole run"
            early = max(r.at + idle.total_seconds() - r.idle_deadline for r in timeline.requests)  # type: ignore[operator]
            results.append(SlideCost(policy, gap, len(timeline.requests), timeline.writes, early, idle.total_seconds()))
    return results


def seconds_per_check(approach: Approach, kind: str, *, number: int = 300, repeat: int = 5) -> float:
    """Wall-clock seconds one request's check takes (best of ``repeat`` batches). Varies run to run."""
    value = approach.login(USER)[kind]
    return min(timeit.Timer(lambda: approach.check(kind, value)).repeat(repeat, number)) / number


def round_trips_per_check(approach: Approach, kind: str, client: redis.Redis) -> int:
    """Commands the real server at ``client`` received for one check (``count_round_trips``)."""
    value = approach.login(USER)[kind]
    approach.check(kind, value)  # first call loads any Lua script; count a steady-state request
    with count_round_trips(client) as log:
        approach.check(kind, value)
    return log.round_trips


def request_checks(client: redis.Redis | None = None) -> list[tuple[str, Approach, str]]:
    """Figure 5's checks: (label, approach, credential kind); the stateful ones on ``client`` or fakeredis."""
    where = "redis-server" if client is not None else "fakeredis"
    return [("HS256 verify", StatelessJWT(alg="HS256"), "access"),
            ("EdDSA verify", StatelessJWT(alg="EdDSA"), "access"),
            (f"HS256 verify + jti denylist ({where})", GuardedJWT("denylist", client=client), "access"),
            (f"session lookup + slide ({where})", ServerSession(client=client), "session")]


def request_costs(*, number: int = 300, repeat: int = 5) -> tuple[list[CostRow], str]:
    """Figure 5's data: time and round trips per check on fakeredis, then on a throwaway redis-server.

    Without a ``redis-server`` binary the round trips are the numbers the tests hold, and the real-server
    row is left unmeasured (None). Also returns a note saying which of the two happened.
    """
    rows: list[CostRow] = [(label, seconds_per_check(approach, kind, number=number, repeat=repeat), held)
                           for (label, approach, kind), held in zip(request_checks(), HELD_ROUND_TRIPS)]
    try:
        with LocalRedisServer() as server:
            client = server.client()
            checks = request_checks(client)
            trips = [round_trips_per_check(approach, kind, client) for _, approach, kind in checks]
            rows += [(label, seconds_per_check(approach, kind, number=number, repeat=repeat), counted)
                     for (label, approach, kind), counted in zip(checks[2:], trips[2:])]
    except FileNotFoundError:
        rows.append(("session lookup + slide (redis-server)", None, None))
        return rows, "round trips: the numbers the tests hold (no redis-server here)"
    return rows, f"round trips counted by redis-server: {trips} (the tests hold {list(HELD_ROUND_TRIPS)})"
