"""The login itself: Argon2id and re-hashing, the pepper, NIST rules, throttling in Redis, security events."""

from __future__ import annotations

import json
import logging

import pytest
import redis

from authkit.errors import AccountError, LoginRefused, StoreUnavailable
from authkit.login.authenticate import PasswordLogin
from authkit.login.hashing import TEST_ARGON2, Argon2Cost, PasswordHasher, Pepper
from authkit.login.passwords import ScryptCost, hash_password
from authkit.login.rules import check_new_password
from authkit.login.throttle import LoginThrottle
from authkit.login.users import MemoryDirectory, User, seeded_user_id
from authkit.state.redis import connect, count_round_trips, free_port
from authkit.state.sessions import SessionStore
from authkit.web.cookie_app import create_cookie_app

PASSWORD = "a long passphrase nobody guesses"
OLD, NEW = Pepper({"p1": b"1" * 32}, "p1"), Pepper({"p1": b"1" * 32, "p2": b"2" * 32}, "p2")


def test_argon2id_at_owasp_figures_is_the_default() -> None:
    stored = PasswordHasher().hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher().verify(PASSWORD, stored) and not PasswordHasher().verify("wrong", stored)


def test_an_old_scrypt_hash_verifies_and_is_rehashed_at_the_next_login() -> None:
    old = hash_password(PASSWORD, ScryptCost(log2_n=10))
    directory = MemoryDirectory([User(seeded_user_id("amy"), "amy", old)])
    login = PasswordLogin(directory, PasswordHasher(TEST_ARGON2))
    with pytest.raises(LoginRefused):
        login.check("amy", "wrong password")
    assert directory.by_name("amy").password_hash == old, "a failed login changes nothing"
    login.check("amy", PASSWORD)
    upgraded = directory.by_name("amy").password_hash
    assert upgraded.startswith("$argon2id$v=19$m=64,t=1,p=1$") and login.check("amy", PASSWORD)
    assert not login.hasher.needs_rehash(upgraded)


def test_the_pepper_is_recorded_by_key_id_and_rotates() -> None:
    stored = PasswordHasher(TEST_ARGON2, pepper=OLD).hash(PASSWORD)
    assert stored.startswith("$pepper$k=p1$argon2id$")
    assert not PasswordHasher(TEST_ARGON2).verify(PASSWORD, stored), "without the server secret it is useless"
    rotated = PasswordHasher(TEST_ARGON2, pepper=NEW)
    assert rotated.verify(PASSWORD, stored) and rotated.needs_rehash(stored)
    assert rotated.hash(PASSWORD).startswith("$pepper$k=p2$")


@pytest.mark.parametrize("stored", ["", "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaA", "$md5$abc",
                                    "$pepper$k=nope$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$garbage"])
def test_a_malformed_or_costly_stored_hash_is_a_plain_no(stored: str) -> None:
    assert PasswordHasher(TEST_ARGON2, pepper=OLD).verify(PASSWORD, stored) is False


def test_a_megabyte_password_is_refused_before_any_hashing() -> None:
    login = PasswordLogin(MemoryDirectory(), PasswordHasher(TEST_ARGON2))
    with pytest.raises(LoginRefused) as caught:
        login.check("amy", "x" * 1_000_000)
    assert caught.value.reason == "bad_request"


@pytest.mark.parametrize(("password", "mfa", "ok"), [
    ("fourteen chars", False, False), ("fifteen chars!!", False, True), ("eight ch", True, False),
    ("8 chars!", True, True), ("Ünïcödé pässphrase with 日本語 and ñandú feathers, seventy-some characters long!", False, True), ("password1234567", False, False),
    ("aaaaaaaaaaaaaaaaaaaa", False, False), ("amyamyamyamyamy1", False, False),
])
def test_nist_rules_length_not_composition_and_a_blocklist(password: str, mfa: bool, ok: bool) -> None:
    if ok:
        assert check_new_password(password, mfa=mfa, context=("amy",))
    else:
        with pytest.raises(AccountError):
            check_new_password(password, mfa=mfa, context=("amy",))


def test_passwords_are_normalised_nfkc() -> None:
    stored = PasswordHasher(TEST_ARGON2).hash("ｆｕｌｌｗｉｄｔｈ passphrase")  # fullwidth letters
    assert PasswordHasher(TEST_ARGON2).verify("fullwidth passphrase", stored)


# --- throttling on a real redis-server ---------------------------------------------------------------


def test_throttling_grows_clears_on_success_and_treats_unknown_names_alike(real_redis: redis.Redis) -> None:
    throttle = LoginThrottle(real_redis)
    now = 1_800_000_000_000
    for name in ("amy", "nobody-by-this-name"):
        waits = [throttle.attempt(name, None, now_ms=now) for _ in range(5)]
        assert waits == [0.0] * 5
        assert throttle.attempt(name, None, now_ms=now) == 0.0  # the 6th is let through, and sets 1 s
        assert throttle.attempt(name, None, now_ms=now) == 1.0
        assert throttle.attempt(name, None, now_ms=now + 1000) == 0.0  # then 2 s: it grows, never a lockout
        assert throttle.attempt(name, None, now_ms=now + 1500) == 1.5
    throttle.succeeded("amy")
    assert throttle.attempt("amy", None, now_ms=now + 1500) == 0.0
    assert not [k for k in real_redis.keys("*") if "amy" in k], "no login name in Redis"


def test_a_throttle_check_is_one_round_trip_shared_by_every_worker(real_redis: redis.Redis, redis_server) -> None:
    workers = [LoginThrottle(real_redis), LoginThrottle(connect(redis_server.url))]  # two processes' clients
    with count_round_trips(real_redis) as log:
        workers[0].attempt("amy", "192.0.2.1")
    assert log.round_trips == 1, log.commands
    for i in range(25):  # addresses: 20 free, across accounts and workers
        workers[i % 2].attempt(f"user{i}", "192.0.2.1", now_ms=1_800_000_000_000)
    assert workers[1].attempt("another", "192.0.2.1", now_ms=1_800_000_000_000) > 0


def test_the_cookie_app_answers_429_with_retry_after_and_503_without_redis(real_redis: redis.Redis) -> None:
    login = PasswordLogin(MemoryDirectory(), PasswordHasher(TEST_ARGON2), throttle=LoginThrottle(real_redis))
    app = create_cookie_app(SessionStore(real_redis), login=login, trusted_origins={"https://app.example"})
    client = app.test_client()
    answers = [client.post("/login", json={"username": "amy", "password": "guess"},
                           headers={"Origin": "https://app.example"}, base_url="https://localhost") for _ in range(7)]
    assert [a.status_code for a in answers] == [401] * 6 + [429]
    assert answers[-1].headers["Retry-After"] == "1"
    down = LoginThrottle(connect(f"redis://127.0.0.1:{free_port()}/0"))
    with pytest.raises(StoreUnavailable):
        PasswordLogin(MemoryDirectory(), PasswordHasher(TEST_ARGON2), throttle=down).check("amy", "guess")


# --- security events ------------------------------------------------------------------------------


def test_security_events_are_json_lines_without_a_secret(real_redis: redis.Redis,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="authkit.events")
    directory = MemoryDirectory([User(seeded_user_id("amy"), "amy", PasswordHasher(TEST_ARGON2).hash(PASSWORD))])
    login = PasswordLogin(directory, PasswordHasher(TEST_ARGON2), throttle=LoginThrottle(real_redis))
    store = SessionStore(real_redis)
    app = create_cookie_app(store, login=login, trusted_origins={"https://app.example"})
    client = app.test_client()
    secrets_seen = [PASSWORD, "wrong-guess-password"]
    for password in ["wrong-guess-password"] * 7 + [PASSWORD]:
        answer = client.post("/login", json={"username": "amy", "password": password},
                             headers={"Origin": "https://app.example"}, base_url="https://localhost")
        if answer.status_code == 200:
            secrets_seen += [answer.headers["Set-Cookie"].split(";")[0].split("=", 1)[1], answer.json["csrf_token"]]
    lines = [r.getMessage() for r in caplog.records if r.name == "authkit.events"]
    events = [json.loads(line)["event"] for line in lines]
    assert {"login_failed", "login_throttled"} <= set(events)
    for line in lines:
        for secret in secrets_seen:
            assert secret not in line
            assert secret.split(".")[-1] not in line


def test_refresh_token_reuse_is_a_security_event(real_redis: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    from authkit.state.refresh import GRACE
    from authkit.web.bearer_app import DEMO_ACCOUNTS, create_app

    caplog.set_level(logging.INFO, logger="authkit.events")
    client = create_app({"PASSWORD_COST": TEST_ARGON2, "GRACE": GRACE * 0}, redis_client=real_redis).test_client()
    tokens = client.post("/login", json={"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]}).get_json()
    client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    reused = client.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    lines = [r.getMessage() for r in caplog.records if r.name == "authkit.events"]
    assert reused.status_code == 400 and any(json.loads(line)["event"] == "refresh_reuse" for line in lines)
    assert not any(tokens["refresh_token"] in line or tokens["access_token"] in line for line in lines)
