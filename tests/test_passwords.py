"""authkit.login.passwords: scrypt hashes that describe themselves, salted, checked in constant time."""

from __future__ import annotations

import base64
import hashlib

import pytest

from authkit import hash_password, verify_password
from authkit.login.passwords import DEFAULT_LOG2_N, DEFAULT_P, DEFAULT_R, HASH_BYTES, SALT_BYTES, ScryptCost

PASSWORD = "correct horse battery staple"
TEST_COST = ScryptCost(log2_n=12, r=8, p=1)  # the checks below are the same at any cost; the default is tested once


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)  # one hash for the module: scrypt costs ~0.3 s by design


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def test_the_right_password_verifies_and_a_wrong_one_does_not(stored: str) -> None:
    assert verify_password(PASSWORD, stored) is True
    assert verify_password(PASSWORD + " ", stored) is False
    assert verify_password("", stored) is False


def test_the_hash_says_how_it_was_made(stored: str) -> None:
    _, scheme, params, salt, digest = stored.split("$")
    assert (scheme, params) == ("scrypt", f"ln={DEFAULT_LOG2_N},r={DEFAULT_R},p={DEFAULT_P}")
    assert (DEFAULT_LOG2_N, DEFAULT_R, DEFAULT_P) >= (17, 8, 1)  # OWASP's minimum for scrypt
    assert len(base64.b64decode(salt + "==")) == SALT_BYTES >= 16
    assert len(base64.b64decode(digest + "=")) == HASH_BYTES == 32
    assert PASSWORD not in stored


def test_each_hash_has_its_own_salt(stored: str) -> None:
    again = hash_password(PASSWORD, TEST_COST)
    assert again != stored and again.split("$")[3] != stored.split("$")[3]
    assert verify_password(PASSWORD, again)


def test_the_cost_is_read_from_the_stored_hash() -> None:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"older, cheaper hash", salt=salt, n=2**10, r=4, p=2, dklen=32)
    stored = f"$scrypt$ln=10,r=4,p=2${_b64(salt)}${_b64(digest)}"
    assert verify_password("older, cheaper hash", stored) is True
    assert verify_password("older, cheaper hash!", stored) is False


def test_unicode_is_normalized_before_hashing() -> None:
    salt = b"0123456789abcdef"
    composed = hashlib.scrypt("pässword".encode(), salt=salt, n=2**10, r=8, p=1, dklen=32)
    stored = f"$scrypt$ln=10,r=8,p=1${_b64(salt)}${_b64(composed)}"
    assert verify_password("pa\u0308ssword", stored) is True  # "a" + combining diaeresis, NFKC → "ä"


_SALT, _HASH = _b64(b"s" * 16), _b64(b"h" * 32)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain text password",
        f"$scrypt$ln=10,r=8,p=1${_SALT}$",
        f"$scrypt$ln=10,r=8,p=1${_SALT}${_HASH}\n",
        f"$scrypt$ln=30,r=8,p=1${_SALT}${_HASH}",  # 2**30: a memory bomb, refused
        f"$scrypt$ln=0,r=8,p=1${_SALT}${_HASH}",
        f"$scrypt$ln=10,r=0,p=1${_SALT}${_HASH}",
        f"$scrypt$ln=10,r=8,p=99${_SALT}${_HASH}",
        f"$scrypt$ln=20,r=32,p=1${_SALT}${_HASH}",  # each value in bounds, together 4 GiB: refused, not raised
        f"$scrypt$ln=20,r=8,p=16${_SALT}${_HASH}",  # 1 GiB sixteen times over: refused without the work
        f"$scrypt$ln=10,r=8,p=1$!!!!!!!!!!!!!!!!!!!!!!${_HASH}",
        f"$scrypt$ln=10,r=8,p=1${_SALT}AAA${_HASH}",  # 25 base64 characters: an impossible length
        f"$argon2id$v=19,m=65536,t=3,p=4${_SALT}${_HASH}",
        None,
    ],
    ids=["empty", "plain", "no-hash", "trailing-newline", "huge-cost", "zero-cost", "zero-r", "huge-p",
         "huge-memory", "huge-work", "bad-salt", "bad-length", "other-scheme", "none"],
)
def test_unreadable_hashes_never_verify(stored: str) -> None:
    assert verify_password("anything", stored) is False


@pytest.mark.parametrize("password", ["\ud800", "x" * 100_000, "\x00"])
def test_odd_passwords_are_just_wrong(stored: str, password: str) -> None:
    assert verify_password(password, stored) is False


def test_login_check_does_the_same_scrypt_work_for_unknown_users(monkeypatch: pytest.MonkeyPatch) -> None:
    from authkit.login import passwords

    stored = passwords.hash_password("right", TEST_COST)
    passwords.verify_login("warm-up", None, TEST_COST)  # the decoy hash is made once per cost, then reused
    calls: list[int] = []
    real = passwords._scrypt
    monkeypatch.setattr(passwords, "_scrypt", lambda *args: calls.append(args[2]) or real(*args))
    assert passwords.verify_login("right", stored, TEST_COST) is True
    assert passwords.verify_login("wrong", stored, TEST_COST) is False
    assert passwords.verify_login("right", None, TEST_COST) is False
    assert calls == [TEST_COST.log2_n] * 3, "one scrypt at the stored cost per attempt, known user or not"


def test_a_cheaper_cost_is_configuration_and_travels_with_the_hash() -> None:
    from authkit.login.passwords import ScryptCost

    cheap = hash_password(PASSWORD, ScryptCost(log2_n=10, r=4, p=1))
    assert cheap.startswith("$scrypt$ln=10,r=4,p=1$")
    assert verify_password(PASSWORD, cheap) and not verify_password(PASSWORD + "!", cheap)


@pytest.mark.parametrize("cost", [dict(log2_n=0), dict(log2_n=21), dict(r=0), dict(p=17), dict(log2_n=20, r=32)])
def test_unaffordable_costs_are_refused(cost: dict) -> None:
    from authkit.login.passwords import ScryptCost

    with pytest.raises(ValueError, match="scrypt cost"):
        ScryptCost(**cost)


def test_an_unknown_user_costs_the_directorys_scrypt_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from authkit.login import passwords

    cost = passwords.ScryptCost(log2_n=11)
    stored = passwords.hash_password("right", cost)
    calls: list[int] = []
    real = passwords._scrypt
    monkeypatch.setattr(passwords, "_scrypt", lambda *args: calls.append(args[2]) or real(*args))
    assert passwords.verify_login("right", stored, cost) is True
    assert passwords.verify_login("right", None, cost) is False
    assert calls[0] == calls[-1] == 11, "the stand-in hash for an unknown name has the directory's cost"
