"""authkit.login.totp and authkit.login.reset: one-time codes accepted once, reset links spent once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pyotp
import pytest
import redis

from authkit.errors import FactorError, ResetTokenError, StoreUnavailable
from authkit.login.mail import Mailbox, send
from authkit.login.reset import ResetTokens
from authkit.login.totp import STEP, TotpVerifier, enrol, qr_matrix
from tests.concurrency import at_once

NOW = 1_800_000_015.0  # 15 s into a 30 s step


def reason(call, *args, **kwargs) -> str:
    with pytest.raises(FactorError) as caught:
        call(*args, **kwargs)
    return caught.value.reason


def test_enrolment_gives_a_160_bit_secret_and_a_scannable_uri() -> None:
    enrolment = enrol("alice@example.com", "authkit")
    assert len(enrolment.secret) == 32  # base32: 5 bits a character
    assert enrolment.uri.startswith("otpauth://totp/authkit:alice%40example.com?secret=" + enrolment.secret)
    matrix = qr_matrix(enrolment.uri)
    assert len(matrix) == len(matrix[0]) and len(matrix) >= 25


def test_a_code_works_once_and_one_step_either_side(redis_client: redis.Redis) -> None:
    secret = pyotp.random_base32(32)
    totp, verifier = pyotp.TOTP(secret), TotpVerifier(redis_client)
    verifier.verify("u1", secret, totp.at(NOW - STEP), at=NOW)  # the previous step: a slow typist
    assert reason(verifier.verify, "u1", secret, totp.at(NOW - STEP), at=NOW) == "replayed"
    verifier.verify("u1", secret, totp.at(NOW), at=NOW)
    assert reason(verifier.verify, "u1", secret, totp.at(NOW), at=NOW + 10) == "replayed"
    # once a later step is spent, an earlier one still in the window is refused too
    verifier.verify("u1", secret, totp.at(NOW + STEP), at=NOW)
    assert reason(verifier.verify, "u1", secret, totp.at(NOW), at=NOW) == "replayed"


def test_codes_out_of_the_window_or_malformed_are_refused(redis_client: redis.Redis) -> None:
    secret = pyotp.random_base32(32)
    totp, verifier = pyotp.TOTP(secret), TotpVerifier(redis_client)
    assert reason(verifier.verify, "u1", secret, totp.at(NOW - 2 * STEP), at=NOW) == "wrong_code"
    assert reason(verifier.verify, "u1", secret, totp.at(NOW + 2 * STEP), at=NOW) == "wrong_code"
    for bad in ["", "12345", "1234567", "12a456", "１２３４５６", None, 123456, "1" * 10**6]:
        assert reason(verifier.verify, "u1", secret, bad, at=NOW) == "malformed", bad
    assert [k for k in redis_client.keys("*") if not k.endswith(":durability")] == []  # nothing written


def test_one_users_spent_code_does_not_touch_another_user(redis_client: redis.Redis) -> None:
    secret = pyotp.random_base32(32)
    verifier = TotpVerifier(redis_client)
    verifier.verify("u1", secret, pyotp.TOTP(secret).at(NOW), at=NOW)
    verifier.verify("u2", secret, pyotp.TOTP(secret).at(NOW), at=NOW)


def test_concurrent_uses_of_one_code_exactly_one_wins(real_redis: redis.Redis) -> None:
    secret = pyotp.random_base32(32)
    code = pyotp.TOTP(secret).at(NOW)
    for trial in range(20):
        verifier = TotpVerifier(real_redis)
        results = at_once(lambda: verifier.verify(f"race{trial}", secret, code, at=NOW) or "ok", 8, FactorError)
        assert sorted(results) == ["ok"] + ["replayed"] * 7


def test_recovery_codes_are_stored_hashed_and_single_use(redis_client: redis.Redis) -> None:
    verifier = TotpVerifier(redis_client)
    codes = verifier.new_recovery_codes("u1")
    assert len(set(codes)) == 10 and verifier.recovery_codes_left("u1") == 10
    dump = " ".join(str(redis_client.smembers(key)) for key in redis_client.keys("*{u:u1}*"))
    assert not any(code in dump for code in codes)  # a Redis dump holds no usable code
    verifier.use_recovery_code("u1", codes[3].upper())  # typed in capitals: still the code
    assert reason(verifier.use_recovery_code, "u1", codes[3]) == "wrong_code"
    assert reason(verifier.use_recovery_code, "u2", codes[4]) == "wrong_code"
    assert reason(verifier.use_recovery_code, "u1", "short") == "malformed"
    assert verifier.recovery_codes_left("u1") == 9
    fresh = verifier.new_recovery_codes("u1")
    assert reason(verifier.use_recovery_code, "u1", codes[5]) == "wrong_code"  # the old set is gone
    verifier.use_recovery_code("u1", fresh[0])


def test_reset_tokens_are_long_hashed_single_use_and_superseded(redis_client: redis.Redis) -> None:
    tokens = ResetTokens(redis_client)
    first = tokens.issue("u1")
    assert len(first) >= 43  # 256 bits in base64url
    stored = redis_client.keys("authkit:*reset*")
    assert first not in " ".join(stored) + " ".join(redis_client.get(k) for k in stored)
    second = tokens.issue("u1")
    with pytest.raises(ResetTokenError):
        tokens.peek(first)  # a new request supersedes the old link
    assert tokens.peek(second) == "u1"
    assert tokens.consume(second) == "u1"
    with pytest.raises(ResetTokenError) as caught:
        tokens.consume(second)
    assert caught.value.reason == "unknown"
    for bad in ["", "x" * 10, "é" * 43, None, "a" * 10**6]:
        with pytest.raises(ResetTokenError) as caught:
            tokens.consume(bad)
        assert caught.value.reason == "malformed"


def test_reset_tokens_expire_and_never_live_past_30_minutes(real_redis: redis.Redis) -> None:
    with pytest.raises(ValueError):
        ResetTokens(real_redis, ttl=timedelta(minutes=31))
    tokens = ResetTokens(real_redis, ttl=timedelta(milliseconds=200))
    token = tokens.issue("u1")
    assert 0 < real_redis.pttl(f"authkit:reset:{{{__import__('hashlib').sha256(token.encode()).hexdigest()}}}") <= 200
    threading.Event().wait(0.35)
    with pytest.raises(ResetTokenError):
        tokens.consume(token)


def test_two_concurrent_confirmations_exactly_one_wins(real_redis: redis.Redis) -> None:
    tokens = ResetTokens(real_redis)
    for _ in range(20):
        token = tokens.issue("u1")
        assert sorted(at_once(lambda: tokens.consume(token), 8, ResetTokenError)) == ["u1"] + ["unknown"] * 7


def test_a_store_that_is_down_fails_closed() -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, decode_responses=True)
    with pytest.raises(StoreUnavailable):
        ResetTokens(down).issue("u1")
    secret = pyotp.random_base32(32)
    with pytest.raises(StoreUnavailable):
        TotpVerifier(down).verify("u1", secret, pyotp.TOTP(secret).at(NOW), at=NOW)


def test_mail_goes_through_a_real_smtp_server_on_loopback() -> None:
    with Mailbox() as box:
        send(box.relay, "alice@example.com", "Reset your password", "https://app.example/reset#token")
        send(box.relay, "bob@example.com", "Hello", "second")
        first, second = box.wait_for(2)
    assert (first["To"], first["Subject"]) == ("alice@example.com", "Reset your password")
    assert "https://app.example/reset#token" in first.get_content()
    assert second["To"] == "bob@example.com"


def test_notebook_09s_replay_answer_is_what_the_verifier_does(fake_redis: redis.Redis) -> None:
    from authkit.course.exercises.nb09 import replay_outcomes

    secret = pyotp.random_base32(32)
    totp, verifier = pyotp.TOTP(secret), TotpVerifier(fake_redis)
    verifier.verify("u1", secret, totp.at(NOW), at=NOW)
    seen = {}
    for situation, offset in [("the same code again", 0), ("the code of step t-1", -1),
                              ("the code of step t+1", 1), ("the code of step t+2", 2)]:
        try:
            TotpVerifier(fake_redis).verify("u1", secret, totp.at(NOW + offset * STEP), at=NOW)
            seen[situation] = "accepted"
        except FactorError as err:
            seen[situation] = err.reason
    assert seen == replay_outcomes()
