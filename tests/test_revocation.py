"""authkit.state.revocation: denylist, token version, both in one round trip, or nothing — on both backends."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
import time_machine
from redis.crc import key_slot

from authkit.errors import StoreUnavailable
from authkit.state.redis import connect, free_port
from authkit.state.revocation import (
    DENYLIST,
    DENYLIST_AND_VERSION,
    STATELESS,
    STRATEGIES,
    VERSION,
    AccessGuard,
    RevocationStore,
    deny_key,
    user_tag,
    version_key,
)
from authkit.tokens.issuer import TokenVerifier
from tests.conftest import refused
from tests.jwt_forge import AUDIENCE, ISSUER

# (strategy, refused after logout of this token, refused after logout-everywhere)
OUTCOMES = [
    (STATELESS, False, False),
    (DENYLIST, True, False),
    (VERSION, False, True),
    (DENYLIST_AND_VERSION, True, True),
]


@pytest.mark.parametrize(("strategy", "after_logout", "after_logout_all"), OUTCOMES, ids=[s.name for s, *_ in OUTCOMES])
def test_what_each_strategy_can_revoke(redis_client, issuer, verifier, strategy, after_logout,
                                       after_logout_all) -> None:
    store = RevocationStore(redis_client)
    guard = AccessGuard(verifier, strategy, store)
    first, second = (issuer.issue_access("alice", claims={"ver": 0}) for _ in range(2))
    guard.revoke(guard.check(first))
    assert (refused(guard.check, first) == "revoked") if after_logout else guard.check(first)
    assert guard.check(second)["sub"] == "alice", "logout of one token leaves the others alone"
    assert guard.revoke_all("alice") == 1
    assert (refused(guard.check, second) == "revoked") if after_logout_all else guard.check(second)
    fresh = issuer.issue_access("alice", claims={"ver": store.version("alice")})
    assert guard.check(fresh)["ver"] == 1, "tokens issued after logout-everywhere carry the new version"


def test_version_is_per_user(redis_client, issuer, verifier) -> None:
    guard = AccessGuard(verifier, VERSION, RevocationStore(redis_client))
    bob = issuer.issue_access("bob", claims={"ver": 0})
    guard.revoke_all("alice")
    assert guard.check(bob)["sub"] == "bob"


def test_denylist_entry_expires_when_the_token_would(redis_client, issuer, verifier) -> None:
    store = RevocationStore(redis_client)
    claims = verifier.verify_access(issuer.issue_access("alice"))
    assert store.deny(claims) is True
    remaining_ms = redis_client.pttl(deny_key(claims))
    assert (claims["exp"] - time.time()) * 1000 - 2000 < remaining_ms <= (claims["exp"] - time.time()) * 1000 + 1000


def test_denylist_forgets_the_token_after_its_exp(fake_redis, issuer, verifier) -> None:
    store = RevocationStore(fake_redis)
    with time_machine.travel(time.time(), tick=False) as clock:
        claims = verifier.verify_access(issuer.issue_access("alice"))
        store.deny(claims)
        clock.shift(timedelta(minutes=15, seconds=1))
        assert fake_redis.exists(deny_key(claims)) == 0, "nothing to remember: the token is dead anyway"
        assert store.deny(claims) is False, "an expired token is not stored at all"


def test_denylist_outlives_the_verifiers_leeway(fake_redis, keys, issuer) -> None:
    """A lenient verifier accepts a token until exp + leeway: its denylist entry must last as long."""
    lenient = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway=timedelta(seconds=60))
    guard = AccessGuard(lenient, DENYLIST, RevocationStore(fake_redis))
    with time_machine.travel(time.time(), tick=False) as clock:
        logged_out = issuer.issue_access("alice")
        assert guard.revoke(guard.check(logged_out)) is True
        clock.shift(timedelta(minutes=15, seconds=30))  # past exp, inside the leeway
        assert lenient.verify_access(logged_out)["sub"] == "alice", "the leeway still accepts the token"
        assert refused(guard.check, logged_out) == "revoked", "the denylist must not forget it before then"
        late = issuer.issue_access("bob")
        clock.shift(timedelta(minutes=15, seconds=30))  # logged out inside the leeway window
        late_claims = guard.check(late)
        assert guard.revoke(late_claims) is True
        assert refused(guard.check, late) == "revoked"
        clock.shift(timedelta(seconds=31))  # exp + leeway has passed: expiry alone refuses it now
        assert refused(guard.check, late) == "expired"
        assert fake_redis.exists(deny_key(late_claims)) == 0, "and the entry is gone"


def test_denylist_key_is_named_by_issuer_and_jti_and_tagged_by_user() -> None:
    claims = {"iss": ISSUER, "sub": "u42", "jti": "abc"}
    assert deny_key(claims) == "authkit:deny:{u42}:https://auth.example:abc"
    assert key_slot(deny_key(claims).encode()) == key_slot(version_key("u42").encode())


@pytest.mark.parametrize("subject", ["", "a{b", "}", None, 42])
def test_subjects_that_would_break_the_hash_tag_are_refused(subject) -> None:
    with pytest.raises(ValueError):
        user_tag(subject)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [({"ver": "0"}, "missing_claim"), ({"ver": True}, "missing_claim"), ({}, "missing_claim"), ({"ver": 7}, "revoked")],
)
def test_version_claim_must_be_the_current_integer(redis_client, issuer, verifier, claims, reason) -> None:
    guard = AccessGuard(verifier, VERSION, RevocationStore(redis_client))
    assert refused(guard.check, issuer.issue_access("alice", claims=claims)) == reason


def test_invalid_tokens_are_refused_before_any_lookup(redis_client, verifier) -> None:
    guard = AccessGuard(verifier, DENYLIST_AND_VERSION, RevocationStore(redis_client))
    assert refused(guard.check, "not.a.token") == "malformed"


def test_strategies_by_name_and_their_round_trips(verifier) -> None:
    assert sorted(STRATEGIES) == ["denylist", "denylist+version", "stateless", "version"]
    assert [STRATEGIES[n].round_trips for n in ("stateless", "denylist", "version", "denylist+version")] == [0, 1, 1, 1]
    assert AccessGuard(verifier, "version", RevocationStore(connect(fresh=True))).strategy is VERSION
    with pytest.raises(ValueError, match="unknown strategy"):
        AccessGuard(verifier, "blocklist")
    with pytest.raises(ValueError, match="needs a RevocationStore"):
        AccessGuard(verifier, "denylist")


@pytest.mark.parametrize("strategy", [DENYLIST, VERSION, DENYLIST_AND_VERSION], ids=lambda s: s.name)
def test_unreachable_redis_fails_closed(issuer, verifier, strategy) -> None:
    dead = RevocationStore(connect(f"redis://127.0.0.1:{free_port()}/0"))
    token = issuer.issue_access("alice", claims={"ver": 0})
    with pytest.raises(StoreUnavailable) as caught:
        AccessGuard(verifier, strategy, dead).check(token)
    assert isinstance(caught.value.__cause__, redis.ConnectionError)
    with pytest.raises(StoreUnavailable):
        dead.bump_version("alice")


def test_stateless_needs_no_redis_at_all(issuer, verifier) -> None:
    guard = AccessGuard(verifier, STATELESS)
    claims = guard.check(issuer.issue_access("alice"))
    assert guard.revoke(claims) is False, "a stateless verifier cannot revoke one token"
