"""Exercises of notebook 02 (verifying JWTs): a claims policy, and a verifier without the classic bugs."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from authkit.course.exercise import COMPARE_DIGEST, expect, expect_calls, expect_raises, register
from authkit.tokens.keys import b64url, b64url_decode

REQUIRED = ("iss", "sub", "aud", "iat", "exp", "jti")


def refusal_reason(claims: dict[str, Any], *, now: int, issuer: str, audience: str, leeway: int = 0) -> str | None:
    """The first rule ``claims`` break (authkit's reason names), or None if they pass."""
    for name in REQUIRED:
        if claims.get(name) is None:
            return "missing_claim"
    if now >= claims["exp"] + leeway:
        return "expired"
    if claims.get("nbf", claims["iat"]) > now + leeway or claims["iat"] > now + leeway:
        return "not_yet_valid"
    if claims["iss"] != issuer:
        return "wrong_issuer"
    aud = claims["aud"]
    if audience != aud and not (isinstance(aud, list) and audience in aud):
        return "wrong_audience"
    return None


def _check_refusal_reason(fn) -> None:
    now, iss, aud = 1_767_258_000, "https://auth.example", "https://api.example"
    good = {"iss": iss, "sub": "alice", "aud": aud, "iat": now - 60, "exp": now + 840, "jti": "j1"}
    cases: list[tuple[str, dict[str, Any], int]] = [
        ("a valid claim set", good, 0),
        ("aud as a list holding ours", {**good, "aud": ["https://billing.example", aud]}, 0),
        ("exp one second ahead", {**good, "exp": now + 1}, 0),
        ("exp == now", {**good, "exp": now}, 0),
        ("exp an hour ago", {**good, "exp": now - 3600}, 0),
        ("exp 20 s ago, leeway 30", {**good, "exp": now - 20}, 30),
        ("exp 40 s ago, leeway 30", {**good, "exp": now - 40}, 30),
        ("iat == now (issued this second)", {**good, "iat": now}, 0),
        ("nbf == now", {**good, "nbf": now}, 0),
        ("nbf a minute ahead", {**good, "nbf": now + 60}, 0),
        ("nbf 20 s ahead, leeway 30", {**good, "nbf": now + 20}, 30),
        ("iat 20 s ahead (a fast clock)", {**good, "iat": now + 20}, 0),
        ("iat 20 s ahead, leeway 30", {**good, "iat": now + 20}, 30),
        ("another issuer", {**good, "iss": "https://evil.example"}, 0),
        ("an issuer that merely starts with ours", {**good, "iss": iss + ".evil.example"}, 0),
        ("another audience", {**good, "aud": "https://billing.example"}, 0),
        ("an audience string that merely contains ours", {**good, "aud": aud + ".evil.example"}, 0),
        ("aud list without ours", {**good, "aud": ["https://billing.example"]}, 0),
    ]
    cases += [(f"no {name}", {k: v for k, v in good.items() if k != name}, 0) for name in REQUIRED]
    for given, claims, leeway in cases:
        got = fn(dict(claims), now=now, issuer=iss, audience=aud, leeway=leeway)
        expect(got, refusal_reason(claims, now=now, issuer=iss, audience=aud, leeway=leeway),
               f"{given}: claims={claims!r}, now={now}, issuer={iss!r}, audience={aud!r}, leeway={leeway}")


def verify_hs256(token: str, secret: bytes) -> dict[str, Any]:
    """The payload of an HS256 token whose whole signature matches; ValueError for anything else."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a compact JWS has three parts")
    header_b64, payload_b64, signature_b64 = parts
    if json.loads(b64url_decode(header_b64)).get("alg") != "HS256":  # the allow-list: HS256 only
        raise ValueError("algorithm not allowed")
    expected = hmac.new(secret, f"{header_b64}.{payload_b64}".encode("ascii"), hashlib.sha256).digest()
    if not hmac.compare_digest(b64url(expected).encode("ascii"), signature_b64.encode("ascii")):
        raise ValueError("bad signature")
    return json.loads(b64url_decode(payload_b64))


def _token(header: dict[str, Any], payload: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"
    if secret is None:
        return signing_input + "."
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def _check_verify_hs256(fn) -> None:
    secret = hashlib.sha256(b"exercise secret").digest()
    payload = {"sub": "alice", "admin": False}
    good = _token({"alg": "HS256", "typ": "JWT"}, payload, secret)
    expect(fn(good, secret), payload, f"a token signed with the secret (token={good!r}, secret={secret!r})")
    head, _, signature = good.split(".")
    forged_body = b64url(json.dumps({"sub": "alice", "admin": True}).encode())
    bad = {
        "a payload edited after signing": f"{head}.{forged_body}.{signature}",
        "an empty signature": f"{head}.{forged_body}.",
        "the first 10 characters of the right signature": _token({"alg": "HS256"}, payload, secret)[:-33],
        'alg "none" and no signature': _token({"alg": "none"}, {"sub": "alice", "admin": True}, None),
        'alg "HS512" on an HS256 signature': _token({"alg": "HS512"}, payload, secret),
        "a signature made with another secret": _token({"alg": "HS256"}, payload, b"x" * 32),
        "two parts only": f"{head}.{forged_body}",
    }
    for given, token in bad.items():
        expect_raises(lambda token=token: fn(token, secret), ValueError, f"{given} (token={token!r}, secret={secret!r})")
    for given in ("a payload edited after signing", "a signature made with another secret"):
        token = bad[given]  # well-formed, allowed algorithm, full-length signature: only the comparison can refuse it
        given = f"{given} (token={token!r}, secret={secret!r})"
        expect_calls(lambda token=token, given=given: expect_raises(lambda: fn(token, secret), ValueError, given),
                     COMPARE_DIGEST,
                     f"expected hmac.compare_digest to decide the signature for {given}, but verify_hs256 refused "
                     "it without calling it: == or != stops at the first differing byte, so the time it takes "
                     "tells an attacker how much of a forged signature is right")


register(
    "refusal_reason",
    checker=_check_refusal_reason,
    hints=(
        "Check presence first: each of iss, sub, aud, iat, exp, jti must be there (and not None).",
        "Expired means now >= exp + leeway: at exp exactly the token is already dead (RFC 7519 §4.1.4).",
        "Not yet valid: nbf (if present) or iat later than now + leeway.",
        "aud may be a string or a list (RFC 7519 §4.1.3): yours must equal it or be in it.",
    ),
    reference=refusal_reason,
)

register(
    "verify_hs256",
    checker=_check_verify_hs256,
    hints=(
        "Decide the algorithm yourself: read alg only to refuse anything that is not HS256.",
        "Recompute the HMAC over the first two parts exactly as received, then compare the WHOLE signature.",
        "Compare with hmac.compare_digest (constant time), never with ==, startswith or `in`.",
    ),
    reference=verify_hs256,
)
