"""authkit.state.refresh: rotation, families, reuse detection and lifetimes — the contract on both backends."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Iterator

import pytest
import redis
import time_machine
from redis.crc import key_slot

from authkit.errors import StoreUnavailable, TokenError
from authkit.tokens.keys import KeySet, SigningKey
from authkit.state.redis import connect, free_port
from authkit.state.refresh import CONFIDENTIAL, PUBLIC, NaiveRotation, RefreshFamilies, TokenService, unseal
from authkit.state.revocation import (
    DENYLIST_AND_VERSION,
    AccessGuard,
    RevocationStore,
    version_key,
)
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from tests.conftest import refused
from tests.jwt_forge import AUDIENCE, ISSUER


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Frozen at the real present, so that a real server's key expiry stays in the future."""
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


def make_service(client: redis.Redis, *, alg: str = "EdDSA", **family_options) -> TokenService:
    keys = KeySet(SigningKey.generate(alg, kid="k1"))
    issuer = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    guard = AccessGuard(verifier, DENYLIST_AND_VERSION, RevocationStore(client))
    return TokenService(issuer, verifier, RefreshFamilies(client, **family_options), guard)


@pytest.fixture
def service(redis_client: redis.Redis) -> TokenService:
    return make_service(redis_client)



def family_of(service: TokenService, refresh_token: str) -> str:
    return service.verifier.verify_refresh(refresh_token)["fam"]


def test_every_refresh_returns_a_new_pair_and_spends_the_old_token(service: TokenService) -> None:
    first = service.login("alice", scope="read")
    second = service.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert family_of(service, second.refresh_token) == family_of(service, first.refresh_token)
    claims = service.guard.check(second.access_token)
    assert (claims["sub"], claims["scope"], claims["ver"]) == ("alice", "read", 0)
    assert claims["fam"] == family_of(service, first.refresh_token)
    assert second.as_json()["token_type"] == "Bearer" and second.expires_in == 900


def test_reuse_of_a_rotated_token_kills_the_whole_family(service: TokenService) -> None:
    stolen = service.login("alice")
    newest = service.refresh(stolen.refresh_token)  # the legitimate client rotates first
    assert refused(service.refresh, stolen.refresh_token) == "reused"  # the attacker replays
    assert refused(service.refresh, newest.refresh_token) == "revoked"  # and the newest token dies too
    state = service.families.state("alice", family_of(service, stolen.refresh_token))
    assert state["state"] == "revoked"


def test_reuse_is_detected_whichever_side_comes_back_first(service: TokenService) -> None:
    stolen = service.login("alice")
    by_attacker = service.refresh(stolen.refresh_token)  # the attacker rotates first this time
    assert refused(service.refresh, stolen.refresh_token) == "reused"  # the victim's refresh trips it
    assert refused(service.refresh, by_attacker.refresh_token) == "revoked"


def test_other_families_survive_a_reuse(service: TokenService) -> None:
    laptop, phone = service.login("alice"), service.login("alice")
    service.refresh(laptop.refresh_token)
    refused(service.refresh, laptop.refresh_token)
    assert service.refresh(phone.refresh_token).access_token


def test_an_access_token_cannot_refresh(service: TokenService) -> None:
    pair = service.login("alice")
    assert refused(service.refresh, pair.access_token) == "wrong_type"


def test_a_refresh_token_without_family_is_refused(service: TokenService) -> None:
    orphan = service.issuer.issue_refresh("alice")
    assert refused(service.refresh, orphan) == "missing_claim"


def test_within_the_grace_every_repeat_gets_the_same_successor(redis_client: redis.Redis, clock) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30))
    first = service.login("alice", scope="read")
    lost = service.refresh(first.refresh_token)  # say the response never reached the client
    clock.shift(timedelta(seconds=10))
    retried = service.refresh(first.refresh_token)  # the retry inside the grace is not a reuse...
    assert retried.refresh_token == lost.refresh_token  # ...and gets the very token it missed
    assert service.guard.check(retried.access_token)["scope"] == "read"
    assert service.refresh(retried.refresh_token).access_token, "the login lives on"


def test_after_the_grace_a_repeat_is_reuse_again(redis_client: redis.Redis, clock) -> None:
    service = make_service(redis_client, grace=timedelta(milliseconds=300))
    first = service.login("alice")
    newest = service.refresh(first.refresh_token)
    clock.shift(timedelta(seconds=1))  # fakeredis's TIME follows this clock...
    time.sleep(0.35)  # ...a real server's, the real one: the grace is timed by Redis
    assert refused(service.refresh, first.refresh_token) == "reused"
    assert refused(service.refresh, newest.refresh_token) == "revoked"


def test_a_repeat_does_not_rotate_again(redis_client: redis.Redis) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30))
    first = service.login("alice")
    family = family_of(service, first.refresh_token)
    successor = service.refresh(first.refresh_token)
    before = service.families.state("alice", family)
    assert service.refresh(first.refresh_token).refresh_token == successor.refresh_token
    after = service.families.state("alice", family)
    assert (after.pop("rep"), before.pop("rep")) == ("1", "0"), "the repeat is counted"
    assert after == before


def test_only_the_token_rotated_last_has_a_grace(redis_client: redis.Redis) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30))
    first = service.login("alice")
    second = service.refresh(first.refresh_token)
    service.refresh(second.refresh_token)
    assert refused(service.refresh, first.refresh_token) == "reused", "two rotations ago: a copy someone kept"


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_the_repeat_gets_the_same_bytes_even_with_randomized_signatures(redis_client: redis.Redis, alg: str) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30), alg=alg)
    first = service.login("alice")
    assert service.refresh(first.refresh_token).refresh_token == service.refresh(first.refresh_token).refresh_token


def test_redis_holds_no_usable_successor(redis_client: redis.Redis) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30))
    first = service.login("alice")
    successor = service.refresh(first.refresh_token).refresh_token
    family = family_of(service, first.refresh_token)
    stored = redis_client.get(service.families.successor_key("alice", family))
    assert stored and successor not in stored and successor.split(".")[1] not in stored
    assert 29_000 < redis_client.pttl(service.families.successor_key("alice", family)) <= 30_000
    jti = service.verifier.verify_refresh(first.refresh_token)["jti"]
    assert unseal(stored, first.refresh_token, jti) == successor  # only the presented token opens it
    other = service.login("alice").refresh_token
    with pytest.raises(TokenError) as wrong:
        unseal(stored, other, jti)
    assert wrong.value.reason == "reused"


def test_logout_drops_the_sealed_successor(redis_client: redis.Redis) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30))
    first = service.login("alice")
    pair = service.refresh(first.refresh_token)
    service.logout(service.guard.check(pair.access_token))
    assert redis_client.exists(service.families.successor_key("alice", family_of(service, first.refresh_token))) == 0
    assert refused(service.refresh, first.refresh_token) == "revoked"


@pytest.mark.parametrize("grace", [timedelta(seconds=-1), timedelta(days=14)])
def test_the_grace_is_shorter_than_the_idle_lifetime(redis_client: redis.Redis, grace: timedelta) -> None:
    with pytest.raises(ValueError, match="grace"):
        RefreshFamilies(redis_client, grace=grace)


def test_no_grace_by_default(service: TokenService) -> None:
    first = service.login("alice")
    service.refresh(first.refresh_token)
    assert refused(service.refresh, first.refresh_token) == "reused"


def test_idle_lifetime_ends_an_unused_family(redis_client: redis.Redis, clock) -> None:
    service = make_service(redis_client, idle=timedelta(hours=1), absolute=timedelta(hours=3), kind=CONFIDENTIAL)
    pair = service.login("alice")
    clock.shift(timedelta(minutes=59))
    pair = service.refresh(pair.refresh_token)  # used in time: the idle clock restarts
    clock.shift(timedelta(minutes=59))
    pair = service.refresh(pair.refresh_token)
    clock.shift(timedelta(hours=1, seconds=1))
    assert refused(service.refresh, pair.refresh_token) == "expired"


def test_absolute_lifetime_ends_even_an_active_family(redis_client: redis.Redis, clock) -> None:
    service = make_service(redis_client, idle=timedelta(hours=1), absolute=timedelta(hours=3), kind=CONFIDENTIAL)
    pair = service.login("alice")
    for _ in range(3):
        clock.shift(timedelta(minutes=50))
        pair = service.refresh(pair.refresh_token)
    clock.shift(timedelta(minutes=31))  # 3 h 01 min after login, last used 31 min ago
    assert refused(service.refresh, pair.refresh_token) == "expired"


def test_family_key_lives_no_longer_than_its_lifetimes(redis_client: redis.Redis) -> None:
    service = make_service(redis_client, idle=timedelta(hours=1), absolute=timedelta(hours=3))
    pair = service.login("alice")
    ttl = redis_client.pttl(service.families.key("alice", family_of(service, pair.refresh_token)))
    assert 3_590_000 < ttl <= 3_600_000


def test_logout_revokes_the_family(service: TokenService) -> None:
    pair = service.login("alice")
    service.logout(service.guard.check(pair.access_token))
    assert refused(service.refresh, pair.refresh_token) == "revoked"
    assert refused(service.guard.check, pair.access_token) == "revoked"
    assert service.families.revoke("alice", "no-such-family") is False


def test_logout_everywhere_kills_every_family_of_that_user_only(service: TokenService) -> None:
    laptop, phone, bob = service.login("alice"), service.login("alice"), service.login("bob")
    assert service.logout_all("alice") == 1
    assert refused(service.refresh, laptop.refresh_token) == "revoked"
    assert refused(service.refresh, phone.refresh_token) == "revoked"
    assert service.refresh(bob.refresh_token).access_token
    again = service.login("alice")
    assert service.guard.check(service.refresh(again.refresh_token).access_token)["ver"] == 1


def test_keys_touched_together_share_one_cluster_slot(service: TokenService) -> None:
    family_key = service.families.key("u42", "some-family")
    assert family_key == "authkit:rt:{u42}:some-family"
    assert key_slot(family_key.encode()) == key_slot(version_key("u42").encode())


def test_naive_rotation_loses_when_two_clients_interleave(redis_client: redis.Redis) -> None:
    families = RefreshFamilies(redis_client)
    families.start("alice", "fam", "t1")
    naive = NaiveRotation(families)
    seen_by_a, seen_by_b = naive.read("alice", "fam"), naive.read("alice", "fam")  # both GET first
    naive.write("alice", "fam", "t2-for-a")
    naive.write("alice", "fam", "t2-for-b")
    assert seen_by_a == seen_by_b == "t1", "both clients believed they held the current token: two winners"
    families.start("alice", "fam2", "t1")
    families.rotate("alice", "fam2", "t1", "t2-for-a")
    assert refused(families.rotate, "alice", "fam2", "t1", "t2-for-b") == "reused"


def test_naive_rotation_is_correct_when_nobody_races(redis_client: redis.Redis) -> None:
    families = RefreshFamilies(redis_client)
    families.start("alice", "fam", "t1")
    naive = NaiveRotation(families)
    assert naive.rotate("alice", "fam", "t1", "t2") is True
    assert naive.rotate("alice", "fam", "t1", "t3") is False


def test_scripts_survive_a_script_flush(redis_client: redis.Redis) -> None:
    families = RefreshFamilies(redis_client)
    families.load_scripts()
    redis_client.script_flush()
    families.start("alice", "fam", "t1")  # NOSCRIPT is handled by loading again
    assert families.rotate("alice", "fam", "t1", "t2").version == 0


def test_unreachable_redis_fails_closed() -> None:
    service = make_service(connect(f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(StoreUnavailable):
        service.login("alice")
    refresh_token = service.issuer.issue_refresh("alice", claims={"fam": "f"})
    with pytest.raises(StoreUnavailable):
        service.refresh(refresh_token)


def test_the_course_model_of_the_script_agrees_with_the_script(fake_redis: redis.Redis) -> None:
    """Notebook 04's plain-Python rule (the exercise's reference) decides exactly as the Lua script does.

    With one clock, as the model has: fakeredis's TIME follows the travelled clock, to the millisecond.
    """
    redis_client = fake_redis
    from authkit.course.exercises.nb04 import (
        HOUR,
        ROTATION_CASES,
        rotation_outcome,
    )
    from authkit.state.refresh import ROTATE_SCRIPT

    script = redis_client.register_script(ROTATE_SCRIPT)
    for number, (family, presented, now_ms, options) in enumerate(ROTATION_CASES):
        key = f"authkit:rt:{{alice}}:case-{number}"
        if family:
            redis_client.hset(key, mapping={**family, "ver": "0", "scope": ""})
            redis_client.set(f"{key}:next", "sealed")  # what the rotation to `cur` left for its grace
        args = [presented, "new", "sealed", now_ms, HOUR, options.get("grace_ms", 0), 3, 60_000]
        with time_machine.travel(now_ms / 1000, tick=False):
            decided = script(keys=[key, version_key("alice"), f"{key}:next", f"{key}:gone"], args=args)[0]
        expected = rotation_outcome(family, presented, now_ms, idle_ms=HOUR, **options)
        assert decided == expected, (number, family, presented, now_ms, options)


def test_a_subject_that_cannot_name_keys_is_a_malformed_token(service: TokenService) -> None:
    braces = service.issuer.issue_refresh("a{b}", claims={"fam": "f"})
    assert refused(service.refresh, braces) == "malformed"
    with pytest.raises(ValueError):
        service.login("a{b}")


# --- lifetime per kind of client, scope from the user's roles, bounded grace, one clock --------------


def test_by_default_a_family_ends_when_its_first_token_would_have(redis_client: redis.Redis, clock) -> None:
    """A browser (public) client: rotation never stretches the login past the first token's lifetime."""
    service = make_service(redis_client, idle=timedelta(hours=1), absolute=timedelta(hours=3))
    pair = service.login("alice")
    for _ in range(2):
        clock.shift(timedelta(minutes=25))
        pair = service.refresh(pair.refresh_token)  # used every 25 minutes: never idle
    clock.shift(timedelta(minutes=10, seconds=1))  # 1 h 00 min 01 s after login
    assert refused(service.refresh, pair.refresh_token) == "expired"
    assert service.families.kind == PUBLIC


def test_a_confidential_family_slides_but_not_past_its_cap(redis_client: redis.Redis, clock) -> None:
    service = make_service(redis_client, idle=timedelta(hours=1), absolute=timedelta(hours=3), kind=CONFIDENTIAL)
    pair = service.login("alice")
    clock.shift(timedelta(minutes=50))
    pair = service.refresh(pair.refresh_token)
    clock.shift(timedelta(minutes=50))  # 1 h 40 min after login: alive, the idle lifetime slid
    assert service.refresh(pair.refresh_token).access_token


def test_a_refresh_takes_the_scope_the_user_has_now(redis_client: redis.Redis) -> None:
    roles = {"root": "read admin"}
    service = make_service(redis_client)
    service.scopes = roles.get
    pair = service.login("root")
    assert pair.scope == "read admin"
    roles["root"] = "read"  # demoted: the next access token says so
    pair = service.refresh(pair.refresh_token)
    assert (pair.scope, service.guard.check(pair.access_token)["scope"]) == ("read", "read")
    del roles["root"]  # and an account that is gone refreshes no more
    assert refused(service.refresh, pair.refresh_token) == "revoked"
    assert refused(service.guard.check, pair.access_token) == "revoked"


def test_logout_refuses_the_access_tokens_a_repeat_handed_out(redis_client: redis.Redis) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30))
    first = service.login("alice")
    rotated, repeated = service.refresh(first.refresh_token), service.refresh(first.refresh_token)
    assert rotated.access_token != repeated.access_token
    service.logout(service.guard.check(rotated.access_token))
    assert refused(service.guard.check, repeated.access_token) == "revoked"
    assert refused(service.guard.check, first.access_token) == "revoked"


def test_repeats_beyond_the_bound_are_a_reuse(redis_client: redis.Redis) -> None:
    service = make_service(redis_client, grace=timedelta(seconds=30), grace_repeats=2)
    first = service.login("alice")
    pairs = [service.refresh(first.refresh_token) for _ in range(3)]  # the rotation, then 2 repeats
    assert len({pair.refresh_token for pair in pairs}) == 1
    assert refused(service.refresh, first.refresh_token) == "reused"
    assert [refused(service.guard.check, pair.access_token) for pair in pairs] == ["revoked"] * 3


@pytest.mark.real_redis
def test_a_service_clock_behind_redis_by_more_than_the_grace_revokes_nothing(real_redis: redis.Redis) -> None:
    """The sealed successor's expiry and the grace are both on Redis's clock, whatever the service's says."""
    service = make_service(real_redis, grace=timedelta(seconds=10))
    with time_machine.travel(time.time() - 60, tick=True):  # this service's clock is a minute late
        first = service.login("alice")
        rotated = service.refresh(first.refresh_token)
        assert service.refresh(first.refresh_token).refresh_token == rotated.refresh_token, "a retry, not a reuse"
        assert service.refresh(rotated.refresh_token).access_token


@pytest.mark.real_redis
def test_a_retry_through_a_service_whose_clock_is_ahead_revokes_nothing(real_redis: redis.Redis) -> None:
    """One service rotates; the retry reaches another whose clock is a minute ahead, past the grace by its own."""
    right = make_service(real_redis, grace=timedelta(seconds=10))
    ahead = TokenService(right.issuer, right.verifier, RefreshFamilies(real_redis, grace=timedelta(seconds=10)),
                         right.guard)
    first = right.login("alice")
    rotated = right.refresh(first.refresh_token)
    with time_machine.travel(time.time() + 60, tick=True):
        assert ahead.refresh(first.refresh_token).refresh_token == rotated.refresh_token, "a retry, not a reuse"
    assert right.refresh(rotated.refresh_token).access_token, "the head is alive"


def test_logins_in_the_same_millisecond_end_oldest_first(redis_client: redis.Redis, clock) -> None:
    service = make_service(redis_client, max_logins=2)
    pairs = [service.login("alice", device=f"device {n}") for n in range(6)]  # the clock is frozen
    assert [login.device for login in service.logins("alice")] == ["device 4", "device 5"]
    assert [refused(service.refresh, pair.refresh_token) for pair in pairs[:4]] == ["revoked"] * 4
