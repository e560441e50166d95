"""authkit.tokens.issuer: what access and refresh tokens carry, and one typed refusal per broken rule."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import Iterator

import jwt
import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit.tokens import jws
from authkit.errors import TOKEN_REASONS, KeyRetirementError, TokenError
from authkit.tokens.keys import ALGORITHMS, KeySet, SigningKey
from authkit.tokens.issuer import (
    ACCESS_TOKEN_TYPE,
    REFRESH_TOKEN_TYPE,
    TokenIssuer,
    TokenVerifier,
)
from tests.conftest import refused
from tests.jwt_forge import AUDIENCE, ISSUER, b64, claims, compact, with_key

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


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "iat", "exp", "jti", "client_id"])
def test_extra_claims_cannot_override_registered_ones(issuer: TokenIssuer, claim: str) -> None:
    with pytest.raises(ValueError, match="override"):
        issuer.issue_access("alice", claims={claim: "x"})


def test_access_tokens_carry_the_requesting_clients_id_rfc9068(keys: KeySet, verifier: TokenVerifier) -> None:
    """RFC 9068 §2.2: client_id is required; the first-party default is the API's own identifier."""
    first_party = verifier.verify_access(TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE).issue_access("alice"))
    assert first_party["client_id"] == AUDIENCE
    spa = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE, client_id="spa-1")
    assert verifier.verify_access(spa.issue_access("alice"))["client_id"] == "spa-1"
    assert "client_id" not in verifier.verify_refresh(spa.issue_refresh("alice"))  # an access-token claim only
    for bad in ("", 7, b"spa"):
        with pytest.raises(ValueError, match="client_id"):
            TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE, client_id=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("client_id", ["", 7, ["a"], {"id": "a"}, True])
def test_an_access_token_whose_client_id_is_not_a_string_is_malformed(keys: KeySet, verifier: TokenVerifier,
                                                                     client_id: object) -> None:
    assert refused(verifier.verify_access, signed(keys, claims(client_id=client_id))) == "malformed"


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


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "iat", "exp", "jti", "client_id"])
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


# --- NumericDate (RFC 7519 §2): a JSON number, compared exactly ----------------------------------------

NOW = int(T0.timestamp())
LATER = NOW + 900


@pytest.mark.parametrize(
    "value",
    [str(LATER), f" {LATER}\n", f"{LATER:_}", str(LATER).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
     True, False, [LATER], {"t": LATER}, float("inf")],
    ids=["digits", "padded", "underscores", "arabic-indic", "true", "false", "list", "object", "huge"],
)
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_a_numericdate_that_is_not_a_json_number_is_malformed(keys: KeySet, verifier: TokenVerifier,
                                                               clock: time_machine.Coordinates, claim: str,
                                                               value: object) -> None:
    payload = claims(**{claim: value})
    body = json.dumps(payload).replace("Infinity", "1e400").encode()  # 1e400 is valid JSON; it overflows to inf
    assert refused(verifier.verify_access, compact({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"}, body,
                                                   with_key(keys.current))) == "malformed"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_literals_are_malformed(keys: KeySet, verifier: TokenVerifier, literal: str) -> None:
    """Python's json reads NaN and Infinity; JSON has neither (RFC 8259 §6), and NaN would compare as never expired."""
    body = json.dumps(claims(exp=0)).replace('"exp":0', f'"exp":{literal}').replace('"exp": 0', f'"exp": {literal}')
    assert literal in body
    token = compact({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"}, body.encode(), with_key(keys.current))
    assert refused(verifier.verify_access, token) == "malformed"


def test_pyjwt_alone_takes_numeric_strings_and_calls_true_expired(keys: KeySet,
                                                                  clock: time_machine.Coordinates) -> None:
    """What the strict check replaces: PyJWT's int() conversion (measured on the installed PyJWT)."""
    material = keys.current.verifying_material
    options = dict(algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)
    assert jwt.decode(signed(keys, claims(exp=f" {LATER}\n")), material, **options)["sub"] == "alice"
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(signed(keys, claims(exp=True)), material, **options)
    assert jwt.decode(signed(keys, claims(nbf=NOW + 0.9)), material, **options)["sub"] == "alice"


def test_exp_true_is_malformed_not_expired(keys: KeySet, verifier: TokenVerifier,
                                          clock: time_machine.Coordinates) -> None:
    assert refused(verifier.verify_access, signed(keys, claims(exp=True))) == "malformed"


@pytest.mark.parametrize(
    "claim, value, at, expected",
    [
        ("nbf", NOW + 0.9, 0, "not_yet_valid"), ("nbf", NOW + 0.9, 0.9, None),
        ("iat", NOW + 0.5, 0, "not_yet_valid"), ("iat", NOW + 0.5, 0.5, None),
        ("exp", NOW + 0.5, 0, None), ("exp", NOW + 0.5, 0.49, None), ("exp", NOW + 0.5, 0.5, "expired"),
        ("exp", NOW + 900.25, 900.25, "expired"), ("nbf", NOW - 0.1, 0, None),
    ],
)
def test_fractional_times_are_compared_exactly(keys: KeySet, verifier: TokenVerifier,
                                               clock: time_machine.Coordinates, claim: str, value: float, at: float,
                                               expected: str | None) -> None:
    """nbf = now + 0.9 is not valid yet (PyJWT truncates it to now); exp = now + 0.5 is still valid at now."""
    token = signed(keys, claims(**{claim: value}))
    clock.move_to(T0 + timedelta(seconds=at))
    if expected is None:
        assert verifier.verify_access(token)["sub"] == "alice"
    else:
        assert refused(verifier.verify_access, token) == expected


def test_leeway_applies_to_fractional_times(keys: KeySet, clock: time_machine.Coordinates) -> None:
    lenient = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, leeway=timedelta(seconds=1.5))
    assert lenient.verify_access(signed(keys, claims(nbf=NOW + 1.5)))["sub"] == "alice"
    assert refused(lenient.verify_access, signed(keys, claims(nbf=NOW + 1.51))) == "not_yet_valid"
    clock.move_to(T0 + timedelta(seconds=901.49))
    assert lenient.verify_access(signed(keys, claims(exp=NOW + 900)))["sub"] == "alice"


def test_a_future_iat_is_refused_as_authkit_policy(keys: KeySet, verifier: TokenVerifier,
                                                   clock: time_machine.Coordinates) -> None:
    """RFC 7519 §4.1.6 does not require it; authkit (like PyJWT) refuses a token issued in the future."""
    assert refused(verifier.verify_access, signed(keys, claims(iat=NOW + 60))) == "not_yet_valid"


# --- authkit's claim checks agree with PyJWT's wherever PyJWT is right ---------------------------------

_PYJWT_REASONS = [
    (jwt.ExpiredSignatureError, "expired"), (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"), (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"), (jwt.InvalidTokenError, "malformed"),
]
_DROP = object()  # a claim left out


def _mostly(valid: object, *others: object) -> st.SearchStrategy:
    """``valid`` most of the time, else one of ``others`` or the claim left out."""
    return st.one_of(st.just(valid), st.just(valid), st.just(valid), st.sampled_from([*others, _DROP]))


def _time(low: int, high: int) -> st.SearchStrategy:
    """A time in [low, high], left out one time in ten."""
    return st.tuples(st.integers(0, 9), st.integers(low, high)).map(lambda drawn: drawn[1] if drawn[0] else _DROP)


_claim_values = {
    "iss": _mostly(ISSUER, "https://evil.example", 7),
    "sub": _mostly("alice", 42),
    "aud": _mostly(AUDIENCE, [AUDIENCE, "x"], "x", ["x"], [], "", [7], 7),
    "iat": _time(NOW - 2000, NOW + 60),
    "nbf": st.one_of(st.just(_DROP), st.integers(NOW - 60, NOW + 60)),
    "exp": _time(NOW - 60, NOW + 2000),
    "jti": _mostly("j", 1),
    "client_id": st.just(AUDIENCE),  # RFC 9068's claim, which PyJWT does not know: tested on its own below
}
_claim_sets = st.fixed_dictionaries(_claim_values).map(
    lambda drawn: {name: value for name, value in drawn.items() if value is not _DROP})


def _pyjwt_reason(token: str, keys: KeySet, leeway: int) -> str | None:
    """PyJWT's verdict on ``token``, as the reason authkit would give for the same rule."""
    try:
        jwt.decode(token, keys.current.verifying_material, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                   leeway=leeway, options={"require": ["iss", "sub", "aud", "iat", "exp", "jti"]})
    except jwt.InvalidTokenError as err:
        return next(reason for kind, reason in _PYJWT_REASONS if isinstance(err, kind))
    return None


@settings(max_examples=200, deadline=None)
@given(payload=_claim_sets, leeway=st.sampled_from([0, 30]))
def test_claim_verdicts_equal_pyjwts_for_integer_times(payload: dict, leeway: int) -> None:
    token = jws.sign_claims(payload, _KEYS.current, typ=ACCESS_TOKEN_TYPE)
    verifier = TokenVerifier(_KEYS, issuer=ISSUER, audience=AUDIENCE, leeway=timedelta(seconds=leeway))
    with time_machine.travel(T0, tick=False):
        expected = _pyjwt_reason(token, _KEYS, leeway)
        try:
            verifier.verify_access(token)
            got = None
        except TokenError as err:
            got = err.reason
    assert got == expected


# --- the b64 header (RFC 7797) ---------------------------------------------------------------------


@pytest.mark.parametrize("b64", ["false", "true", 0, 1, None, [], {}])
def test_a_b64_header_that_is_not_a_json_boolean_is_malformed(keys: KeySet, verifier: TokenVerifier,
                                                              b64: object) -> None:
    token = compact({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt", "b64": b64}, claims(), with_key(keys.current))
    assert refused(verifier.verify_access, token) == "malformed"


def test_b64_false_is_refused_because_jwts_never_use_it(keys: KeySet, verifier: TokenVerifier) -> None:
    """RFC 7797 §7: JWTs MUST NOT use b64=false; refused with crit or without, attached or detached."""
    header = {"alg": "EdDSA", "kid": "k1", "typ": "at+jwt", "b64": False, "crit": ["b64"]}
    head = b64(header)
    raw = json.dumps(claims(), separators=(",", ":")).encode()
    signature = b64(keys.current.signing_material.sign(head.encode() + b"." + raw))
    for token in (f"{head}..{signature}", f"{head}.{b64(raw)}.{signature}",
                  compact({k: v for k, v in header.items() if k != "crit"}, claims(), with_key(keys.current))):
        assert refused(verifier.verify_access, token) == "malformed"


def test_b64_true_is_the_default_spelled_out(keys: KeySet, verifier: TokenVerifier) -> None:
    for extra in ({"b64": True}, {"b64": True, "crit": ["b64"]}):
        token = compact({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt", **extra}, claims(), with_key(keys.current))
        assert verifier.verify_access(token)["sub"] == "alice"


# --- refresh tokens under their own keys ----------------------------------------------------------


def test_refresh_tokens_are_signed_and_checked_with_their_own_key_set(clock: time_machine.Coordinates) -> None:
    access = KeySet(SigningKey.generate("EdDSA", kid="a1"))
    refresh = KeySet(SigningKey.generate("HS256", kid="r1"))
    issuer = TokenIssuer(access, refresh_keys=refresh, issuer=ISSUER, audience=AUDIENCE)
    verifier = TokenVerifier(access, refresh_keys=refresh, issuer=ISSUER, audience=AUDIENCE)
    access_token, refresh_token = issuer.issue_access("alice"), issuer.issue_refresh("alice")
    assert jws.read_header(access_token)["kid"] == "a1" and jws.read_header(refresh_token)["kid"] == "r1"
    assert verifier.verify_refresh(refresh_token)["sub"] == verifier.verify_access(access_token)["sub"] == "alice"
    assert refused(verifier.verify_access, refresh_token) == "unknown_key"
    assert refused(verifier.verify_refresh, access_token) == "unknown_key"
    assert access.jwks() == {"keys": [access.current.public_jwk()]}  # refresh keys are never published
    assert access.live_until("a1") == NOW + 900 and refresh.live_until("r1") == NOW + 14 * 86400
    resource = TokenVerifier(access, issuer=ISSUER, audience=AUDIENCE)  # holds no refresh key at all
    assert refused(resource.verify_refresh, refresh_token) == "unknown_key"


def test_without_refresh_keys_the_shared_key_cannot_retire_before_its_refresh_tokens_expire(
        keys: KeySet, issuer: TokenIssuer, clock: time_machine.Coordinates) -> None:
    """The default: one key set. Retiring after the access tokens expire would log everyone out: refused."""
    refresh_token = issuer.issue_refresh("alice")
    keys.add(SigningKey.generate("EdDSA", kid="k2"))
    clock.shift(timedelta(minutes=15))
    with pytest.raises(KeyRetirementError) as caught:
        keys.retire("k1")
    assert caught.value.reason == "tokens_live" and "2026-01-15T09:00:00+00:00" in str(caught.value)
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    assert verifier.verify_refresh(refresh_token)["sub"] == "alice"
    clock.shift(timedelta(days=14) - timedelta(minutes=15))
    keys.retire("k1")
    assert refused(verifier.verify_refresh, refresh_token) == "unknown_key"  # and it had expired anyway


def test_the_issuer_and_verifier_take_keyword_only_options() -> None:
    keys, refresh = KeySet(SigningKey.generate("EdDSA")), KeySet(SigningKey.generate("HS256"))
    with pytest.raises(TypeError):
        TokenIssuer(keys, refresh, ISSUER, AUDIENCE)  # type: ignore[misc]
    with pytest.raises(ValueError, match="refresh key"):
        TokenIssuer(keys, refresh_keys=KeySet(SigningKey.from_jwk(SigningKey.generate("EdDSA").public_jwk())),
                    issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(TypeError, match="KeySet"):
        TokenVerifier(jwt.PyJWKClient("https://auth.example/jwks.json"), issuer=ISSUER, audience=AUDIENCE)


# --- one parse per verify ------------------------------------------------------------------------------


def test_a_verify_makes_one_pyjwt_call_and_reads_the_header_once(issuer: TokenIssuer, verifier: TokenVerifier,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    token = issuer.issue_access("alice")
    calls: list[str] = []
    for name in ("decode_complete", "get_unverified_header", "_load"):
        real = getattr(jws._PYJWS, name)
        monkeypatch.setattr(jws._PYJWS, name,
                            lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    real_header = jws._header
    monkeypatch.setattr(jws, "_header", lambda data: calls.append("header") or real_header(data))
    assert verifier.verify_access(token)["sub"] == "alice"
    assert calls == ["header", "decode_complete", "_load"]  # _load: PyJWS's own parse, inside its one call


# --- dates from outside: every conversion is a typed refusal ----------------------------------------------

_JSON_NUMBERS = st.one_of(
    st.integers(),  # unbounded: 10**400 once raised OverflowError in math.isfinite
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1e309", "-1e309", "1E400", "NaN", "Infinity", "-Infinity", "-0", "0.0", "1e-400", "-1767258000",
                     "253402300799", "253402300800", "1" + "0" * 5000]),
).map(str)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(["exp", "nbf", "iat"]), number=_JSON_NUMBERS)
def test_any_json_number_in_a_time_claim_gives_a_verdict_never_an_exception(name: str, number: str) -> None:
    """Property: exp, nbf and iat written as any JSON number text give claims or a TokenError, never another error."""
    body = json.dumps(claims(**{name: None}), separators=(",", ":"))[:-1] + f',"{name}":{number}}}'
    token = jws.sign(body.encode(), _KEYS.current, typ=ACCESS_TOKEN_TYPE)
    verifier = TokenVerifier(_KEYS, issuer=ISSUER, audience=AUDIENCE)
    try:
        got = verifier.verify_access(token)
    except TokenError as err:
        assert err.reason in ("malformed", "expired", "not_yet_valid"), err
    else:
        assert abs(got[name]) <= 253_402_300_799


@pytest.mark.parametrize("number", ["1" + "0" * 400, "1e309", "253402300800", "-253402300800"])
def test_a_date_beyond_the_year_9999_is_malformed(keys: KeySet, verifier: TokenVerifier, number: str) -> None:
    body = json.dumps(claims(exp=None), separators=(",", ":"))[:-1] + f',"exp":{number}}}'
    assert refused(verifier.verify_access, jws.sign(body.encode(), keys.current, typ=ACCESS_TOKEN_TYPE)) == "malformed"


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(st.text(max_size=30), st.integers(0).map(str), st.just("9" * 5000), st.just("1" + "0" * 20)))
def test_a_duration_setting_of_any_text_is_a_value_or_a_config_error(value: str) -> None:
    from authkit.config import Environment
    from authkit.errors import ConfigError

    env = Environment({"AUTHKIT_TTL": value, "AUTHKIT_SCRYPT_LOG2_N": value})
    for read in (lambda: env.seconds("AUTHKIT_TTL", timedelta(minutes=15)), env.scrypt_cost):
        try:
            read()
        except ConfigError:
            pass


def test_a_key_set_refuses_an_endless_lifetime_and_retire_names_a_far_date(keys: KeySet) -> None:
    for until in (math.inf, math.nan, float("1e309")):
        with pytest.raises(ValueError, match="finite"):
            keys.signer(until=until)
    keys.signer(until=10**15)  # finite, far beyond a datetime's range
    keys.add(SigningKey.generate("EdDSA", kid="k2"))
    with pytest.raises(KeyRetirementError, match="Unix time"):
        keys.retire("k1")
