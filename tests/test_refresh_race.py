"""Concurrent and retried refreshes of one token on a REAL redis-server.

The script lets exactly one rotation win where GET-then-SET lets several; with a grace, every other
presenter of the same token gets the winner's successor, so two tabs or a retry never log a user out,
and a refresh that timed out while Redis stalled succeeds when retried. fakeredis runs in-process under
the GIL and hides these races, so these tests use the real server only.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Callable, Iterator

import pytest
import redis
import requests

from authkit.errors import StoreUnavailable, TokenError
from authkit.tokens.keys import KeySet, SigningKey
from authkit.state.redis import LocalRedisServer
from authkit.state.refresh import GRACE, GRACE_REPEATS, NaiveRotation, RefreshFamilies, TokenService
from authkit.state.revocation import AccessGuard, RevocationStore
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from authkit.web.bearer_app import DEMO_ACCOUNTS, create_app
from authkit.web.server import serve
from tests import concurrency
from tests.jwt_forge import AUDIENCE, ISSUER

THREADS = 8
TRIALS = 200
SHORT_GRACE = timedelta(seconds=1)

pytestmark = pytest.mark.real_redis


def winners_per_trial(families: RefreshFamilies, rotate: Callable[[str, str], bool]) -> list[int]:
    """For each trial: a fresh family, THREADS threads lined up on a barrier, how many rotations won."""
    counts = []
    for trial in range(TRIALS):
        family = f"race-{trial}"
        families.start("alice", family, "t0")
        barrier, wins, lock = threading.Barrier(THREADS), [], threading.Lock()

        def client(number: int) -> None:
            barrier.wait()
            if rotate(family, f"t1-{number}"):
                with lock:
                    wins.append(number)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        counts.append(len(wins))
    return counts


@pytest.fixture
def families(real_redis: redis.Redis) -> RefreshFamilies:
    families = RefreshFamilies(real_redis)
    families.load_scripts()
    return families


def test_atomic_rotation_has_exactly_one_winner_in_every_trial(families: RefreshFamilies) -> None:
    def rotate(family: str, new: str) -> bool:
        try:
            families.rotate("alice", family, "t0", new)
        except TokenError as refusal:
            assert refusal.reason in ("reused", "revoked")
            return False
        return True

    counts = winners_per_trial(families, rotate)
    assert counts == [1] * TRIALS, {n: counts.count(n) for n in set(counts)}


def test_naive_get_then_set_lets_several_threads_win(families: RefreshFamilies) -> None:
    naive = NaiveRotation(families)
    counts = winners_per_trial(families, lambda family, new: naive.rotate("alice", family, "t0", new))
    assert all(n >= 1 for n in counts), "someone always wins"
    assert sum(n > 1 for n in counts) > 0, "the same harness sees the race: more than one winner"


def token_service(client: redis.Redis, grace: timedelta, repeats: int = THREADS - 1) -> TokenService:
    """Every caller but the winner repeats the token: the bound on repeats lets all of them through."""
    keys = KeySet(SigningKey.generate("EdDSA", kid="k1"))
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    families = RefreshFamilies(client, grace=grace, grace_repeats=repeats)
    families.load_scripts()
    guard = AccessGuard(verifier, "denylist+version", RevocationStore(client))
    return TokenService(TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE), verifier, families, guard)


def at_once(call: Callable[[], object]) -> list[object]:
    """THREADS threads lined up on a barrier make the same call; each result, or the reason it was refused."""
    return concurrency.at_once(call, THREADS, TokenError)


def test_same_token_at_once_gives_every_caller_the_same_successor(real_redis: redis.Redis) -> None:
    service = token_service(real_redis, SHORT_GRACE)
    spent, heads, same, alive = [], [], [], []
    for _ in range(TRIALS):
        first = service.login("alice")
        pairs = at_once(lambda: service.refresh(first.refresh_token))
        tokens = {getattr(pair, "refresh_token", pair) for pair in pairs}
        same.append(len(tokens) == 1 and all(service.guard.check(pair.access_token) for pair in pairs))
        head = service.refresh(pairs[0].refresh_token)  # the login lives on: the successor refreshes again
        alive.append(bool(service.guard.check(head.access_token)))
        spent.append(pairs[0].refresh_token)  # rotated just now by ``head``: its grace is the one that runs out
        heads.append(head.refresh_token)
    assert same == [True] * TRIALS, f"trials where callers got different tokens or refusals: {same.count(False)}"
    assert alive == [True] * TRIALS
    time.sleep(SHORT_GRACE.total_seconds())
    replays = [refused_reason(service.refresh, token) for token in spent]
    assert replays == ["reused"] * TRIALS, "the just-rotated token, replayed after its grace, revokes the family"
    assert [refused_reason(service.refresh, token) for token in heads] == ["revoked"] * TRIALS


def test_the_grace_serves_a_few_repeats_then_revokes_and_its_tokens_die(real_redis: redis.Redis) -> None:
    """Beyond GRACE_REPEATS, a repeat is what it looks like, a reuse; the tokens the grace gave die with it."""
    service = token_service(real_redis, SHORT_GRACE, repeats=GRACE_REPEATS)
    for _ in range(20):
        first = service.login("alice")
        results = at_once(lambda: service.refresh(first.refresh_token))
        served = [result for result in results if not isinstance(result, str)]
        assert len(served) == 1 + GRACE_REPEATS, "one rotation, then the bounded repeats"
        assert len({pair.refresh_token for pair in served}) == 1, "the same successor only"
        refusals = {result for result in results if isinstance(result, str)}
        assert "reused" in refusals and refusals <= {"reused", "revoked"}, refusals
        assert [refused_reason(service.guard.check, pair.access_token) for pair in served] == \
            ["revoked"] * len(served), "every access token of the family dies with it"


def refused_reason(call: Callable[[str], object], token: str) -> str:
    try:
        call(token)
    except TokenError as refusal:
        return refusal.reason
    return "accepted"


@pytest.fixture
def stalling_server() -> Iterator[LocalRedisServer]:
    """A server of its own: pausing the shared one would stall every other test."""
    with LocalRedisServer() as server:
        yield server


def test_a_refresh_that_timed_out_in_a_stall_succeeds_when_retried(stalling_server: LocalRedisServer) -> None:
    client = stalling_server.client()
    service = token_service(client, GRACE)
    pair = service.login("alice")
    family = service.verifier.verify_refresh(pair.refresh_token)["fam"]
    stalling_server.pause()
    try:
        with pytest.raises(StoreUnavailable):  # the caller sees 503 after the 2 s socket timeout
            service.refresh(pair.refresh_token)
    finally:
        stalling_server.resume()
    committed = stalling_server.admin().hget(service.families.key("alice", family), "cur")
    assert committed != service.verifier.verify_refresh(pair.refresh_token)["jti"], "the rotation had run"
    retried = service.refresh(pair.refresh_token)
    assert service.verifier.verify_refresh(retried.refresh_token)["jti"] == committed, "the same successor"
    assert service.guard.check(retried.access_token)["sub"] == "alice"
    assert service.refresh(retried.refresh_token).access_token, "and the login lives on"


def test_over_http_a_stalled_refresh_then_a_retry_keeps_the_login(stalling_server: LocalRedisServer) -> None:
    app = create_app(redis_client=stalling_server.client())
    account = {"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]}
    with serve(app) as running:
        tokens = requests.post(f"{running.url}/login", json=account, timeout=10).json()
        body = {"refresh_token": tokens["refresh_token"]}
        stalling_server.pause()
        try:
            stalled = requests.post(f"{running.url}/refresh", json=body, timeout=10)
        finally:
            stalling_server.resume()
        retry = requests.post(f"{running.url}/refresh", json=body, timeout=10)
        again = requests.post(f"{running.url}/refresh", json={"refresh_token": retry.json()["refresh_token"]},
                              timeout=10)
    assert (stalled.status_code, stalled.headers["Retry-After"]) == (503, "1")
    assert (retry.status_code, again.status_code) == (200, 200), retry.text


def test_over_http_parallel_refreshes_all_get_the_same_pair(real_redis: redis.Redis) -> None:
    app = create_app({"GRACE_REPEATS": THREADS - 1}, redis_client=real_redis)  # 1 rotation, 7 repeats
    account = {"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]}
    with serve(app) as running, requests.Session() as http:
        token = http.post(f"{running.url}/login", json=account, timeout=10).json()["refresh_token"]
        for _ in range(40):
            answers = at_once(lambda: requests.post(f"{running.url}/refresh", json={"refresh_token": token},
                                                    timeout=10))
            assert [answer.status_code for answer in answers] == [200] * THREADS
            successors = {answer.json()["refresh_token"] for answer in answers}
            assert len(successors) == 1
            token = successors.pop()  # the next round presents the live head
