"""authkit.keys: keys bound to one algorithm, RFC 7638 kids, key sets that rotate and publish public keys only."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authkit.errors import TokenError, WeakKeyError
from authkit.keys import ALGORITHMS, KeySet, SigningKey, thumbprint

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
    assert SigningKey.from_secret(bytes(32), kid="ok").alg == "HS256"
    with pytest.raises(ValueError):
        SigningKey.from_secret(bytes(32), kid="ok", alg="RS256")


def test_small_rsa_and_wrong_curve_keys_are_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    with pytest.raises(WeakKeyError):
        SigningKey.from_public_key(small, alg="RS256", kid="small")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="P-256"):
        SigningKey.from_public_key(p384, alg="ES256", kid="p384")
    with pytest.raises(ValueError):
        SigningKey.from_public_key(p384, alg="EdDSA", kid="mismatch")


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
    with pytest.raises(ValueError, match="promote"):
        keys.retire("k")
    with pytest.raises(ValueError):
        KeySet()


@pytest.mark.parametrize("kid", ["", "nope", "../../dev/null", None, 7, ["k"]])
def test_get_unknown_kid_is_a_token_error(kid: object) -> None:
    with pytest.raises(TokenError) as caught:
        KeySet(SigningKey.generate("EdDSA", kid="k")).get(kid)  # type: ignore[arg-type]
    assert caught.value.reason == "unknown_key"
