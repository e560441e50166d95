"""Redis round trips per token operation, counted by a real server (MONITOR); make bench reports the same counts."""

from __future__ import annotations

import pytest
import redis

from authkit.state.redis import count_round_trips
from authkit.state.refresh import GRACE, RefreshFamilies, TokenService
from authkit.state.revocation import STRATEGIES, AccessGuard, RevocationStore
from authkit.tokens.issuer import TokenIssuer, TokenVerifier

pytestmark = pytest.mark.real_redis


@pytest.fixture
def service(real_redis: redis.Redis, issuer: TokenIssuer, verifier: TokenVerifier) -> TokenService:
    families = RefreshFamilies(real_redis)
    families.load_scripts()
    guard = AccessGuard(verifier, "denylist+version", RevocationStore(real_redis))
    return TokenService(issuer, verifier, families, guard)


def test_login_is_one_evalsha(real_redis: redis.Redis, service: TokenService) -> None:
    with count_round_trips(real_redis) as log:
        service.login("alice")
    assert [c.split()[0] for c in log.commands] == ["EVALSHA"]


def test_refresh_is_one_evalsha_in_steady_state(real_redis: redis.Redis, service: TokenService) -> None:
    pair = service.refresh(service.login("alice").refresh_token)
    with count_round_trips(real_redis) as log:
        service.refresh(pair.refresh_token)
    assert [c.split()[0] for c in log.commands] == ["EVALSHA"], log.commands


@pytest.mark.parametrize(("name", "expected"), [("stateless", []), ("denylist", ["MGET"]), ("version", ["MGET"]),
                                                ("denylist+version", ["MGET"])])
def test_verify_costs_at_most_one_round_trip(real_redis: redis.Redis, service: TokenService, name: str,
                                             expected: list[str]) -> None:
    guard = AccessGuard(service.verifier, name, RevocationStore(real_redis))
    token = service.login("alice").access_token
    with count_round_trips(real_redis) as log:
        guard.check(token)
    assert [c.split()[0] for c in log.commands] == expected
    assert log.round_trips == STRATEGIES[name].round_trips


def test_denylist_and_version_are_read_together(real_redis: redis.Redis, service: TokenService) -> None:
    claims = service.guard.check(service.login("alice").access_token)
    with count_round_trips(real_redis) as log:
        service.guard.check(service.login("alice").access_token)
    assert log.commands[-1].startswith("MGET authkit:deny:{alice}:https://auth.example:")
    assert " authkit:rtgone:{alice}:" in log.commands[-1], "the family's revoked marker, in the same MGET"
    assert log.commands[-1].endswith(" authkit:ver:{alice}")
    assert claims["ver"] == 0


def test_logout_everywhere_is_one_increment(real_redis: redis.Redis, service: TokenService) -> None:
    with count_round_trips(real_redis) as log:
        service.logout_all("alice")
    assert [c.split()[0] for c in log.commands] == ["INCRBY"]  # redis-py sends INCR as INCRBY 1


def test_the_durability_check_costs_one_eval_on_a_new_connection_only(real_redis: redis.Redis,
                                                                     service: TokenService) -> None:
    token = service.login("alice").access_token
    real_redis.connection_pool.disconnect()  # the fixture's FLUSHALL deleted the marker: this puts it back
    service.guard.check(token)
    with count_round_trips(real_redis) as steady:
        service.guard.check(token)
    with count_round_trips(real_redis) as fresh:
        real_redis.connection_pool.disconnect()
        service.guard.check(token)
    assert [c.split()[0] for c in steady.commands] == ["MGET"]
    assert [c.split()[0] for c in fresh.commands] == ["HELLO", "EVAL", "MGET"]  # HELLO: redis-py's handshake


def test_with_a_grace_a_refresh_and_its_repeat_are_one_evalsha_each(real_redis: redis.Redis,
                                                                    service: TokenService) -> None:
    families = RefreshFamilies(real_redis, grace=GRACE)
    graced = TokenService(service.issuer, service.verifier, families, service.guard)
    token = graced.login("alice").refresh_token
    with count_round_trips(real_redis) as first:
        graced.refresh(token)
    with count_round_trips(real_redis) as repeat:
        graced.refresh(token)
    assert [c.split()[0] for c in first.commands + repeat.commands] == ["EVALSHA", "EVALSHA"]


def test_listing_and_ending_logins_are_one_evalsha_each(real_redis: redis.Redis, service: TokenService) -> None:
    service.families.load_scripts()
    service.login("alice", device="a phone")
    with count_round_trips(real_redis) as listed:
        (only,) = service.logins("alice")
    with count_round_trips(real_redis) as ended:
        assert service.end_login("alice", only.id)
    assert [c.split()[0] for c in listed.commands + ended.commands] == ["EVALSHA", "EVALSHA"]
