"""Published examples verify byte-exact; authkit, plain PyJWT and jwcrypto read each other's tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
import time_machine
from jwcrypto import jwk as jc_jwk
from jwcrypto import jwt as jc_jwt

from authkit import jws
from authkit.errors import TokenError
from authkit.keys import KeySet, SigningKey
from authkit.tokens import TokenIssuer, TokenVerifier
from tests.jwt_forge import AUDIENCE, ISSUER

# RFC 7515 Appendix A.1: HS256, a header and payload with CRLF line breaks, exp in March 2011.
RFC7515_A1_KEY = {
    "kty": "oct",
    "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
}
RFC7515_A1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
# RFC 8037 Appendix A.1 and A.4: an Ed25519 key and its signature over "Example of Ed25519 signing".
RFC8037_KEY = {
    "kty": "OKP",
    "crv": "Ed25519",
    "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
}
RFC8037_A4_TOKEN = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
    ".hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_rfc7515_a1_verifies_byte_exact() -> None:
    key = SigningKey.from_jwk(RFC7515_A1_KEY, kid="rfc7515-a1")
    header, payload = jws.verify(RFC7515_A1_TOKEN, key)
    assert header == {"typ": "JWT", "alg": "HS256"}
    assert payload == b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'
    signing_input, _, signature = RFC7515_A1_TOKEN.rpartition(".")
    mac = hmac.new(key.signing_material, signing_input.encode(), hashlib.sha256).digest()
    assert _b64(mac) == signature


def test_rfc7515_a1_claims_hold_in_2011_and_are_expired_now() -> None:
    key = SigningKey.from_jwk(RFC7515_A1_KEY, kid="rfc7515-a1")
    check = dict(issuer="joe", audience=None, leeway=timedelta(0), require=("exp",))
    with time_machine.travel(datetime(2011, 3, 22, 18, 0, tzinfo=timezone.utc), tick=False):
        assert jws.verify_claims(RFC7515_A1_TOKEN, key, **check)[1]["http://example.com/is_root"] is True
    with pytest.raises(TokenError) as caught:
        jws.verify_claims(RFC7515_A1_TOKEN, key, **check)
    assert caught.value.reason == "expired"


def test_rfc8037_a4_verifies_and_re_signs_byte_exact() -> None:
    key = SigningKey.from_jwk(RFC8037_KEY)
    assert jws.verify(RFC8037_A4_TOKEN, key) == ({"alg": "EdDSA"}, b"Example of Ed25519 signing")
    signing_input, _, signature = RFC8037_A4_TOKEN.rpartition(".")
    assert _b64(key.signing_material.sign(signing_input.encode())) == signature  # Ed25519 is deterministic
    public_only = SigningKey.from_jwk({k: v for k, v in RFC8037_KEY.items() if k != "d"})
    assert jws.verify(RFC8037_A4_TOKEN, public_only)[1] == b"Example of Ed25519 signing"


def test_rfc8037_a4_with_one_bit_flipped_is_refused() -> None:
    key = SigningKey.from_jwk(RFC8037_KEY)
    tampered = RFC8037_A4_TOKEN.replace("RXhhbXBsZSBvZiBF", "RXhhbXBsZSBvZiBG")
    with pytest.raises(TokenError) as caught:
        jws.verify(tampered, key)
    assert caught.value.reason == "bad_signature"


def test_hs256_is_byte_identical_to_pyjwt() -> None:
    secret, claims = bytes(range(32)), {"sub": "alice", "iat": 1767258000}
    body = json.dumps(claims, separators=(",", ":")).encode()
    by_hand_input = _b64(b'{"alg":"HS256","typ":"JWT"}') + "." + _b64(body)
    by_hand = by_hand_input + "." + _b64(hmac.new(secret, by_hand_input.encode(), hashlib.sha256).digest())
    assert by_hand == jwt.encode(claims, secret, algorithm="HS256")


@pytest.mark.parametrize("alg", ["HS256", "EdDSA", "ES256", "RS256"])
def test_authkit_tokens_verify_with_plain_pyjwt(alg: str) -> None:
    key = SigningKey.generate(alg)
    token = TokenIssuer(KeySet(key), issuer=ISSUER, audience=AUDIENCE).issue_access("alice")
    material = key.verifying_material
    claims = jwt.decode(token, material, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == "alice"


def _jwcrypto_key(key: SigningKey) -> jc_jwk.JWK:
    if key.alg == "HS256":
        return jc_jwk.JWK(kty="oct", k=_b64(key.signing_material))
    return jc_jwk.JWK(**key.public_jwk())


@pytest.mark.parametrize("alg", ["HS256", "EdDSA", "ES256", "RS256"])
def test_authkit_tokens_verify_with_jwcrypto(alg: str) -> None:
    key = SigningKey.generate(alg)
    token = TokenIssuer(KeySet(key), issuer=ISSUER, audience=AUDIENCE).issue_access("alice", scope="read")
    expected = {"iss": ISSUER, "aud": AUDIENCE}
    checked = jc_jwt.JWT(jwt=token, key=_jwcrypto_key(key), algs=[alg], check_claims=expected)
    assert json.loads(checked.claims)["scope"] == "read"
    assert json.loads(checked.header)["typ"] == "at+jwt"


@pytest.mark.parametrize(
    "alg, params",
    [("EdDSA", {"kty": "OKP", "crv": "Ed25519"}), ("ES256", {"kty": "EC", "crv": "P-256"}),
     ("RS256", {"kty": "RSA", "size": 2048}), ("HS256", {"kty": "oct", "size": 256})],
)
def test_jwcrypto_tokens_verify_with_authkit(alg: str, params: dict) -> None:
    foreign = jc_jwk.JWK.generate(**params)
    exported = json.loads(foreign.export_symmetric() if alg == "HS256" else foreign.export_public())
    key = SigningKey.from_jwk(exported, alg=alg, kid="jc-1")
    with time_machine.travel(T0, tick=False):
        now = int(T0.timestamp())
        claims = {"iss": ISSUER, "sub": "bob", "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": "jc-jti"}
        token = jc_jwt.JWT(header={"alg": alg, "kid": "jc-1", "typ": "at+jwt"}, claims=claims)
        token.make_signed_token(foreign)
        got = TokenVerifier(KeySet(key), issuer=ISSUER, audience=AUDIENCE).verify_access(token.serialize())
    assert got["sub"] == "bob"
