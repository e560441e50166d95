"""The measurements behind notebook 07's figures: each runs authkit's real code and returns plain numbers."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import redis

from authkit.study.approaches import Approach, GuardedJWT, RefreshRotation, ServerSession, StatelessJWT
from authkit.study.measure import Comparison, round_trips, side_by_side
from authkit.state.redis import LocalRedisServer
from authkit.study.timeline import USER, Scenario, Timeline, simulate

MINUTE = 60.0
#: The revocation-window story: active user, theft at 6 min, logout at 7 min, watched for 20 min.
THEFT_AT, LOGOUT_AT, WATCH = 6 * MINUTE, 7 * MINUTE, 20 * MINUTE
#: The sliding-expiration story, with short timeouts so both deaths fit in one picture.
SLIDE_IDLE, SLIDE_ABSOLUTE = timedelta(minutes=10), timedelta(minutes=30)
#: Seconds between the probes of the exposure experiment (figure 2).
EXPOSURE_STEP = 10.0


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
                     step: float = EXPOSURE_STEP) -> dict[int, list[float]]:
    """Figure 2's data: per access lifetime, seconds a stolen token worked after a logout at a random moment.

    One token per run, issued at 0 and copied at once; the user logs out at a random moment of its
    life; probes every ``step`` seconds from the logout on. The moments are drawn once (seeded, so the
    same every run) as fractions of the life, and every lifetime gets the same fractions: the lifetimes
    are compared on the same logouts, so they differ by the lifetime alone.
    """
    rng = random.Random(seed)
    fractions = [rng.random() for _ in range(samples)]
    windows: dict[int, list[float]] = {}
    for minutes in lifetimes_min:
        approach, lifetime = StatelessJWT(timedelta(minutes=minutes)), minutes * MINUTE
        windows[minutes] = []
        for fraction in fractions:
            logout = round(fraction * lifetime, 3)
            scenario = Scenario(duration=lifetime + step, step=step, probe_from=logout)
            timeline = simulate(approach, scenario.login(0).steal("access", 0).logout(logout))
            windows[minutes].append(timeline.revocation_window("stolen access"))
    return windows


def expected_window(lifetime: float, step: float = EXPOSURE_STEP) -> float:
    """The mean window theory gives, in seconds, for a logout uniform over the token's life.

    The token works for ``lifetime - logout`` more seconds, and the probes see it refused at the first
    probe at or after its ``exp``: the window measured is that rest rounded up to a whole ``step``. Its
    mean is ``(lifetime + step) / 2`` when ``step`` divides ``lifetime`` (half the life, plus half a step).
    """
    whole, rest = divmod(lifetime, step)
    return (step * step * whole * (whole + 1) / 2 + (whole + 1) * step * rest) / lifetime


@dataclass(frozen=True)
class Interval:
    """A sample mean and its confidence interval."""

    mean: float
    low: float
    high: float
    confidence: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


def mean_interval(values: list[float], confidence: float = 0.95) -> Interval:
    """The mean of ``values`` with its confidence interval (normal approximation: mean ± z · s / √n)."""
    if len(values) < 2:
        raise ValueError("a confidence interval needs at least two values")
    mean = statistics.fmean(values)
    z = statistics.NormalDist().inv_cdf((1 + confidence) / 2)
    half = z * statistics.stdev(values) / math.sqrt(len(values))
    return Interval(mean, mean - half, mean + half, confidence)


@dataclass(frozen=True)
class ExposureSummary:
    """One access lifetime of figure 2: the measured windows against theory, in seconds."""

    minutes: int
    samples: int
    mean: Interval
    theory: float
    median: float
    p90: float
    worst: float


def exposure_summary(windows: dict[int, list[float]], *, step: float = EXPOSURE_STEP,
                     confidence: float = 0.95) -> list[ExposureSummary]:
    """Per lifetime: mean with its confidence interval, the theory's mean, median, 90th percentile, max."""
    results = []
    for minutes, values in windows.items():
        ordered = sorted(values)
        results.append(ExposureSummary(minutes, len(values), mean_interval(values, confidence),
                                       expected_window(minutes * MINUTE, step), statistics.median(ordered),
                                       ordered[int(0.9 * len(ordered))], ordered[-1]))
    return results


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


def request_checks(client: redis.Redis | None = None) -> list[tuple[str, Approach, str]]:
    """Figure 5's checks: (label, approach, credential kind); the stateful ones on ``client`` or fakeredis."""
    return [("HS256 verify", StatelessJWT(alg="HS256"), "access"),
            ("EdDSA verify", StatelessJWT(alg="EdDSA"), "access"),
            ("ES256 verify", StatelessJWT(alg="ES256"), "access"),
            ("RS256 verify", StatelessJWT(alg="RS256"), "access"),
            ("HS256 verify + jti denylist", GuardedJWT("denylist", client=client), "access"),
            ("HS256 verify + denylist + version", GuardedJWT("denylist+version", client=client), "access"),
            ("session validate + slide (always)", ServerSession(client=client), "session"),
            ("session validate, slide past half", ServerSession(slide="half", client=client), "session")]


@dataclass(frozen=True)
class RequestCost:
    """One check of figure 5: CPU against an HS256 verify, and Redis round trips counted by the server."""

    label: str
    round_trips: int | None  # None: not counted (fakeredis has no MONITOR)
    cost: Comparison | None  # None for the anchor itself, the HS256 verify
    backend: str  # "redis-server" or "fakeredis"


def request_costs(client: redis.Redis | None = None, *, rounds: int = 9, target: float = 0.02,
                  progress: Callable[[int], None] | None = None) -> list[RequestCost]:
    """Figure 5's data: each check's CPU as a ratio to an HS256 verify, interleaved, and its round trips.

    On ``client`` (a real server) the CPU is this process's plus redis-server's and round trips are
    counted from MONITOR. Without ``client`` a throwaway redis-server is started; without the binary
    the stateful checks run on fakeredis, in-process, and round trips are not counted (None).
    """
    if client is None:
        try:
            server = LocalRedisServer()
        except FileNotFoundError:
            return _request_costs(None, rounds, target, progress)
        with server:
            return _request_costs(server.client(), rounds, target, progress)
    return _request_costs(client, rounds, target, progress)


def _request_costs(client: redis.Redis | None, rounds: int, target: float,
                   progress: Callable[[int], None] | None) -> list[RequestCost]:
    calls = {label: partial(approach.check, kind, approach.login(USER)[kind])
             for label, approach, kind in request_checks(client)}
    trips = {label: round_trips(call, client) if client is not None else None for label, call in calls.items()}
    compared = {c.name: c for c in side_by_side(calls, rounds=rounds, target=target, server=client, progress=progress)}
    backend = "redis-server" if client is not None else "fakeredis"
    return [RequestCost(label, trips[label], compared.get(label), backend) for label in calls]
