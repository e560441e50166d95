"""Key rotation across the refresh lifetime: nobody is logged out, and a retired key's tokens die only at expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from authkit.study.rotation import Check, RotationTimeline, simulate_rotation

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


@pytest.fixture(scope="module")
def own_keys() -> RotationTimeline:
    return simulate_rotation()


@pytest.fixture(scope="module")
def shared_keys() -> RotationTimeline:
    return simulate_rotation(own_refresh_keys=False)


def events(timeline: RotationTimeline) -> list[tuple[timedelta, str, str, str]]:
    return [(e.at, e.role, e.kid, e.action) for e in timeline.key_events]


def at(timeline: RotationTimeline, when: timedelta, user: str, kind: str) -> Check:
    return next(c for c in timeline.checks if (c.at, c.user, c.kind) == (when, user, kind))


def test_with_their_own_key_set_both_keys_rotate_and_nobody_is_logged_out(own_keys: RotationTimeline) -> None:
    assert events(own_keys) == [
        (DAY, "access", "access-2", "added"),
        (DAY + HOUR, "access", "access-2", "promoted"),
        (DAY + HOUR + timedelta(minutes=15), "access", "access-1", "retired"),  # its last token just expired
        (2 * DAY, "refresh", "refresh-2", "promoted"),
        (2 * DAY, "refresh", "refresh-1", "retire refused"),  # alice's refresh token of this morning lives on
        (16 * DAY, "refresh", "refresh-1", "retired"),  # the first check after that token expired
    ]
    assert own_keys.logged_out() == []
    assert len(own_keys.checks) == 3 * 2 * (17 * 4 + 1)


def test_a_user_idle_for_13_days_comes_back_on_a_refresh_token_of_the_old_key(own_keys: RotationTimeline) -> None:
    before = at(own_keys, 13 * DAY - 6 * HOUR, "bob", "refresh")
    assert (before.kid, before.outcome, before.live) == ("refresh-1", "accepted", True)
    after = at(own_keys, 13 * DAY, "bob", "refresh")
    assert (after.kid, after.outcome) == ("refresh-2", "accepted")
    assert at(own_keys, 13 * DAY, "bob", "access").kid == "access-2"


def test_a_retired_keys_tokens_stop_only_when_they_would_have_expired_anyway(own_keys: RotationTimeline) -> None:
    carol = [c for c in own_keys.checks if c.user == "carol" and c.kind == "refresh"]
    assert {c.outcome for c in carol if c.at < 14 * DAY} == {"accepted"}
    assert at(own_keys, 14 * DAY, "carol", "refresh").outcome == "expired"
    assert at(own_keys, 16 * DAY, "carol", "refresh").outcome == "unknown_key"  # key retired, token long dead
    refused = [c for c in own_keys.checks if c.outcome != "accepted"]
    assert refused and all(not c.live for c in refused)
    assert {c.kid for c in refused if c.outcome == "unknown_key"} == {"access-1", "refresh-1"}


def test_alice_refreshes_through_both_rotations(own_keys: RotationTimeline) -> None:
    kids = [(c.at, c.kid) for c in own_keys.checks if c.user == "alice" and c.kind == "refresh" and c.at.seconds == 0]
    assert [kid for when, kid in kids if when <= 2 * DAY] == ["refresh-1", "refresh-1", "refresh-1"]
    assert {kid for when, kid in kids if when > 2 * DAY} == {"refresh-2"}
    assert {c.outcome for c in own_keys.checks if c.user == "alice" and c.kind == "refresh"} == {"accepted"}


def test_with_one_shared_key_set_the_old_key_waits_for_its_refresh_tokens(shared_keys: RotationTimeline) -> None:
    """The default (no refresh_keys): the retire guard keeps the key 14 days, so nobody is logged out either."""
    assert events(shared_keys)[2:] == [
        (DAY + HOUR + timedelta(minutes=15), "access", "access-1", "retire refused"),
        (15 * DAY, "access", "access-1", "retired"),  # alice's refresh token of day 1 expired
    ]
    assert "tokens_live" in shared_keys.key_events[2].detail
    assert shared_keys.logged_out() == []


def test_forcing_the_early_retirement_logs_everyone_out() -> None:
    """What the guard prevents: retiring the shared key at day 1 kills every refresh token it signed."""
    forced = simulate_rotation(own_refresh_keys=False, force_retire=True)
    assert {(c.user, c.kind, c.outcome) for c in forced.logged_out()} == {
        ("alice", "refresh", "unknown_key"), ("bob", "refresh", "unknown_key"), ("carol", "refresh", "unknown_key"),
    }
    assert at(forced, 13 * DAY, "bob", "refresh").outcome == "unknown_key"  # bob came back: logged out


# --- retiring across workers: the per-process guard is blind to other workers' tokens; the rule is not -------


def test_retiring_across_workers_is_safe_only_by_the_demotion_rule(tmp_path) -> None:
    """Two workers load one key file. Worker A signs a 14-day refresh token; worker B signed nothing with the
    old key, so B's own guard lets it retire the key at once and A's user is logged out. ``retirable_at`` (the
    rule: demoted, every worker restarted, then the longest lifetime) keeps it until that token has expired."""
    import time_machine
    from datetime import datetime, timezone

    from authkit.config import load_key_file, write_key_file
    from authkit.errors import KeyRetirementError, TokenError
    from authkit.tokens.issuer import REFRESH_TTL, TokenIssuer, TokenVerifier
    from authkit.tokens.keys import SigningKey, retirable_at

    t0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
    old, new = SigningKey.generate("EdDSA", kid="old"), SigningKey.generate("EdDSA", kid="new")
    write_key_file(tmp_path / "v1.jwks", old, new)
    write_key_file(tmp_path / "v2.jwks", new, old)  # the rotation: new signs, old only verifies
    with time_machine.travel(t0, tick=False) as clock:
        worker_a, worker_b = load_key_file(tmp_path / "v1.jwks"), load_key_file(tmp_path / "v1.jwks")
        refresh = TokenIssuer(worker_a, issuer="iss", audience="aud").issue_refresh("alice")
        worker_a.promote("new")
        with pytest.raises(KeyRetirementError):  # A's guard knows its own token
            worker_a.retire("old")
        clock.shift(3600)  # every worker restarts on v2: "old" is demoted now
        demoted_at = t0.timestamp() + 3600
        worker_a, worker_b = load_key_file(tmp_path / "v2.jwks"), load_key_file(tmp_path / "v2.jwks")
        worker_b.retire("old")  # the per-process guard cannot see A's token: it allows this
        with pytest.raises(TokenError) as lost:
            TokenVerifier(worker_b, issuer="iss", audience="aud").verify_refresh(refresh)
        assert lost.value.reason == "unknown_key"  # alice would be logged out by B
        when = retirable_at(demoted_at, REFRESH_TTL)
        assert when >= t0.timestamp() + REFRESH_TTL.total_seconds()  # after every token old could have signed
        clock.move_to(t0 + REFRESH_TTL - timedelta(seconds=1))  # the token's last second, before the rule's time
        assert (t0 + REFRESH_TTL).timestamp() < when and "old" in worker_a
        assert TokenVerifier(worker_a, issuer="iss", audience="aud").verify_refresh(refresh)["sub"] == "alice"
