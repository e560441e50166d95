"""authkit.tokens.keys: keys bound to one algorithm, RFC 7638 kids, key sets that rotate and publish public keys only."""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import string
from datetime import datetime, timezone
from typing import Iterator

import pytest
import time_machine
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authkit.errors import KeyImportError, KeyRetirementError, TokenError, UnusableKeyWarning, WeakKeyError
from authkit.tokens.keys import (ALGORITHMS, ASYMMETRIC, KeySet, SigningKey, b64url, import_jwks, secret_weakness,
                                 thumbprint)

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_generate_binds_the_algorithm_and_names_the_key(alg: str) -> None:
    key = SigningKey.generate(alg)
    assert key.alg == alg and key.can_sign
    if alg == "HS256":
        assert len(key.signing_material) == 32 and key.kid
    else:
        assert key.kid == thumbprint(key.public_jwk())


def test_generate_takes_an_explicit_kid_and_refuses_unknown_algorithms() -> None:
    assert SigningKey.generate("ES256", kid="2026-01").kid == "2026-01"
    with pytest.raises(ValueError, match="unsupported algorithm"):
        SigningKey.generate("none")


@pytest.mark.parametrize("length", [0, 1, 6, 16, 31])
def test_hmac_secrets_under_256_bits_are_refused(length: int) -> None:
    with pytest.raises(WeakKeyError) as caught:
        SigningKey.from_secret(b"s" * length, kid="weak")
    assert caught.value.reason == "weak_key" and isinstance(caught.value, ValueError)


def test_a_256_bit_secret_is_accepted_and_only_for_hs256() -> None:
    secret = secrets.token_bytes(32)
    assert SigningKey.from_secret(secret, kid="ok").alg == "HS256"
    with pytest.raises(ValueError):
        SigningKey.from_secret(secret, kid="ok", alg="RS256")


def test_small_rsa_and_wrong_curve_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(WeakKeyError):
        SigningKey.from_public_key(small, alg="RS256", kid="small")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="P-256"):
        SigningKey.from_public_key(p384, alg="ES256", kid="p384")
    with pytest.raises(ValueError):
        SigningKey.from_public_key(p384, alg="EdDSA", kid="mismatch")


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_pss_keys_are_rsa_keys_of_2048_bits_or_more_bound_to_one_algorithm(alg: str, tmp_path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(WeakKeyError):
        SigningKey.from_public_key(small, alg=alg, kid="small")
    with pytest.raises(ValueError):
        SigningKey.from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key(), alg=alg, kid="ec")
    key = SigningKey.generate(alg, kid="pss")
    assert key.public_jwk()["alg"] == alg and key.signing_material.key_size == 2048
    from authkit.config import load_key_file, write_key_file

    write_key_file(tmp_path / "keys.jwks", key)
    loaded = load_key_file(tmp_path / "keys.jwks").current
    assert (loaded.alg, loaded.kid, loaded.can_sign) == (alg, "pss", True)


def test_rfc7638_thumbprint_example() -> None:
    """RFC 7638 §3.1: the thumbprint of the RFC 7517 example RSA key."""
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
        "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMic"
        "AtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPk"
        "sINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert SigningKey.from_jwk(jwk).kid == "2011-04-29"


def test_rfc8037_ed25519_key_and_thumbprint() -> None:
    """RFC 8037 A.1–A.3: the Ed25519 example key, and its thumbprint as the default kid."""
    jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    }
    key = SigningKey.from_jwk(jwk)
    assert key.alg == "EdDSA" and key.can_sign
    assert key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert {k: v for k, v in key.public_jwk().items() if k in ("kty", "crv", "x")} == {
        k: jwk[k] for k in ("kty", "crv", "x")
    }


def test_a_jwk_whose_private_part_does_not_match_is_refused() -> None:
    a, b = SigningKey.generate("EdDSA").public_jwk(), SigningKey.generate("EdDSA").public_jwk()
    with pytest.raises(ValueError, match="do not match"):
        SigningKey.from_jwk({**a, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "x": b["x"]})


@pytest.mark.parametrize("alg", ["EdDSA", "ES256", "RS256"])
def test_a_public_jwk_round_trips_into_a_verify_only_key(alg: str) -> None:
    key = SigningKey.generate(alg)
    public = SigningKey.from_jwk(key.public_jwk())
    assert (public.alg, public.kid, public.can_sign) == (alg, key.kid, False)
    assert public.public_jwk() == key.public_jwk()
    with pytest.raises(ValueError, match="verify-only"):
        _ = public.signing_material


def test_hmac_keys_are_never_published_and_repr_hides_material() -> None:
    secret = SigningKey.generate("HS256", kid="h1")
    assert secret.public_jwk() is None and secret.public_pem() is None
    assert repr(secret) == "SigningKey(alg='HS256', kid='h1', secret)"
    assert KeySet(secret).jwks() == {"keys": []}


def test_jwks_holds_public_material_only() -> None:
    keys = KeySet(SigningKey.generate("EdDSA"), SigningKey.generate("ES256"), SigningKey.generate("RS256"))
    keys.add(SigningKey.generate("HS256"), make_current=False)
    published = keys.jwks()["keys"]
    assert [jwk["alg"] for jwk in published] == ["EdDSA", "ES256", "RS256"]
    for jwk in published:
        assert jwk["use"] == "sig" and jwk["kid"] and not PRIVATE_MEMBERS & set(jwk)


def test_key_set_rotation() -> None:
    old, new = SigningKey.generate("EdDSA", kid="old"), SigningKey.generate("EdDSA", kid="new")
    keys = KeySet(old)
    assert keys.current is old
    keys.add(new, make_current=False)
    assert keys.current is old and keys.kids == ["old", "new"]
    keys.promote("new")
    assert keys.current is new
    keys.retire("old")
    assert keys.kids == ["new"] and "old" not in keys
    with pytest.raises(TokenError) as caught:
        keys.get("old")
    assert caught.value.reason == "unknown_key"


def test_key_set_refuses_duplicates_an_empty_set_and_retiring_the_signer() -> None:
    key = SigningKey.generate("EdDSA", kid="k")
    keys = KeySet(key)
    with pytest.raises(ValueError, match="already"):
        keys.add(SigningKey.generate("EdDSA", kid="k"))
    with pytest.raises(KeyRetirementError, match="promote") as caught:
        keys.retire("k")
    assert caught.value.reason == "signing_key" and isinstance(caught.value, ValueError)
    with pytest.raises(ValueError):
        KeySet()


@pytest.mark.parametrize("kid", ["", "nope", "../../dev/null", None, 7, ["k"]])
def test_get_unknown_kid_is_a_token_error(kid: object) -> None:
    with pytest.raises(TokenError) as caught:
        KeySet(SigningKey.generate("EdDSA", kid="k")).get(kid)  # type: ignore[arg-type]
    assert caught.value.reason == "unknown_key"


# --- kid: public, so never derived from a secret ----------------------------------------------------


def _hashes_of(secret: bytes) -> set[str]:
    """Every spelling of every hashlib digest of ``secret``, and the RFC 7638 thumbprint of it as an oct JWK."""
    spellings = {thumbprint({"kty": "oct", "k": b64url(secret)})}
    for name in hashlib.algorithms_guaranteed:
        h = hashlib.new(name, secret)
        digest = h.digest(32) if name.startswith("shake") else h.digest()
        spellings |= {h.hexdigest(32) if name.startswith("shake") else h.hexdigest(), b64url(digest),
                      base64.b64encode(digest).decode(), base64.urlsafe_b64encode(digest).decode()}
    return spellings


def test_no_hmac_kid_is_a_hash_of_its_secret() -> None:
    """A kid travels in every token header: for an HMAC key, a hash of the secret there would be a crib."""
    generated = [SigningKey.generate("HS256") for _ in range(20)]
    assert len({key.kid for key in generated}) == 20
    for key in generated:
        assert key.kid not in _hashes_of(key.signing_material)
    secret = secrets.token_bytes(32)
    imported = SigningKey.from_jwk({"kty": "oct", "k": b64url(secret)}, kid="config-1")
    assert imported.kid == "config-1" and imported.kid not in _hashes_of(secret)


def test_an_oct_jwk_without_a_kid_is_refused_rather_than_named_by_its_secret() -> None:
    with pytest.raises(KeyImportError) as caught:
        SigningKey.from_jwk({"kty": "oct", "k": b64url(secrets.token_bytes(32))})
    assert caught.value.reason == "missing_kid" and "never derives" in str(caught.value)


@pytest.mark.parametrize("alg", ASYMMETRIC)
def test_an_asymmetric_key_without_a_kid_is_named_by_its_public_thumbprint(alg: str) -> None:
    key = SigningKey.generate(alg)
    public = {k: v for k, v in key.public_jwk().items() if k not in ("kid",)}
    assert SigningKey.from_jwk(public).kid == thumbprint(public) == key.kid


# --- weak HMAC secrets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret, why",
    [
        (bytes(32), "repeats a 1-byte pattern"),
        (b"a" * 32, "repeats a 1-byte pattern"),
        (b"ab" * 16, "repeats a 2-byte pattern"),
        (bytes.fromhex("9f3c1a7e5b2d4c6f8a0e1b3d5f7a9c2e") * 2, "repeats a 16-byte pattern"),
        (bytes(range(8)) * 3 + bytes([9]) * 7 + bytes([10]), "distinct symbols"),
        (b"correct horse battery staple 4242", "passphrase"),
        (b"Tr0ub4dor&3-Tr0ub4dor&3-Tr0ub4d!", "32 printable characters hold at most 210 bits"),
        (b"thequickbrownfoxjumpsoverthelazydog", "35 lowercase letters"),
        (b"9f3c1a7e5b2d4c6f8a0e1b3d5f7a9c2e", "32 hex digits hold at most 128 bits"),
        (b"31415926535897932384626433832795028841971693993751", "50 decimal digits"),
        (b"\x01my-super-secret-key-for-jwt-2026", "32 lowercase letters, digits and -_. and 1 other byte"),
        (b"\x01correct horse battery staple 4242", "passphrase"),
        (b"my-super-secret-key-for-jwt-2026\n", "32 lowercase letters, digits and -_. hold"),
        (b"my-super-secret\xff\xfekey-for-jwt-2026-prod", "other bytes hold at most"),
        (b"\x00\x01\x02MySuperSecretKeyForJWT2026Prod", "and 3 other bytes"),
        (bytes(range(32)), "step by a repeating pattern"),
        (bytes(range(0, 256, 7))[:32], "step by a repeating pattern"),
        (bytes(16) + bytes.fromhex("9f3c1a7e5b2d4c6f8a0e1b3d5f7a9c2e"), "byte 0x00 fills 16"),
    ],
    ids=["zeros", "one-letter", "two-letters", "16-bytes-twice", "few-symbols", "passphrase", "password",
         "lowercase-words", "128-bit-hex", "digits", "control-byte-then-phrase", "control-byte-then-passphrase",
         "phrase-and-newline", "phrase-split-by-bytes", "control-bytes-then-camel-case", "counter", "step-7",
         "zero-padded"],
)
def test_guessable_secrets_are_refused_and_steered_to_generate(secret: bytes, why: str) -> None:
    assert len(secret) >= 32
    with pytest.raises(WeakKeyError) as caught:
        SigningKey.from_secret(secret, kid="weak")
    assert why in str(caught.value) and "SigningKey.generate('HS256')" in str(caught.value)
    assert secret_weakness(secret) is not None


@pytest.mark.parametrize(
    "draw, count",
    [(lambda: secrets.token_bytes(32), 5_000), (lambda: secrets.token_bytes(64), 2_000),
     (lambda: secrets.token_hex(32).encode(), 2_000), (lambda: secrets.token_urlsafe(32).encode(), 2_000)],
    ids=["token_bytes(32)", "token_bytes(64)", "token_hex(32)", "token_urlsafe(32)"],
)
def test_no_false_positive_on_random_secrets(draw, count: int) -> None:
    """Many draws: the guard's odds of refusing a token_bytes(32) draw are below 1e-12 each."""
    refused = [secret for secret in (draw() for _ in range(count)) if secret_weakness(secret)]
    assert refused == []


@settings(max_examples=2000, deadline=None)
@given(secret=st.builds(secrets.token_bytes, st.just(32)))
def test_csprng_secrets_are_never_refused(secret: bytes) -> None:
    """Property: a 256-bit draw from the CSPRNG passes (the guard's odds of refusing one are below 1e-12)."""
    assert secret_weakness(secret) is None
    assert SigningKey.from_secret(secret, kid="k").alg == "HS256"


_WORDS = st.lists(st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=9), min_size=3, max_size=6)
_BYTES = st.binary(min_size=1, max_size=3).filter(lambda framing: not set(framing) & set(b" \t\n\r"))


@settings(max_examples=300, deadline=None)
@given(words=_WORDS, separator=st.sampled_from(["-", "_", ".", ""]), digits=st.integers(0, 9999),
       before=_BYTES, after=st.binary(max_size=2).filter(lambda framing: not set(framing) & set(b" \t\n\r")))
def test_a_phrase_wrapped_in_a_few_arbitrary_bytes_is_refused(words: list[str], separator: str, digits: int,
                                                              before: bytes, after: bytes) -> None:
    """Property: whatever bytes frame it, a memorable phrase is judged as the text it is: refused whenever its
    characters (at log2(39) bits each, lowercase letters, digits and -_.) and the framing bytes (8 bits each)
    hold fewer than 256 bits with room for the cost of saying where the framing stands."""
    phrase = (separator.join(words) + separator + str(digits)).encode()
    secret = before + phrase + after
    assume(len(secret) >= 32 and len(phrase) * math.log2(39) + 8 * (len(before) + len(after)) + 17 < 256)
    assert secret_weakness(secret) is not None, secret


@settings(max_examples=300, deadline=None)
@given(words=_WORDS, before=_BYTES, after=st.binary(max_size=2))
def test_a_passphrase_wrapped_in_a_few_arbitrary_bytes_is_refused(words: list[str], before: bytes,
                                                                  after: bytes) -> None:
    secret = before + " ".join(words * 3).encode() + after
    assert secret_weakness(secret) is not None, secret


def test_a_hashed_word_looks_random_to_the_guard() -> None:
    """The guard's blind spot, stated: SHA-256 of a dictionary word passes (authkit.tokens.cracking recovers it)."""
    assert secret_weakness(hashlib.sha256(b"password").digest()) is None


# --- retiring keys: never while tokens they signed are still valid ------------------------------------


def test_retire_refuses_while_a_signed_token_lives_then_allows(clock: time_machine.Coordinates) -> None:
    old, new = SigningKey.generate("EdDSA", kid="old"), SigningKey.generate("EdDSA", kid="new")
    keys = KeySet(old)
    assert keys.signer(until=T0.timestamp() + 900) is old
    keys.signer(until=T0.timestamp() + 600)  # a shorter token does not shorten the key's life
    assert keys.live_until("old") == T0.timestamp() + 900 and keys.live_until("new") is None
    keys.add(new)
    clock.shift(899)
    with pytest.raises(KeyRetirementError) as caught:
        keys.retire("old")
    assert caught.value.reason == "tokens_live" and "2026-01-01T09:15:00+00:00" in str(caught.value)
    assert "old" in keys
    clock.shift(1)
    keys.retire("old")
    assert keys.kids == ["new"] and keys.live_until("old") is None


def test_force_retires_a_compromised_key_at_once(clock: time_machine.Coordinates) -> None:
    keys = KeySet(SigningKey.generate("EdDSA", kid="leaked"))
    keys.signer(until=T0.timestamp() + 14 * 86400)
    keys.add(SigningKey.generate("EdDSA", kid="fresh"))
    keys.retire("leaked", force=True)
    assert keys.kids == ["fresh"]


# --- key sets from a JWK Set ------------------------------------------------------------------------


def test_key_set_from_jwks_keeps_usable_keys_and_warns_about_each_skipped_one() -> None:
    a, b = SigningKey.generate("Ed25519", kid="a"), SigningKey.generate("ES256", kid="b")
    keys = KeySet.from_jwks({"keys": [a.public_jwk(), b.public_jwk()]})
    assert keys.kids == ["a", "b"] and keys.current.alg == "Ed25519" and not keys.current.can_sign
    encryption = {**SigningKey.generate("RS256", kid="enc").public_jwk(), "use": "enc"}
    with pytest.warns(UnusableKeyWarning, match="'enc'"):
        assert KeySet.from_jwks({"keys": [a.public_jwk(), encryption]}).kids == ["a"]
    with pytest.raises(KeyImportError, match="the first, signs") as caught, pytest.warns(UnusableKeyWarning):
        KeySet.from_jwks({"keys": [encryption, a.public_jwk()]})
    assert caught.value.reason == "wrong_use"
    with pytest.raises(KeyImportError):
        KeySet.from_jwks({"keys": "not a list"})


@pytest.mark.parametrize(
    "member, value",
    [("kty", ["OKP"]), ("kty", {"OKP": 1}), ("crv", ["Ed25519"]), ("crv", {"name": "Ed25519"}), ("kty", None),
     ("x", 7), ("x", ["a"]), ("alg", ["EdDSA"]), ("key_ops", "verify"), ("use", ["sig"]), ("x", "A" * 10**4)],
)
def test_one_entry_of_any_json_shape_is_skipped_with_a_warning_and_the_rest_kept(member: str, value: object) -> None:
    """RFC 7517 §5: ignore a key one cannot use; an unhashable kty or crv once failed the whole import."""
    good, bad = SigningKey.generate("EdDSA", kid="good"), SigningKey.generate("EdDSA", kid="bad")
    jwks = {"keys": [good.public_jwk(), {**bad.public_jwk(), member: value}]}
    with pytest.warns(UnusableKeyWarning, match="'bad'"):
        imported = import_jwks(jwks, public_only=True)
    assert isinstance(imported["good"], SigningKey) and isinstance(imported["bad"], KeyImportError)
    with pytest.warns(UnusableKeyWarning):
        assert KeySet.from_jwks(jwks).kids == ["good"]
