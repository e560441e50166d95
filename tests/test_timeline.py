"""The simulator drives the real code: the numbers behind notebook 07's figures, asserted."""

from __future__ import annotations

import math
import statistics
from datetime import timedelta

import pytest
import time_machine

from authkit.study.approaches import GuardedJWT, RefreshRotation, ServerSession, StatelessJWT
from authkit.errors import TokenError
from authkit.study import experiments
from authkit.study.experiments import (
    LOGOUT_AT, SLIDE_ABSOLUTE, SLIDE_IDLE, THEFT_AT, expected_window, exposure_summary, exposure_windows,
    mean_interval, request_checks, request_costs, revocation_timelines, slide_costs, sliding_timelines,
)
from authkit.state.sessions import DEFAULT_ROTATION_GRACE
from authkit.study.timeline import START, RealClock, Scenario, simulate

MIN = 60.0


def story(duration: float = 20 * MIN, step: float = 5.0) -> Scenario:
    return Scenario(duration=duration, step=step).login(0).every(30, start=30, end=6 * MIN).steal("all", 6 * MIN)


# --- figure 1: revocation windows ---------------------------------------------------------------

def test_the_revocation_story_gives_each_strategy_its_window() -> None:
    windows = {t.approach: {k: t.revocation_window(k) for k in t.series if k.startswith("stolen")}
               for t in revocation_timelines()}
    assert windows == {
        "stateless JWT (15 min)": {"stolen access": 15 * MIN - LOGOUT_AT},  # issued at 0, dies at 15 min
        "access 5 min + refresh rotation": {"stolen access": 10 * MIN - LOGOUT_AT, "stolen refresh": 0.0},
        "JWT + jti denylist (15 min)": {"stolen access": 0.0},
        "JWT + token version (15 min)": {"stolen access": 0.0},
        "server-side session (idle 30 min)": {"stolen session": 0.0},
    }


@pytest.mark.parametrize("step", [1.0, 5.0, 7.0, 13.0])
@pytest.mark.parametrize("logout", [0.0, 61.0, 433.0, 899.0])
def test_a_stateless_jwt_window_is_its_remaining_lifetime_within_one_step(step: float, logout: float) -> None:
    scenario = Scenario(duration=16 * MIN, step=step, probe_from=logout).login(0).steal("access", 0).logout(logout)
    window = simulate(StatelessJWT(timedelta(minutes=15)), scenario).revocation_window()
    remaining = 15 * MIN - logout
    assert remaining <= window < remaining + step


@pytest.mark.parametrize("approach", [
    GuardedJWT("denylist"), GuardedJWT("version"), GuardedJWT("denylist+version"), ServerSession(),
], ids=lambda a: a.name)
def test_stateful_checks_refuse_a_stolen_credential_at_the_first_probe_after_logout(approach) -> None:
    timeline = simulate(approach, story().logout(7 * MIN))
    stolen = next(label for label in timeline.series if label.startswith("stolen"))
    assert timeline.revocation_window(stolen) == 0.0
    assert timeline.series[stolen][timeline.times.index(THEFT_AT)] is True, "it did work before the logout"


def test_the_window_is_infinite_when_nothing_ever_refuses() -> None:
    timeline = simulate(StatelessJWT(timedelta(hours=1)), story(duration=10 * MIN).logout(7 * MIN))
    assert timeline.revocation_window() == math.inf


@pytest.mark.parametrize(("approach", "window"), [
    (StatelessJWT(timedelta(minutes=15)), 15 * MIN - 7 * MIN),
    (GuardedJWT("denylist"), 15 * MIN - 7 * MIN),  # a denylist knows only the tokens it was shown
    (GuardedJWT("version"), 0.0),
    (ServerSession(), 0.0),  # the per-user index finds every session
], ids=lambda x: getattr(x, "name", str(x)))
def test_logout_everywhere_reaches_stolen_copies_only_through_server_state(approach, window: float) -> None:
    timeline = simulate(approach, story().logout_everywhere(7 * MIN))
    stolen = next(label for label in timeline.series if label.startswith("stolen"))
    assert timeline.revocation_window(stolen, after="logout_everywhere") == window


def test_logout_everywhere_ends_the_refresh_family_but_not_the_stateless_access_token() -> None:
    timeline = simulate(RefreshRotation(timedelta(minutes=5)), story().logout_everywhere(7 * MIN))
    assert timeline.revocation_window("stolen refresh", after="logout_everywhere") == 0.0
    assert timeline.revocation_window("stolen access", after="logout_everywhere") == 10 * MIN - 7 * MIN


def test_a_password_change_kills_the_stolen_session_and_keeps_the_user_logged_in() -> None:
    timeline = simulate(ServerSession(), story().change_password(7 * MIN))
    assert timeline.revocation_window("stolen session", after="password_change") == 0.0
    after = [v for t, v in zip(timeline.times, timeline.series["user session"]) if t >= 7 * MIN]
    assert after and all(after), "the user has a fresh session"


def test_a_permission_change_rotates_the_session_at_the_users_next_request() -> None:
    scenario = story().change_permissions(7 * MIN).request(8 * MIN)
    timeline = simulate(ServerSession(), scenario)
    # the old ID dies at the user's next request (1 min later), after the rotation's grace for in-flight requests
    grace = DEFAULT_ROTATION_GRACE.total_seconds()
    assert timeline.revocation_window("stolen session", after="permission_change") == 1 * MIN + grace
    assert timeline.requests[-1].accepted and timeline.series["user session"][-1] is True


def test_a_rotation_counts_as_a_write_even_when_the_slide_is_not_due() -> None:
    scenario = Scenario(duration=10 * MIN, step=None).login(0).request(MIN).change_permissions(2 * MIN).request(3 * MIN)
    timeline = simulate(ServerSession(slide="half"), scenario)
    assert [r.wrote for r in timeline.requests] == [False, True], "the second request renamed the record"


# --- probing must not change what it measures ----------------------------------------------------

def test_probing_a_session_never_slides_it() -> None:
    quiet = simulate(ServerSession(SLIDE_IDLE, SLIDE_ABSOLUTE), Scenario(duration=20 * MIN, step=None).login(0).request(MIN))
    probed = simulate(ServerSession(SLIDE_IDLE, SLIDE_ABSOLUTE), Scenario(duration=20 * MIN, step=1.0).login(0).request(MIN))
    assert probed.requests == quiet.requests
    assert probed.death("user session") == MIN + SLIDE_IDLE.total_seconds()


def test_a_refresh_probe_agrees_with_the_real_rotation() -> None:
    approach = RefreshRotation(timedelta(minutes=5))
    with time_machine.travel(START, tick=False) as clock:
        first = approach.login("alice")
        assert approach.probe("refresh", first["refresh"])
        assert approach.probe("refresh", first["refresh"]), "probing twice does not rotate"
        clock.shift(timedelta(minutes=5))
        second, _ = approach.request(first)  # expired access: the client rotates
        assert not approach.probe("refresh", first["refresh"])
        assert approach.probe("refresh", second["refresh"])
        with pytest.raises(TokenError) as refused:
            approach.service.refresh(first["refresh"])  # really present the old one: reuse detected
        assert refused.value.reason == "reused"
        assert not approach.probe("refresh", second["refresh"]), "the whole family died, as the probe now says"


def test_a_refresh_probe_sees_logout_and_family_expiry() -> None:
    approach = RefreshRotation(timedelta(minutes=5), refresh_ttl=timedelta(hours=1))
    with time_machine.travel(START, tick=False) as clock:
        held = approach.login("alice")
        approach.logout(held)
        assert not approach.probe("refresh", held["refresh"])
        other = approach.login("alice")
        clock.shift(timedelta(hours=1))
        assert not approach.probe("refresh", other["refresh"])


# --- figure 2: exposure against access-token lifetime -------------------------------------------

def test_exposure_is_seeded_and_bounded_by_the_lifetime_plus_one_step() -> None:
    first = exposure_windows((5, 15), samples=40, seed=3, step=10.0)
    assert first == exposure_windows((5, 15), samples=40, seed=3, step=10.0)
    for minutes, windows in first.items():
        assert len(windows) == 40
        assert all(0 < w <= minutes * MIN + 10.0 for w in windows)
    assert sum(first[15]) / 40 > 2 * sum(first[5]) / 40, "three times the lifetime, about three times the mean"


def test_every_lifetime_is_measured_on_the_same_logout_moments() -> None:
    """The same fractions of the life: a 15-minute token's rest is three times a 5-minute one's, to one step."""
    step = 10.0
    windows = exposure_windows((5, 15), samples=30, seed=11, step=step)
    for short, long in zip(windows[5], windows[15]):
        assert abs(long - 3 * short) < 3 * step


@pytest.mark.parametrize(("lifetime", "step"), [(900.0, 10.0), (300.0, 30.0), (900.0, 7.0), (60.0, 60.0)])
def test_the_theory_mean_is_the_rest_of_the_life_rounded_up_to_a_probe(lifetime: float, step: float) -> None:
    """Checked against the average over a fine grid of logout moments, rounded up the way the probes see it."""
    grid = 200_000
    measured = sum(math.ceil((lifetime - lifetime * (i + 0.5) / grid) / step) * step for i in range(grid)) / grid
    assert expected_window(lifetime, step) == pytest.approx(measured, rel=1e-4)
    if lifetime % step == 0:
        assert expected_window(lifetime, step) == (lifetime + step) / 2


def test_a_mean_interval_is_mean_plus_or_minus_z_standard_errors() -> None:
    interval = mean_interval([1.0, 2.0, 3.0, 4.0], confidence=0.95)
    half = 1.959964 * statistics.stdev([1.0, 2.0, 3.0, 4.0]) / 2
    assert interval.mean == 2.5
    assert (interval.low, interval.high) == pytest.approx((2.5 - half, 2.5 + half))
    assert 2.5 + half * 0.99 in interval and 2.5 + half * 1.01 not in interval
    with pytest.raises(ValueError):
        mean_interval([1.0])


def test_the_exposure_summary_puts_the_theory_inside_the_measured_interval() -> None:
    windows = exposure_windows((5,), samples=60, seed=7, step=10.0)
    (summary,) = exposure_summary(windows, step=10.0)
    assert summary.samples == 60 and summary.theory == 155.0
    assert summary.theory in summary.mean
    assert summary.median <= summary.p90 <= summary.worst == max(windows[5])


# --- figure 3: sliding expiration ---------------------------------------------------------------

def test_idle_and_absolute_deaths_happen_at_the_configured_times() -> None:
    idle, absolute = sliding_timelines(step=1.0)
    last_request = 7 * MIN
    assert idle.death("user session") == last_request + SLIDE_IDLE.total_seconds()
    assert [r.reason for r in idle.requests if not r.accepted] == ["idle_timeout"]
    assert absolute.death("user session") == SLIDE_ABSOLUTE.total_seconds()
    assert {r.reason for r in absolute.requests if not r.accepted} == {"absolute_timeout"}
    for record in absolute.requests:
        if record.accepted:
            assert record.idle_deadline == record.at + SLIDE_IDLE.total_seconds()
            assert record.absolute_deadline == SLIDE_ABSOLUTE.total_seconds()


# --- figure 4: write amplification --------------------------------------------------------------

def test_the_half_window_policy_writes_less_and_lags_by_at_most_half_the_idle_window() -> None:
    costs = {(c.policy, c.gap): c for c in slide_costs((10, 60, 300), requests=300)}
    half_idle = 15 * MIN
    for gap in (10, 60, 300):
        always, half = costs["always", gap], costs["half", gap]
        assert always.writes == always.requests == 300 and always.earliest == 0
        assert half.writes == 300 // math.ceil(half_idle / gap)
        assert half.writes < always.writes
        assert 0 < half.earliest < half_idle


# --- scenarios ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("build", "message"), [
    (lambda s: s.at(0, "dance"), "unknown event"),
    (lambda s: s.login(0).steal("refresh", 1), "no"),
])
def test_bad_scenarios_are_refused(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate(StatelessJWT(), build(Scenario(duration=10, step=1)))


def test_the_probe_grid_includes_both_ends() -> None:
    assert Scenario(duration=10, step=2.5, probe_from=5).probe_times() == [5.0, 7.5, 10.0]
    assert Scenario(duration=10, step=None).probe_times() == []


# --- the same story on a real server, in real (short) time ----------------------------------------

def test_the_scaled_story_gives_the_same_windows_on_either_backend(redis_client) -> None:
    """A real server's clock cannot be moved: the story is scaled to seconds and waited out."""
    approaches = [GuardedJWT("denylist", client=redis_client), GuardedJWT("version", client=redis_client),
                  RefreshRotation(client=redis_client), ServerSession(client=redis_client)]
    for approach in approaches:
        scenario = Scenario(duration=0.6, step=0.1).login(0).request(0.1).steal("all", 0.2).logout(0.3)
        timeline = simulate(approach, scenario, clock=RealClock())
        for label in (k for k in timeline.series if k.startswith("stolen")):
            if label != "stolen access" or not isinstance(approach, RefreshRotation):
                # refused at the first probe after the logout (probes 0.1 s apart; on the wall clock they run late)
                assert timeline.revocation_window(label) < 0.1, (approach.name, label)


def test_idle_and_absolute_timeouts_on_either_backend_in_real_time(redis_client) -> None:
    idle = ServerSession(timedelta(seconds=0.5), timedelta(seconds=1.2), client=redis_client)
    scenario = Scenario(duration=1.5, step=0.05).login(0).requests([0.2, 0.4])
    died = simulate(idle, scenario, clock=RealClock()).death("user session")
    assert died is not None and 0.9 <= died <= 1.1  # last request 0.4 s + idle 0.5 s
    steady = Scenario(duration=1.6, step=0.05).login(0).requests([0.3 * i for i in range(1, 6)])
    died = simulate(idle, steady, clock=RealClock()).death("user session")
    assert died is not None and 1.2 <= died <= 1.4  # the absolute timeout, whatever the requests


def test_the_cost_rows_count_round_trips_on_a_real_server_and_time_every_check(redis_server) -> None:
    """Figure 5's rows: round trips counted by the server, and a ratio to the HS256 verify for every other check."""
    costs = request_costs(redis_server.client(), rounds=2, target=0.001)
    assert [c.label for c in costs] == [label for label, _, _ in request_checks()]
    assert [c.round_trips for c in costs] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert costs[0].cost is None, "the HS256 verify is the anchor"
    for item in costs[1:]:
        assert item.backend == "redis-server" and item.cost.anchor == "HS256 verify"
        assert len(item.cost.ratios) == 2 and item.cost.ratio > 0 and item.cost.seconds > 0
    assert all(c.cost.server_seconds > 0 for c in costs[4:]), "the lookups cost the server CPU too"


def test_without_a_redis_server_the_costs_run_on_fakeredis_and_count_nothing(monkeypatch) -> None:
    def no_binary(*args, **kwargs):
        raise FileNotFoundError("redis-server is not installed")

    monkeypatch.setattr(experiments, "LocalRedisServer", no_binary)
    costs = request_costs(rounds=2, target=0.001)
    assert {c.backend for c in costs} == {"fakeredis"}
    assert [c.round_trips for c in costs] == [None] * 8
    assert all(c.cost.ratio > 0 for c in costs[1:])
