"""The classic JWT attacks, each built by hand and each refused by authkit with its typed reason."""

from __future__ import annotations

import hashlib

import flask
import jwt
import pytest

from authkit.tokens import jws
from authkit.tokens.cracking import Cracked, crack_hs256
from authkit.errors import TokenError, WeakKeyError
from authkit.tokens.keys import KeySet, SigningKey
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from authkit.web.server import serve
from tests.jwt_forge import AUDIENCE, ISSUER, b64, claims, compact, header, hs256, with_key

WORDLIST = [b"password", b"123456", b"changeme", b"jwt-secret", b"secret", b"letmein", b"admin"]


@pytest.fixture(scope="module")
def ed_key() -> SigningKey:
    return SigningKey.generate("EdDSA", kid="ed-1")


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey.generate("RS256", kid="rsa-1")


@pytest.fixture(scope="module")
def hs_key() -> SigningKey:
    return SigningKey.generate("HS256", kid="hs-1")


@pytest.fixture(scope="module")
def keys(ed_key: SigningKey, rsa_key: SigningKey, hs_key: SigningKey) -> KeySet:
    return KeySet(ed_key, rsa_key, hs_key)


@pytest.fixture(scope="module")
def verifier(keys: KeySet) -> TokenVerifier:
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


def reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(TokenError) as caught:
        verifier.verify_access(token)
    return caught.value.reason


def test_control_a_hand_made_token_with_the_real_key_is_accepted(verifier: TokenVerifier, ed_key: SigningKey) -> None:
    assert verifier.verify_access(compact(header(ed_key), claims(), with_key(ed_key)))["sub"] == "alice"


def test_tampered_payload_keeps_the_old_signature(verifier: TokenVerifier, ed_key: SigningKey) -> None:
    """The "never checks the signature" bug: a naive decode accepts the edit, authkit does not."""
    good = compact(header(ed_key), claims(), with_key(ed_key))
    head, _, signature = good.split(".")
    forged = f"{head}.{b64(claims(sub='admin'))}.{signature}"
    assert jwt.decode(forged, options={"verify_signature": False})["sub"] == "admin"  # the bug
    assert reason(verifier, forged) == "bad_signature"


@pytest.mark.parametrize("keep", [0, 1, 16, 63])
def test_missing_or_truncated_signature(verifier: TokenVerifier, ed_key: SigningKey, keep: int) -> None:
    """A prefix compare (or an empty signature) would pass these; a full verify does not."""
    signing_input = compact(header(ed_key), claims(sub="admin"), None)[:-1]
    real = with_key(ed_key)(signing_input.encode())
    assert reason(verifier, f"{signing_input}.{b64(real[:keep])}") in {"bad_signature", "malformed"}


def test_hmac_signature_prefix_is_not_enough(verifier: TokenVerifier, hs_key: SigningKey) -> None:
    signing_input = compact(header(hs_key), claims(sub="admin"), None)[:-1]
    real = hs256(hs_key.signing_material)(signing_input.encode())
    assert reason(verifier, f"{signing_input}.{b64(real[:8] + bytes(24))}") == "bad_signature"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", ""])
@pytest.mark.parametrize("signature", [None, hs256(b"")])
def test_alg_none(verifier: TokenVerifier, ed_key: SigningKey, alg: str, signature) -> None:
    token = compact(header(ed_key, alg=alg), claims(sub="admin"), signature)
    assert reason(verifier, token) == "algorithm_not_allowed"


def test_alg_none_without_kid(verifier: TokenVerifier) -> None:
    assert reason(verifier, compact({"alg": "none", "typ": "at+jwt"}, claims(), None)) == "algorithm_not_allowed"


def test_weak_hmac_secret_is_cracked_but_authkit_never_holds_one(hs_key: SigningKey) -> None:
    """A 6-byte secret falls to a 7-word list; authkit refuses such a secret, and a 256-bit one is out of reach."""
    weak_token = compact({"alg": "HS256", "typ": "JWT"}, claims(), hs256(b"secret"))
    strong_token = compact(header(hs_key), claims(), with_key(hs_key))
    assert crack_hs256(weak_token, WORDLIST) == Cracked(b"secret", b"secret", 5)
    assert crack_hs256(strong_token, WORDLIST) is None
    with pytest.raises(WeakKeyError):
        SigningKey.from_secret(b"secret", kid="weak")


def test_a_hashed_phrase_passes_the_guard_and_still_falls_to_a_word_list() -> None:
    """The guard's blind spot: SHA-256 of a phrase looks random, so only a word list finds it (PyJWT agrees)."""
    secret = hashlib.sha256(b"authkit course demo secret").digest()
    server = KeySet(SigningKey.from_secret(secret, kid="demo"))  # accepted: nothing in the bytes shows
    token = jwt.encode({"sub": "alice"}, secret, algorithm="HS256")
    phrases = [b"password", b"jwt secret", b"authkit course demo secret", b"letmein"]
    found = crack_hs256(token, phrases, derive=lambda word: hashlib.sha256(word).digest())
    assert found is not None and (found.word, found.secret, found.tries) == (phrases[2], secret, 3)
    assert jwt.decode(token, found.secret, algorithms=["HS256"]) == {"sub": "alice"}
    forged = jwt.encode(claims(sub="admin"), found.secret, algorithm="HS256", headers={"kid": "demo", "typ": "at+jwt"})
    assert TokenVerifier(server, issuer=ISSUER, audience=AUDIENCE).verify_access(forged)["sub"] == "admin"
    assert crack_hs256(token, phrases) is None  # the words themselves are not the secret


def test_a_generated_key_is_out_of_a_word_lists_reach() -> None:
    key = SigningKey.generate("HS256")
    token = jwt.encode({"sub": "alice"}, key.signing_material, algorithm="HS256")
    assert crack_hs256(token, WORDLIST) is None
    assert crack_hs256(token, WORDLIST, derive=lambda word: hashlib.sha256(word).digest()) is None


def test_jwk_header_injection(verifier: TokenVerifier, ed_key: SigningKey) -> None:
    """The attacker signs with their own key and ships its public half in the header; it is ignored."""
    attacker = SigningKey.generate("EdDSA")
    for kid in (attacker.kid, ed_key.kid):
        token = compact(header(attacker, jwk=attacker.public_jwk(), kid=kid), claims(sub="admin"), with_key(attacker))
        assert reason(verifier, token) == ("unknown_key" if kid == attacker.kid else "bad_signature")


def test_jku_header_injection_is_never_fetched(verifier: TokenVerifier, ed_key: SigningKey) -> None:
    """A real attacker JWKS on loopback: authkit never asks it for anything."""
    attacker = SigningKey.generate("EdDSA")
    fetched: list[str] = []
    evil = flask.Flask("evil")

    @evil.get("/jwks.json")
    def jwks():
        fetched.append(flask.request.path)
        return {"keys": [attacker.public_jwk()]}

    with serve(evil) as running:
        for kid in (attacker.kid, ed_key.kid):
            hdr = header(attacker, jku=f"{running.url}/jwks.json", kid=kid)
            token = compact(hdr, claims(sub="admin"), with_key(attacker))
            assert reason(verifier, token) in {"unknown_key", "bad_signature"}
    assert fetched == []


@pytest.mark.parametrize("kid", ["../../../../../../dev/null", "/dev/null", "../keys/hs-1", "hs-1/../hs-1", "hs-1\x00"])
def test_kid_path_traversal(verifier: TokenVerifier, kid: str) -> None:
    """A kid is a name looked up in a dict, never a path: /dev/null's empty key signs nothing here."""
    token = compact({"alg": "HS256", "kid": kid, "typ": "at+jwt"}, claims(sub="admin"), hs256(b""))
    assert reason(verifier, token) == "unknown_key"


def test_kid_sql_injection_style_values(verifier: TokenVerifier) -> None:
    token = compact({"alg": "HS256", "kid": "x' UNION SELECT 'k", "typ": "at+jwt"}, claims(), hs256(b"k"))
    assert reason(verifier, token) == "unknown_key"


def test_hs256_rs256_algorithm_confusion(verifier: TokenVerifier, rsa_key: SigningKey) -> None:
    """HMAC keyed with the RSA public key's PEM (which PyJWT refuses to produce): refused by alg."""
    pem = rsa_key.public_pem()
    with pytest.raises(jwt.InvalidKeyError):
        jwt.encode(claims(), pem, algorithm="HS256")
    confused = compact(header(rsa_key, alg="HS256"), claims(sub="admin"), hs256(pem))
    assert reason(verifier, confused) == "algorithm_not_allowed"
    kept_alg = compact(header(rsa_key), claims(sub="admin"), hs256(pem))
    assert reason(verifier, kept_alg) == "bad_signature"


@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "HS512", "PS256", "Ed25519"])
def test_the_token_cannot_choose_another_algorithm_for_a_key(verifier: TokenVerifier, ed_key: SigningKey,
                                                            alg: str) -> None:
    token = compact(header(ed_key, alg=alg), claims(), hs256(b"x" * 32))
    assert reason(verifier, token) == "algorithm_not_allowed"


def test_refresh_token_replayed_as_access_token(keys: KeySet, verifier: TokenVerifier) -> None:
    issuer = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)
    assert reason(verifier, issuer.issue_refresh("alice")) == "wrong_type"


def test_unknown_crit_extension_is_refused(verifier: TokenVerifier, ed_key: SigningKey) -> None:
    token = compact(header(ed_key, crit=["exp-policy"], **{"exp-policy": 1}), claims(), with_key(ed_key))
    assert reason(verifier, token) == "malformed"


def test_jws_verify_refuses_a_mismatched_alg_even_when_called_directly(ed_key: SigningKey) -> None:
    with pytest.raises(TokenError) as caught:
        jws.verify(compact(header(ed_key, alg="HS256"), claims(), hs256(b"k" * 32)), ed_key)
    assert caught.value.reason == "algorithm_not_allowed"
