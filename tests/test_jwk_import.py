"""JWK import (RFC 7517 §4.2–4.4): a key is used only for the use, operations and algorithm it declares."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwk as jc_jwk

from authkit.errors import KEY_REASONS, AuthkitError, KeyImportError, UnusableKeyWarning, WeakKeyError
from authkit.tokens.jwk import b64url, public_members
from authkit.tokens.keys import KeySet, SigningKey, import_jwks


def private_jwk(key: SigningKey) -> dict[str, Any]:
    """The full private JWK of an asymmetric key, as another tool (jwcrypto) exports it."""
    exported = jc_jwk.JWK.from_pyca(key.signing_material).export_private(as_dict=True)
    return {**exported, "kid": key.kid}


def refusal(jwk: Any, **kwargs: Any) -> str:
    """The reason ``SigningKey.from_jwk`` refuses ``jwk`` (failing the test if it accepts it)."""
    with pytest.raises(KeyImportError) as caught:
        SigningKey.from_jwk(jwk, **kwargs)
    assert isinstance(caught.value, AuthkitError) and isinstance(caught.value, ValueError)
    assert caught.value.reason in KEY_REASONS
    return caught.value.reason


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.generate("RS256", kid="rsa")


ED = SigningKey.generate("EdDSA", kid="ed")


# --- use (§4.2) -------------------------------------------------------------------------------------


@pytest.mark.parametrize("use", ["enc", "SIG", "", None, ["sig"]])
def test_a_key_not_for_signatures_is_refused(use: object) -> None:
    assert refusal({**ED.public_jwk(), "use": use}) == "wrong_use"


def test_use_sig_or_no_use_is_accepted() -> None:
    public = ED.public_jwk()
    assert SigningKey.from_jwk(public).alg == "EdDSA"
    assert SigningKey.from_jwk({k: v for k, v in public.items() if k != "use"}).kid == "ed"


# --- key_ops (§4.3) ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key_ops",
    [["encrypt"], ["sign", "encrypt"], ["verify", "wrapKey"], ["verify", "verify"], "verify", [1], []],
    ids=["encrypt", "sign+encrypt", "verify+wrapKey", "duplicate", "not-a-list", "not-strings", "empty"],
)
def test_key_ops_that_are_not_signing_operations_are_refused(key_ops: object) -> None:
    assert refusal({**ED.public_jwk(), "key_ops": key_ops}) == "wrong_key_ops"


def test_key_ops_must_allow_what_authkit_does_with_the_key() -> None:
    """A public key verifies, a private key signs, an HMAC secret does both."""
    public = {k: v for k, v in ED.public_jwk().items() if k != "use"}
    assert SigningKey.from_jwk({**public, "key_ops": ["verify"]}).can_sign is False
    assert refusal({**public, "key_ops": ["sign"]}) == "wrong_key_ops"
    private = {k: v for k, v in private_jwk(ED).items() if k != "use"}
    assert SigningKey.from_jwk({**private, "key_ops": ["sign"]}).can_sign
    assert refusal({**private, "key_ops": ["verify"]}) == "wrong_key_ops"
    oct_jwk = {"kty": "oct", "k": b64url(secrets.token_bytes(32)), "kid": "h"}
    assert SigningKey.from_jwk({**oct_jwk, "key_ops": ["sign", "verify"]}).alg == "HS256"
    assert refusal({**oct_jwk, "key_ops": ["sign"]}) == "wrong_key_ops"
    assert refusal({**oct_jwk, "key_ops": ["verify"]}) == "wrong_key_ops"


# --- alg (§4.4): honoured, never rebound ---------------------------------------------------------------


def test_a_jwk_declared_for_another_algorithm_is_never_rebound(rsa_key: SigningKey) -> None:
    ps512 = {**rsa_key.public_jwk(), "alg": "PS512"}
    assert refusal(ps512, alg="RS256") == "wrong_alg"  # was: silently an RS256 key
    assert SigningKey.from_jwk(ps512).alg == "PS512"  # bound to the algorithm it declares
    assert refusal({**rsa_key.public_jwk(), "alg": "RS384"}) == "wrong_alg"  # authkit has no RS384
    assert SigningKey.from_jwk({**rsa_key.public_jwk(), "alg": "RS256"}, alg="RS256").alg == "RS256"


def test_eddsa_and_ed25519_are_distinct_names_for_one_key() -> None:
    """RFC 9864 deprecates EdDSA for Ed25519: a JWK declaring one is not used under the other."""
    eddsa, ed25519 = ED.public_jwk(), {**ED.public_jwk(), "alg": "Ed25519"}
    assert refusal(eddsa, alg="Ed25519") == "wrong_alg"
    assert refusal(ed25519, alg="EdDSA") == "wrong_alg"
    undeclared = {k: v for k, v in eddsa.items() if k != "alg"}
    assert SigningKey.from_jwk(undeclared).alg == "EdDSA"  # the default, as PyJWT reads it
    assert SigningKey.from_jwk(undeclared, alg="Ed25519").alg == "Ed25519"
    assert SigningKey.from_jwk(ed25519).public_jwk() == {**ed25519, "alg": "Ed25519"}


def test_an_oct_keys_alg_is_honoured() -> None:
    oct_jwk = {"kty": "oct", "k": b64url(secrets.token_bytes(32)), "kid": "h"}
    assert SigningKey.from_jwk({**oct_jwk, "alg": "HS256"}).alg == "HS256"
    assert refusal({**oct_jwk, "alg": "HS512"}) == "wrong_alg"  # was: silently HS256
    assert refusal({**oct_jwk, "alg": "A256GCM", "use": "enc"}) == "wrong_use"
    assert refusal(oct_jwk, alg="RS256") == "wrong_alg"  # was: an HS256 key, whatever was asked


@pytest.mark.parametrize("alg", ["RS256", "EdDSA", "HS256", "ES384", 7])
def test_a_key_type_cannot_take_another_familys_algorithm(alg: object) -> None:
    jwk = {**SigningKey.generate("ES256").public_jwk(), "alg": alg}
    assert refusal(jwk) == ("malformed_key" if alg == 7 else "wrong_alg")


# --- malformed and unsupported keys ----------------------------------------------------------------


def _curve_p384() -> dict[str, Any]:
    numbers = ec.generate_private_key(ec.SECP384R1()).public_key().public_numbers()
    size = 48
    return {"kty": "EC", "crv": "P-384", "x": b64url(numbers.x.to_bytes(size, "big")),
            "y": b64url(numbers.y.to_bytes(size, "big"))}


@pytest.mark.parametrize(
    "jwk, reason",
    [
        ("not a dict", "malformed_key"),
        ({"kty": "OKP", "crv": "Ed25519"}, "malformed_key"),
        ({**ED.public_jwk(), "x": ED.public_jwk()["x"] + "="}, "malformed_key"),
        ({**ED.public_jwk(), "x": "AAAA"}, "malformed_key"),
        ({**ED.public_jwk(), "kid": 7}, "malformed_key"),
        ({**SigningKey.generate("ES256").public_jwk(), "y": b64url(bytes(32))}, "malformed_key"),
        ({**SigningKey.generate("ES256").public_jwk(), "x": b64url(bytes(31))}, "malformed_key"),
        ({"kty": "OKP", "crv": "Ed448", "x": b64url(bytes(57))}, "unsupported_key"),
        (_curve_p384(), "unsupported_key"),
        ({"kty": "foo"}, "unsupported_key"),
        ({"kid": "nothing"}, "unsupported_key"),
    ],
    ids=["not-a-dict", "no-x", "padded", "short-x", "kid-not-string", "off-curve", "short-coordinate", "Ed448",
         "P-384", "unknown-kty", "no-kty"],
)
def test_malformed_and_unsupported_jwks_are_refused(jwk: Any, reason: str) -> None:
    assert refusal(jwk) == reason


def test_private_and_public_parts_must_match() -> None:
    other = SigningKey.generate("EdDSA")
    assert refusal({**private_jwk(ED), "x": other.public_jwk()["x"]}) == "mismatched_key"


@pytest.mark.parametrize("alg", ["EdDSA", "Ed25519", "ES256", "RS256"])
def test_a_private_jwk_round_trips(alg: str) -> None:
    key = SigningKey.generate(alg, kid="k")
    imported = SigningKey.from_jwk(private_jwk(key), alg=alg)
    assert imported.can_sign and imported.public_jwk() == key.public_jwk()


def test_an_rsa_jwk_without_its_crt_members_still_signs(rsa_key: SigningKey) -> None:
    """RFC 7518 §6.3.2 makes p, q, dp, dq, qi optional: they are recovered from n, e and d."""
    full = private_jwk(rsa_key)
    short = {k: v for k, v in full.items() if k not in ("p", "q", "dp", "dq", "qi")}
    imported = SigningKey.from_jwk(short)
    assert imported.can_sign
    numbers = imported.signing_material.private_numbers()
    assert public_members(imported.signing_material.public_key()) == public_members(rsa_key.verifying_material)
    assert numbers.p * numbers.q == rsa_key.verifying_material.public_numbers().n


def test_a_weak_secret_in_an_oct_jwk_is_refused() -> None:
    with pytest.raises(WeakKeyError):
        SigningKey.from_jwk({"kty": "oct", "k": b64url(bytes(32)), "kid": "zeros"})


# --- JWK Sets: every key enters through the same door --------------------------------------------------


def test_a_published_jwks_keeps_usable_keys_and_says_why_it_dropped_the_rest(rsa_key: SigningKey) -> None:
    good = SigningKey.generate("Ed25519", kid="good")
    jwks = {"keys": [
        good.public_jwk(),
        {**rsa_key.public_jwk(), "kid": "enc", "use": "enc"},
        {**rsa_key.public_jwk(), "kid": "ops", "key_ops": ["encrypt"]},
        {**rsa_key.public_jwk(), "kid": "rs384", "alg": "RS384"},
        {**private_jwk(ED), "kid": "private"},
        {"kty": "oct", "k": b64url(secrets.token_bytes(32)), "kid": "secret"},
        {**SigningKey.generate("EdDSA").public_jwk(), "kid": "twin"},
        {**SigningKey.generate("EdDSA").public_jwk(), "kid": "twin"},
        {"kty": "OKP", "crv": "Ed25519", "x": good.public_jwk()["x"]},  # no kid: no token can name it
        "not a key",
    ]}
    with pytest.warns(UnusableKeyWarning) as warned:
        imported = import_jwks(jwks, public_only=True)
    assert len(warned) == 8  # RFC 7517 §5: each skipped entry is named; the usable one is kept
    assert isinstance(imported.pop("good"), SigningKey)
    assert {kid: err.reason for kid, err in imported.items()} == {
        "enc": "wrong_use", "ops": "wrong_key_ops", "rs384": "wrong_alg", "private": "unsupported_key",
        "secret": "unsupported_key", "twin": "malformed_key",
    }


def test_a_configured_key_set_may_hold_private_keys() -> None:
    keys = KeySet.from_jwks({"keys": [private_jwk(ED)]})
    assert keys.current.can_sign and keys.kids == ["ed"]
