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
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from jwcrypto import jwk as jc_jwk
from jwcrypto import jws as jc_jws
from jwcrypto import jwt as jc_jwt
from jwt.algorithms import OKPAlgorithm

from authkit.tokens import jws
from authkit.errors import KeyImportError, TokenError
from authkit.tokens.keys import DEFAULT_ALGORITHM, KeySet, SigningKey
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
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


@pytest.mark.parametrize("alg", ["HS256", "EdDSA", "Ed25519", "ES256", "RS256"])
def test_authkit_tokens_verify_with_jwcrypto(alg: str) -> None:
    key = SigningKey.generate(alg)
    token = TokenIssuer(KeySet(key), issuer=ISSUER, audience=AUDIENCE).issue_access("alice", scope="read")
    expected = {"iss": ISSUER, "aud": AUDIENCE}
    checked = jc_jwt.JWT(jwt=token, key=_jwcrypto_key(key), algs=[alg], check_claims=expected)
    assert json.loads(checked.claims)["scope"] == "read"
    assert json.loads(checked.header)["typ"] == "at+jwt"


@pytest.mark.parametrize(
    "alg, params",
    [("EdDSA", {"kty": "OKP", "crv": "Ed25519"}), ("Ed25519", {"kty": "OKP", "crv": "Ed25519"}),
     ("ES256", {"kty": "EC", "crv": "P-256"}),
     ("RS256", {"kty": "RSA", "size": 2048}), ("HS256", {"kty": "oct", "size": 256})],
)
def test_jwcrypto_tokens_verify_with_authkit(alg: str, params: dict) -> None:
    foreign = jc_jwk.JWK.generate(**params)
    exported = json.loads(foreign.export_symmetric() if alg == "HS256" else foreign.export_public())
    key = SigningKey.from_jwk(exported, alg=alg, kid="jc-1")
    with time_machine.travel(T0, tick=False):
        now = int(T0.timestamp())
        claims = {"iss": ISSUER, "sub": "bob", "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": "jc-jti",
                  "client_id": "jc-client"}
        token = jc_jwt.JWT(header={"alg": alg, "kid": "jc-1", "typ": "at+jwt"}, claims=claims)
        token.make_signed_token(foreign)
        got = TokenVerifier(KeySet(key), issuer=ISSUER, audience=AUDIENCE).verify_access(token.serialize())
    assert got["sub"] == "bob"


# RFC 7515 Appendix A.2 (RS256, deterministic) and A.3 (ES256, randomized: verification only), over A.1's payload.
RFC7515_A2_KEY = {
    "kty": "RSA",
    "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SF"
         "d2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo"
         "7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkM"
         "Ls91kzk2PAcDTW9gb54h4FRWyuXpoQ",
    "e": "AQAB",
    "d": "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395"
         "IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV"
         "_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQ"
         "yGWSeWjnczT0QU91p1DhOVRuOopznQ",
    "p": "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7"
         "ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
    "q": "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wD"
         "mpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
    "dp": "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12S"
          "k3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
    "dq": "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd"
          "2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
    "qi": "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLE"
          "dfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U",
}
RFC7515_PAYLOAD = RFC7515_A1_TOKEN.split(".")[1]
RFC7515_A2_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9." + RFC7515_PAYLOAD + "."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr"
    "7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--x"
    "i12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_Ioy"
    "pGlUPQGe77Rw"
)
RFC7515_A3_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
}
RFC7515_A3_TOKEN = (
    "eyJhbGciOiJFUzI1NiJ9." + RFC7515_PAYLOAD
    + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)
RFC7515_CLAIMS = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'


def test_rfc7515_a2_rs256_verifies_and_re_signs_byte_exact() -> None:
    key = SigningKey.from_jwk(RFC7515_A2_KEY, kid="rfc7515-a2")
    assert jws.verify(RFC7515_A2_TOKEN, key) == ({"alg": "RS256"}, RFC7515_CLAIMS)
    signing_input, _, signature = RFC7515_A2_TOKEN.rpartition(".")
    assert _b64(key.signing_material.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())) == signature
    public_only = SigningKey.from_jwk({k: RFC7515_A2_KEY[k] for k in ("kty", "n", "e")}, kid="rfc7515-a2")
    assert jws.verify(RFC7515_A2_TOKEN, public_only)[1] == RFC7515_CLAIMS


def test_rfc7515_a3_es256_verifies_and_a_flipped_bit_does_not() -> None:
    key = SigningKey.from_jwk(RFC7515_A3_KEY, kid="rfc7515-a3")
    assert jws.verify(RFC7515_A3_TOKEN, key) == ({"alg": "ES256"}, RFC7515_CLAIMS)
    head, payload, signature = RFC7515_A3_TOKEN.split(".")
    flipped = signature[:-2] + ("R" if signature[-2] != "R" else "S") + signature[-1]
    with pytest.raises(TokenError) as caught:
        jws.verify(f"{head}.{payload}.{flipped}", key)
    assert caught.value.reason == "bad_signature"


# RFC 7520 §3.4 (RSA) and §3.5 (HMAC) keys, and the §4 signature examples over one text payload.
RFC7520_RSA_KEY = {
    "kty": "RSA",
    "kid": "bilbo.baggins@hobbiton.example",
    "use": "sig",
    "n": "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKr"
         "Kb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5l"
         "FHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__"
         "kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
    "e": "AQAB",
    "d": "bWUC9B-EFRIo8kpGfh0ZuyGPvMNKvYWNtB_ikiH9k20eT-O1q_I78eiZkpXxXQ0UTEs2LsNRS-8uJbvQ-A1irkwMSMkK1J3XTGgdrhCk"
         "u9gRldY7sNA_AKZGh-Q661_42rINLRCe8W-nZ34ui_qOfkLnK9QWDDqpaIsA-bMwWWSDFu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBO"
         "BdkMXiuFhUq1BU6l-DqEiWxqg82sXt2h-LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5Plyl21hsFf4L_"
         "mHCuoFau7gdsPfHPxxjVOcOpBrQzwQ",
    "p": "3Slxg_DwTXJcb6095RoXygQCAZ5RnAvZlno1yhHtnUex_fp7AZ_9nRaO7HX_-SFfGQeutao2TDjDAWU4Vupk8rw9JR0AzZ0N2fvuIAmr"
         "_WCsmGpeNqQnev1T7IyEsnh8UMt-n5CafhkikzhEsrmndH6LxOrvRJlsPp6Zv8bUq0k",
    "q": "uKE2dh-cTf6ERF4k4e_jy78GfPYUIaUyoSSJuBzp3Cubk3OCqs6grT8bR_cu0Dm1MZwWmtdqDyI95HrUeq3MP15vMMON8lHTeZu2lmKv"
         "wqW7anV5UzhM1iZ7z4yMkuUwFWoBvyY898EXvRD-hdqRxHlSqAZ192zB3pVFJ0s7pFc",
    "dp": "B8PVvXkvJrj2L-GYQ7v3y9r6Kw5g9SahXBwsWUzp19TVlgI-YV85q1NIb1rxQtD-IsXXR3-TanevuRPRt5OBOdiMGQp8pbt26gljYfKU"
          "_E9xn-RULHz0-ed9E9gXLKD4VGngpz-PfQ_q29pk5xWHoJp009Qf1HvChixRX59ehik",
    "dq": "CLDmDGduhylc9o7r84rEUVn7pzQ6PF83Y-iBZx5NT-TpnOZKF1pErAMVeKzFEl41DlHHqqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC"
          "3gnJKbi_7k_vJgGHwHxgPaX2PnvP-zyEkDERuf-ry4c_Z11Cq9AqC2yeL6kdKT1cYF8",
    "qi": "3PiqvXQN0zwMeE-sBvZgi289XP9XCQF3VWqPzMKnIgQp7_Tugo6-NZBKCQsMf3HaEGBjTVJs_jcK8-TRXvaKe-7ZMaQj8VfBdYkssbu0"
          "NKDDhjJ-GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h6ZEpMF6xmujs4qMpPz8aaI4",
}
RFC7520_HMAC_KEY = {
    "kty": "oct",
    "kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037",
    "use": "sig",
    "alg": "HS256",
    "k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg",
}
RFC7520_ENC_KEY = {  # §3.6: a key for encryption, which must never verify a signature
    "kty": "oct",
    "kid": "1e571774-2e08-40da-8308-e8d68773842d",
    "use": "enc",
    "alg": "A256GCM",
    "k": "AAPapAv4LbFbiVawEjagUBluYqN5rhna-8nuldDvOx8",
}
RFC7520_TEXT = (
    "It\N{RIGHT SINGLE QUOTATION MARK}s a dangerous business, Frodo, going out your door. You step onto the road, and "
    "if you don't keep your feet, there\N{RIGHT SINGLE QUOTATION MARK}s no knowing where you might be swept off to."
).encode()
RFC7520_PAYLOAD = (
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIG"
    "lmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
)
RFC7520_4_1 = (  # RSA v1.5 (RS256)
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + RFC7520_PAYLOAD + "."
    "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoB"
    "wA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0"
    "ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vj"
    "bU5y18kDquDg"
)
RFC7520_4_2 = (  # RSA-PSS (PS384): not an algorithm authkit has
    "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." + RFC7520_PAYLOAD + "."
    "cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPp"
    "cbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lf"
    "JT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifK"
    "o8DYM-X72Eaw"
)
RFC7520_4_4 = (  # HMAC-SHA2 (HS256)
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9." + RFC7520_PAYLOAD + "."
    "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
)


def test_rfc7520_4_1_rs256_verifies_and_re_signs_byte_exact() -> None:
    key = SigningKey.from_jwk(RFC7520_RSA_KEY, alg="RS256")
    assert key.kid == "bilbo.baggins@hobbiton.example"
    header, payload = jws.verify(RFC7520_4_1, key)
    assert header == {"alg": "RS256", "kid": "bilbo.baggins@hobbiton.example"} and payload == RFC7520_TEXT
    signing_input, _, signature = RFC7520_4_1.rpartition(".")
    assert _b64(key.signing_material.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())) == signature


def test_rfc7520_4_4_hs256_with_the_keys_own_alg_verifies_and_re_signs_byte_exact() -> None:
    key = SigningKey.from_jwk(RFC7520_HMAC_KEY)  # alg, use and kid all come from the JWK
    assert (key.alg, key.kid) == ("HS256", "018c0ae5-4d9b-471b-bfd6-eef314bc7037")
    assert jws.verify(RFC7520_4_4, key)[1] == RFC7520_TEXT
    signing_input, _, signature = RFC7520_4_4.rpartition(".")
    assert _b64(hmac.new(key.signing_material, signing_input.encode(), hashlib.sha256).digest()) == signature


def test_rfc7520_4_2_ps384_verifies_and_an_rs256_binding_of_the_same_key_does_not() -> None:
    """§4.2 is RSA-PSS: randomized, so the vector is verified, never re-signed byte for byte."""
    key = SigningKey.from_jwk(RFC7520_RSA_KEY, alg="PS384")
    header, payload = jws.verify(RFC7520_4_2, key)
    assert header == {"alg": "PS384", "kid": "bilbo.baggins@hobbiton.example"} and payload == RFC7520_TEXT
    signing_input, _, signature = RFC7520_4_2.rpartition(".")
    key.verifying_material.verify(base64.urlsafe_b64decode(signature + "=="), signing_input.encode(),
                                  padding.PSS(padding.MGF1(hashes.SHA384()), 48), hashes.SHA384())
    resigned = jws.sign(RFC7520_TEXT, key)
    assert resigned != jws.sign(RFC7520_TEXT, key)  # a fresh salt each time
    assert jws.verify(resigned, key)[1] == RFC7520_TEXT
    head, body, sig = RFC7520_4_2.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(TokenError) as forged:
        jws.verify(f"{head}.{body}.{flipped}", key)
    assert forged.value.reason == "bad_signature"
    with pytest.raises(TokenError) as caught:  # the same RSA key bound to RS256 never accepts a PS384 token
        jws.verify(RFC7520_4_2, SigningKey.from_jwk(RFC7520_RSA_KEY))
    assert caught.value.reason == "algorithm_not_allowed"


def test_rfc7520_4_1_rs256_token_is_refused_by_the_key_bound_to_ps256() -> None:
    with pytest.raises(TokenError) as caught:
        jws.verify(RFC7520_4_1, SigningKey.from_jwk(RFC7520_RSA_KEY, alg="PS256"))
    assert caught.value.reason == "algorithm_not_allowed"


def test_rfc7520_keys_authkit_must_not_use_are_refused() -> None:
    """§3.6's encryption key never becomes a signing key; a key is never rebound to another algorithm."""
    with pytest.raises(KeyImportError) as refused:
        SigningKey.from_jwk(RFC7520_ENC_KEY)
    assert refused.value.reason == "wrong_use"
    with pytest.raises(KeyImportError) as rebound:
        SigningKey.from_jwk(RFC7520_HMAC_KEY, alg="RS256")
    assert rebound.value.reason == "wrong_alg"


# --- RSASSA-PSS (RFC 7518 §3.5) with PyJWT and jwcrypto, both ways -------------------------------------


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_authkit_pss_tokens_verify_with_pyjwt_and_jwcrypto(alg: str) -> None:
    key = SigningKey.generate(alg)
    token = TokenIssuer(KeySet(key), issuer=ISSUER, audience=AUDIENCE).issue_access("alice", scope="read")
    assert jwt.decode(token, key.verifying_material, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER)["sub"] == "alice"
    from_jwks = jwt.PyJWKSet.from_dict(KeySet(key).jwks())[key.kid]  # PyJWT reads the published JWK as it is
    assert jwt.decode(token, from_jwks, algorithms=[alg], audience=AUDIENCE)["scope"] == "read"
    checked = jc_jwt.JWT(jwt=token, key=jc_jwk.JWK(**key.public_jwk()), algs=[alg],
                         check_claims={"iss": ISSUER, "aud": AUDIENCE})
    assert json.loads(checked.header)["alg"] == alg and json.loads(checked.claims)["sub"] == "alice"


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_pyjwt_and_jwcrypto_pss_tokens_verify_with_authkit(alg: str) -> None:
    foreign = jc_jwk.JWK.generate(kty="RSA", size=2048)
    imported = SigningKey.from_jwk({**json.loads(foreign.export_public()), "alg": alg}, kid="pss-1")
    verifier = TokenVerifier(KeySet(imported), issuer=ISSUER, audience=AUDIENCE)
    with time_machine.travel(T0, tick=False):
        now = int(T0.timestamp())
        claims = {"iss": ISSUER, "sub": "bob", "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": "j",
                  "client_id": "demo-api"}
        signed = jc_jwt.JWT(header={"alg": alg, "kid": "pss-1", "typ": "at+jwt"}, claims=claims)
        signed.make_signed_token(foreign)
        assert verifier.verify_access(signed.serialize())["sub"] == "bob"
        private_pem = foreign.export_to_pem(private_key=True, password=None)
        by_pyjwt = jwt.encode(claims, private_pem, algorithm=alg, headers={"kid": "pss-1", "typ": "at+jwt"})
        assert verifier.verify_access(by_pyjwt)["sub"] == "bob"


def test_a_pss_key_is_published_with_its_algorithm_and_reimported_bound_to_it() -> None:
    key = SigningKey.generate("PS256", kid="pss-pub")
    published = KeySet(key).jwks()["keys"][0]
    assert published["alg"] == "PS256" and published["kty"] == "RSA" and "d" not in published
    again = SigningKey.from_jwk(published)
    assert (again.alg, again.can_sign) == ("PS256", False)
    with pytest.raises(KeyImportError) as rebound:
        SigningKey.from_jwk(published, alg="RS256")
    assert rebound.value.reason == "wrong_alg"
    rs256 = SigningKey.from_jwk({k: v for k, v in published.items() if k != "alg"})
    assert rs256.alg == "RS256"  # an RSA JWK without alg keeps the meaning it had


# --- RFC 9864: "Ed25519", the fully specified name that deprecates "EdDSA" --------------------------------


def test_rfc8037_key_signs_as_ed25519_with_the_same_signature_bytes() -> None:
    """Same curve, same algorithm: only the header's name changes, so only the signing input differs."""
    key = SigningKey.from_jwk(RFC8037_KEY, alg="Ed25519")
    token = jws.sign(b"Example of Ed25519 signing", key)
    header, payload = jws.verify(token, key)
    assert header == {"alg": "Ed25519", "kid": key.kid} and payload == b"Example of Ed25519 signing"
    signing_input, _, signature = token.rpartition(".")
    key.verifying_material.verify(base64.urlsafe_b64decode(signature + "=="), signing_input.encode())
    verified = jc_jws.JWS()
    verified.deserialize(token)
    verified.verify(jc_jwk.JWK(**RFC8037_KEY), alg="Ed25519")
    assert verified.payload == b"Example of Ed25519 signing"


def test_an_eddsa_key_and_an_ed25519_key_never_verify_each_others_tokens() -> None:
    eddsa = SigningKey.from_jwk(RFC8037_KEY, alg="EdDSA")
    ed25519 = SigningKey.from_jwk(RFC8037_KEY, alg="Ed25519")
    for signer, verifier in ((eddsa, ed25519), (ed25519, eddsa)):
        with pytest.raises(TokenError) as caught:
            jws.verify(jws.sign(b"x", signer), verifier)
        assert caught.value.reason == "algorithm_not_allowed"


def test_ed25519_tokens_interoperate_with_jwcrypto_both_ways() -> None:
    key = SigningKey.generate("Ed25519", kid="ed-new")
    token = TokenIssuer(KeySet(key), issuer=ISSUER, audience=AUDIENCE).issue_access("alice")
    checked = jc_jwt.JWT(jwt=token, key=jc_jwk.JWK(**key.public_jwk()), algs=["Ed25519"],
                         check_claims={"iss": ISSUER, "aud": AUDIENCE})
    assert json.loads(checked.header)["alg"] == "Ed25519"
    foreign = jc_jwk.JWK.generate(kty="OKP", crv="Ed25519")
    imported = SigningKey.from_jwk({**json.loads(foreign.export_public()), "alg": "Ed25519"}, kid="jc-ed")
    with time_machine.travel(T0, tick=False):
        now = int(T0.timestamp())
        claims = {"iss": ISSUER, "sub": "bob", "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": "j",
                  "client_id": "jc-client"}
        signed = jc_jwt.JWT(header={"alg": "Ed25519", "kid": "jc-ed", "typ": "at+jwt"}, claims=claims)
        signed.make_signed_token(foreign)
        got = TokenVerifier(KeySet(imported), issuer=ISSUER, audience=AUDIENCE).verify_access(signed.serialize())
    assert got["sub"] == "bob"


def test_pyjwt_verifies_ed25519_once_the_name_is_registered() -> None:
    """PyJWT lets an application register an algorithm; authkit does exactly this on its own PyJWS."""
    key = SigningKey.generate("Ed25519")
    token = TokenIssuer(KeySet(key), issuer=ISSUER, audience=AUDIENCE).issue_access("alice")
    pyjws = jwt.PyJWS(algorithms=[])
    pyjws.register_algorithm("Ed25519", OKPAlgorithm())
    assert json.loads(pyjws.decode(token, key.verifying_material, algorithms=["Ed25519"]))["sub"] == "alice"


def test_why_eddsa_stays_the_default_plain_pyjwt_refuses_ed25519() -> None:
    """The day this fails, PyJWT knows "Ed25519": make it ``SigningKey.generate``'s default (keys.DEFAULT_ALGORITHM)."""
    assert DEFAULT_ALGORITHM == "EdDSA" and SigningKey.generate().alg == "EdDSA"
    key = SigningKey.generate("Ed25519")
    token = TokenIssuer(KeySet(key), issuer=ISSUER, audience=AUDIENCE).issue_access("alice")
    with pytest.raises(jwt.InvalidAlgorithmError):
        jwt.decode(token, key.verifying_material, algorithms=["Ed25519"], audience=AUDIENCE)
    with pytest.raises(jwt.PyJWKSetError):  # PyJWKClient's parser drops the key: a JWKS of it has no usable key
        jwt.PyJWKSet.from_dict({"keys": [key.public_jwk()]})


def test_the_ed25519_name_takes_no_other_curve() -> None:
    """RFC 9864's point: "EdDSA" also covers Ed448 (PyJWT's EdDSA takes an Ed448 key), "Ed25519" does not."""
    ed448 = Ed448PrivateKey.generate()
    assert jws._PYJWS.get_algorithm_by_name("EdDSA").prepare_key(ed448) is ed448
    with pytest.raises(jwt.InvalidKeyError):
        jws._PYJWS.get_algorithm_by_name("Ed25519").prepare_key(ed448)
