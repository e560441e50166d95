"""authkit.tokens: what access and refresh tokens carry, and one typed refusal per broken rule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit import jws
from authkit.errors import TOKEN_REASONS, TokenError
from authkit.keys import ALGORITHMS, KeySet, SigningKey
from authkit.tokens import (
    ACCESS_TOKEN_TYPE,
    REFRESH_TOKEN_TYPE,
    TokenIssuer,
    TokenVerifier,
)
from tests.conftest import refused
from tests.jwt_forge import AUDIENCE, ISSUER, b64, claims

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller




def signed(keys: KeySet, payload: dict, typ: str = ACCESS_TOKEN_TYPE) -> str:
    """A token with exactly these claims, properly signed by the current key."""
    return jws.sign_claims(payload, keys.current, typ=typ)


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_access_token_round_trip(alg: str, clock: time_machine.Coordinates) -> None:
    keys = KeySet(SigningKey.generate(alg, kid="k"))
    token = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE).issue_access("alice", scope="read write")
    got = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE).verify_access(token)
    now = int(T0.timestamp())
    assert {k: got[k] for k in ("iss", "sub", "aud", "iat", "exp", "scope")} == {
        "iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "iat": now, "exp": now + 900, "scope": "read write",
    }
    assert jws.read_header(token) == {"alg": alg, "kid": "k", "typ": "at+jwt"}


def test_refresh_token_lifetime_extra_claims_and_unique_jti(issuer: TokenIssuer, verifier: TokenVerifier,
                                                            clock: time_machine.Coordinates) -> None:
    first = verifier.verify_refresh(issuer.issue_refresh("alice", claims={"fam": "f1", "ver": 3}))
    second = verifier.verify_refresh(issuer.issue_refresh("alice"))
    assert first["exp"] - first["iat"] == 14 * 24 * 3600
    assert (first["fam"], first["ver"]) == ("f1", 3) and "scope" not in first
    assert first["jti"] != second["jti"] and len(first["jti"]) >= 22  # 16 random bytes in base64url


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "iat", "exp", "jti"])
def test_extra_claims_cannot_override_registered_ones(issuer: TokenIssuer, claim: str) -> None:
    with pytest.raises(ValueError, match="override"):
        issuer.issue_access("alice", claims={claim: "x"})


def test_issuer_refuses_an_empty_subject_and_a_verify_only_key(keys: KeySet, issuer: TokenIssuer) -> None:
    with pytest.raises(ValueError):
        issuer.issue_access("")
    public = KeySet(SigningKey.from_jwk(keys.current.public_jwk()))
    with pytest.raises(ValueError, match="verify-only"):
        TokenIssuer(public, issuer=ISSUER, audience=AUDIENCE)


def test_expired(issuer: TokenIssuer, verifier: TokenVerifier, clock: time_machine.Coordinates) -> None:
    token = issuer.issue_access("alice")
    clock.shift(timedelta(minutes=15) - timedelta(seconds=1))
    assert verifier.verify_access(token)["sub"] == "alice"
    clock.shift(timedelta(seconds=1))  # at exp the token is dead (RFC 7519 §4.1.4)
    assert refused(verifier.verify_access, token) == "expired"


def test_leeway_absorbs_clock_skew_and_no_more(keys: KeySet, issuer: TokenIssuer,
                                               clock: time_machine.Coordinates) -> None:
    lenient = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway=timedelta(seconds=30))
    token = issuer.issue_access("alice")
    clock.shift(timedelta(minutes=15, seconds=20))
    assert lenient.verify_access(token)["sub"] == "alice"
    clock.shift(timedelta(seconds=11))
    assert refused(lenient.verify_access, token) == "expired"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_not_yet_valid(keys: KeySet, verifier: TokenVerifier, clock: time_machine.Coordinates, claim: str) -> None:
    future = int(T0.timestamp()) + 120
    token = signed(keys, claims(**{claim: future}))
    assert refused(verifier.verify_access, token) == "not_yet_valid"
    clock.shift(timedelta(seconds=120))
    assert verifier.verify_access(token)["sub"] == "alice"


def test_wrong_audience(keys: KeySet, issuer: TokenIssuer) -> None:
    other = TokenVerifier(keys, issuer=ISSUER, audience="https://billing.example")
    assert refused(other.verify_access, issuer.issue_access("alice")) == "wrong_audience"


def test_audience_list_containing_ours_is_accepted(keys: KeySet, verifier: TokenVerifier) -> None:
    token = signed(keys, claims(aud=["https://billing.example", AUDIENCE]))
    assert verifier.verify_access(token)["sub"] == "alice"


def test_wrong_issuer(keys: KeySet, issuer: TokenIssuer) -> None:
    other = TokenVerifier(keys, issuer="https://evil.example", audience=AUDIENCE)
    assert refused(other.verify_access, issuer.issue_access("alice")) == "wrong_issuer"


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "iat", "exp", "jti"])
def test_missing_claim(keys: KeySet, verifier: TokenVerifier, claim: str) -> None:
    assert refused(verifier.verify_access, signed(keys, claims(**{claim: None}))) == "missing_claim"


@pytest.mark.parametrize(
    "typ, expected",
    [(REFRESH_TOKEN_TYPE, "wrong_type"), ("JWT", "wrong_type"), (None, "wrong_type"), ("application/at+jwt", None),
     ("AT+JWT", None)],
)
def test_access_typ(keys: KeySet, verifier: TokenVerifier, typ: str | None, expected: str | None) -> None:
    token = jws.sign_claims(claims(), keys.current, typ=typ)  # type: ignore[arg-type]
    if expected is None:
        assert verifier.verify_access(token)["sub"] == "alice"
    else:
        assert refused(verifier.verify_access, token) == expected


def test_refresh_and_access_never_pass_as_each_other(issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    assert refused(verifier.verify_access, issuer.issue_refresh("alice")) == "wrong_type"
    assert refused(verifier.verify_refresh, issuer.issue_access("alice")) == "wrong_type"


def test_unknown_key(issuer: TokenIssuer) -> None:
    stranger = KeySet(SigningKey.generate("EdDSA", kid="other"))
    assert refused(TokenVerifier(stranger, issuer=ISSUER, audience=AUDIENCE).verify_access,
                   issuer.issue_access("alice")) == "unknown_key"


def test_bad_signature_from_a_key_with_the_same_kid(issuer: TokenIssuer) -> None:
    impostor = KeySet(SigningKey.generate("EdDSA", kid="k1"))
    assert refused(TokenVerifier(impostor, issuer=ISSUER, audience=AUDIENCE).verify_access,
                   issuer.issue_access("alice")) == "bad_signature"


@pytest.mark.parametrize(
    "token",
    [
        "", ".", "..", "a.b", "a.b.c.d", "not a token", "Bearer abc", "eyJ.eyJ.sig", "e30.e30.", b"\x00.\x01.\x02",
        "x" * 100_000, "é.é.é", "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.bm90IGpzb24.AAAA",
        b64({"alg": "EdDSA", "kid": "k1"}) + "." + b64(b"[1,2]") + ".AAAA",
        b64({"alg": "EdDSA", "kid": 7}) + "." + b64(claims()) + ".AAAA",
        b64(b'"just a string"') + "." + b64(claims()) + ".AAAA",
        b64({"alg": "EdDSA", "kid": "k1"}) + "===." + b64(claims()) + ".AAAA",
    ],
)
def test_garbage_is_malformed_or_refused(verifier: TokenVerifier, token: str | bytes) -> None:
    assert refused(verifier.verify_access, token) in {"malformed", "bad_signature", "unknown_key"}


@pytest.mark.parametrize("respell", [lambda s: s + "==", lambda s: s + "=", lambda s: s[:10] + "\n" + s[10:],
                                     lambda s: s.replace("-", "+").replace("_", "/")],
                         ids=["padded", "one-equals", "newline", "plain-base64-alphabet"])
def test_a_genuine_token_respelled_is_malformed(issuer: TokenIssuer, verifier: TokenVerifier, respell) -> None:
    """One token, one spelling: padding or characters outside base64url (RFC 7515 §2) are refused."""
    while True:  # a signature with at least one '-' or '_', so the alphabet swap changes something
        head, payload, signature = issuer.issue_access("alice").split(".")
        if "-" in signature or "_" in signature:
            break
    assert verifier.verify_access(f"{head}.{payload}.{signature}")["sub"] == "alice"
    assert refused(verifier.verify_access, f"{head}.{payload}.{respell(signature)}") == "malformed"


@pytest.mark.parametrize("bad", [{"exp": "tomorrow"}, {"iat": "now"}, {"sub": 42}, {"jti": 1}, {"nbf": [1]}])
def test_claims_of_the_wrong_type_are_malformed(keys: KeySet, verifier: TokenVerifier, bad: dict) -> None:
    assert refused(verifier.verify_access, signed(keys, claims(**bad))) == "malformed"


def test_token_error_only_takes_known_reasons() -> None:
    with pytest.raises(ValueError):
        TokenError("because")


_KEYS = KeySet(SigningKey.generate("EdDSA", kid="k1"), SigningKey.generate("HS256", kid="h1"))
_VERIFIER = TokenVerifier(_KEYS, issuer=ISSUER, audience=AUDIENCE)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_header = st.fixed_dictionaries(
    {}, optional={"alg": st.sampled_from(["EdDSA", "HS256", "none", "RS256"]) | _json,
                  "kid": st.sampled_from(["k1", "h1"]) | _json, "typ": _json, "crit": _json}
)
_payload = _json.map(lambda value: b64(json.dumps(value).encode()))
_segments = st.tuples(_header.map(b64), _payload, st.binary(max_size=80).map(b64))


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary() | _segments.map(".".join) | st.lists(st.text(max_size=40), max_size=5).map(".".join))
def test_any_input_gives_only_token_error(token: str | bytes) -> None:
    for verify in (_VERIFIER.verify_access, _VERIFIER.verify_refresh):
        with pytest.raises(TokenError) as caught:
            verify(token)
        assert caught.value.reason in TOKEN_REASONS
