"""Exercises of notebook 02 (verifying JWTs): a claims policy, and a verifier without the classic bugs."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from authkit.course.exercise import COMPARE_DIGEST, expect, expect_calls, expect_raises, register
from authkit.course.exercises.kinds import expect_choice, expect_predictions, expect_reading
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


# --- leeway at both ends: a prediction, judged by authkit's own claims check ---------------------

EXP, NBF, LEEWAY = 1_767_258_900, 1_767_258_000, 30

#: Situation -> (claims, now): a token judged by a verifier with a 30-second leeway.
LEEWAY_SITUATIONS = {
    "exp + 29 s": ({"exp": EXP}, EXP + 29),
    "exp + 30 s": ({"exp": EXP}, EXP + 30),
    "nbf - 30 s": ({"nbf": NBF}, NBF - 30),
    "nbf - 31 s": ({"nbf": NBF}, NBF - 31),
}


def leeway_predictions() -> dict[str, str]:
    """"accepted", or the reason authkit refuses each situation with a 30 s leeway."""
    from authkit import TokenError
    from authkit.tokens.claims import check

    verdicts = {}
    for situation, (claims, now) in LEEWAY_SITUATIONS.items():
        try:
            check(claims, now=now, issuer=None, audience=None, leeway=LEEWAY, require=())
            verdicts[situation] = "accepted"
        except TokenError as err:
            verdicts[situation] = err.reason
    return verdicts


def _check_leeway_predictions(fn) -> None:
    expect_predictions(fn(), leeway_predictions(), "a verifier with a 30 s leeway")


register(
    "leeway_predictions",
    checker=_check_leeway_predictions,
    hints=(
        "The leeway moves each boundary by 30 s: exp later, nbf earlier.",
        "A token is valid only before exp: at exactly exp + leeway it is refused as 'expired'.",
        "nbf is the first moment a token counts: at exactly nbf - leeway it is accepted; one second earlier "
        "it is 'not_yet_valid'.",
    ),
    reference=leeway_predictions,
    solution=('def leeway_predictions():\n    return {\n        "exp + 29 s": "accepted",\n'
              '        "exp + 30 s": "expired",\n        "nbf - 30 s": "accepted",\n'
              '        "nbf - 31 s": "not_yet_valid",\n    }'),
)


# --- which key for many verifiers: a choice ------------------------------------------------------

_KEY_THREAT = ("'ten services verify the tokens; any one of them may be compromised, and none may then "
               "mint tokens the others accept'")
_KEY_WRONG = {
    "a": "whoever can verify an HMAC can compute it: the compromised service signs tokens all ten accept",
    "b": "each service can still mint tokens for itself, and the issuer must hold all ten secrets and "
         "sign each token once per audience; a leak of the issuer's store leaks every one",
    "d": "a private key handed to every verifier lets every verifier sign: it is HS256 with extra steps",
}


def key_choice() -> str:
    """An asymmetric key: the issuer alone signs, the services verify with the published public key."""
    return "c"


def _check_key_choice(fn) -> None:
    from authkit import KeySet, SigningKey, TokenIssuer

    public_only = KeySet(SigningKey.from_jwk(SigningKey.generate("EdDSA", kid="k").public_jwk()))
    try:  # what makes "c" right: the published half cannot issue
        TokenIssuer(public_only, issuer="https://auth.example", audience="https://api.example")
        raise AssertionError("a public key must not issue tokens")
    except ValueError:
        pass
    expect_choice(fn(), "c", _KEY_WRONG, _KEY_THREAT)


register(
    "key_choice",
    checker=_check_key_choice,
    hints=(
        "Ask of each option: what can a service that holds this key do besides verifying?",
        "With HMAC the verifying key is the signing key; with Ed25519 or ES256 the verifier needs only the "
        "public half.",
    ),
    reference=key_choice,
    solution='def key_choice():\n    return "c"',
)


# --- the rotation figure: a reading --------------------------------------------------------------

def refresh_key_retired_day() -> float:
    """Top panel of the rotation figure: the day refresh-1 stops verifying (is retired)."""
    from datetime import timedelta

    from authkit.study.rotation import simulate_rotation

    events = simulate_rotation().key_events
    return next(e.at / timedelta(days=1) for e in events if e.kid == "refresh-1" and e.action == "retired")


def _check_refresh_key_retired_day(fn) -> None:
    expect_reading(fn(), refresh_key_retired_day(), 0.5,
                   "the day refresh-1 is retired in the top panel (refresh tokens under their own key set)")


register(
    "refresh_key_retired_day",
    checker=_check_refresh_key_retired_day,
    hints=(
        "Look at the top panel, the row of refresh-1: solid while it signs, pale while it only verifies.",
        "It verifies until the last refresh token it signed has expired: 14 days after the last one it signed.",
    ),
    reference=refresh_key_retired_day,
    solution="def refresh_key_retired_day():\n    return 16",
)


# --- kid used as a path: find the bug, fix the handler -------------------------------------------

def key_file_for(key_dir: str, kid: str) -> str:
    """The file holding the key named ``kid``: only a file the directory lists, never a path built from input."""
    import os

    if kid not in os.listdir(key_dir):  # an exact name the service wrote, not "../…", "/…" or "a/../b"
        raise ValueError(f"unknown kid {kid!r}")
    return os.path.join(key_dir, kid)


def _check_key_file_for(fn) -> None:
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as key_dir:
        for kid in ("hs-1", "2026-01"):
            with open(os.path.join(key_dir, kid), "wb") as key_file:
                key_file.write(b"k" * 32)
        os.mkdir(os.path.join(key_dir, "old"))
        with open(os.path.join(key_dir, "old", "hs-0"), "wb") as key_file:
            key_file.write(b"o" * 32)
        for kid in ("hs-1", "2026-01"):
            expect(fn(key_dir, kid), os.path.join(key_dir, kid), f"key_dir={key_dir!r}, kid={kid!r}")
        for kid in ("../" * 12 + "dev/null", "/dev/null", "hs-1/../hs-1", "./hs-1", "old/hs-0", "..", "",
                    "hs-2"):
            expect_raises(lambda: fn(key_dir, kid), ValueError, f"key_dir={key_dir!r}, kid={kid!r}")


register(
    "key_file_for",
    checker=_check_key_file_for,
    hints=(
        "The bug: os.path.join(key_dir, header['kid']) lets the token's author pick any file on the disk.",
        "Do not try to clean the path: accept only a kid that is exactly one of the names the directory lists.",
        "os.listdir(key_dir) gives those names; anything else raises ValueError.",
    ),
    reference=key_file_for,
    solution=('import os\n\ndef key_file_for(key_dir, kid):\n    if kid not in os.listdir(key_dir):\n'
              '        raise ValueError(f"unknown kid {kid!r}")\n    return os.path.join(key_dir, kid)'),
)


# --- when may the old key go: a function, judged by KeySet.live_until ----------------------------

T0 = 1_767_258_000  # 2026-01-01 09:00 UTC, the notebook's pinned start


def retire_at(last_signed: int, access_ttl: int, refresh_ttl: int, own_refresh_keys: bool) -> int:
    """Seconds after T0 from which the old access key can be retired without logging anyone out."""
    longest = access_ttl if own_refresh_keys else max(access_ttl, refresh_ttl)
    return last_signed + longest


def _live_until(last_signed: int, access_ttl: int, refresh_ttl: int, own_refresh_keys: bool) -> int:
    """What authkit's KeySet remembers after the old key signed its last pair at ``last_signed``."""
    from datetime import datetime, timedelta, timezone

    import time_machine

    from authkit import KeySet, SigningKey, TokenIssuer

    keys = KeySet(SigningKey.generate("EdDSA", kid="old"))
    refresh_keys = KeySet(SigningKey.generate("HS256", kid="refresh")) if own_refresh_keys else None
    issuer = TokenIssuer(keys, refresh_keys=refresh_keys, issuer="https://auth.example",
                         audience="https://api.example", access_ttl=timedelta(seconds=access_ttl),
                         refresh_ttl=timedelta(seconds=refresh_ttl))
    with time_machine.travel(datetime.fromtimestamp(T0 + last_signed, timezone.utc), tick=False):
        issuer.issue_access("alice"), issuer.issue_refresh("alice")
    return int(keys.live_until("old")) - T0


_RETIRE_CASES = ((0, 900, 14 * 86_400, False), (0, 900, 14 * 86_400, True), (3_600, 900, 86_400, True),
                 (3_600, 900, 86_400, False), (60, 3_600, 1_800, False), (60, 3_600, 1_800, True))


def _check_retire_at(fn) -> None:
    for case in _RETIRE_CASES:
        last_signed, access_ttl, refresh_ttl, own = case
        expect(fn(*case), _live_until(*case), f"last_signed={last_signed}, access_ttl={access_ttl}, "
                                              f"refresh_ttl={refresh_ttl}, own_refresh_keys={own}")


register(
    "retire_at",
    checker=_check_retire_at,
    hints=(
        "A key can go once the longest-lived token it signed has expired: that token's exp.",
        "Which tokens did the old access key sign? Access tokens always; refresh tokens too, unless they have "
        "their own key set.",
        "So: last_signed plus access_ttl with own refresh keys, else plus the longer of the two lifetimes.",
    ),
    reference=retire_at,
    solution=("def retire_at(last_signed, access_ttl, refresh_ttl, own_refresh_keys):\n"
              "    longest = access_ttl if own_refresh_keys else max(access_ttl, refresh_ttl)\n"
              "    return last_signed + longest"),
)
