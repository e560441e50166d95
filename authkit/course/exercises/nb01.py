"""Exercises of notebook 01 (JWT anatomy): base64url both ways, and an HS256 token by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt

from authkit.course.exercise import Incorrect, expect, register
from authkit.tokens.keys import b64url, b64url_decode

_BYTES = (b"", b"a", b"ab", b"abc", b"\xfb\xff", b"\xff\xfe\xfd", b"hello world", bytes(range(40)))


def _check_b64url_encode(fn) -> None:
    for data in _BYTES:
        expect(fn(data), b64url(data), f"data={data!r}")


def _check_b64url_decode(fn) -> None:
    for data in _BYTES:
        text = b64url(data)
        expect(fn(text), data, f"text={text!r}")


def hs256_token(payload: dict[str, Any], secret: bytes) -> str:
    """The compact HS256 JWT PyJWT writes: sorted compact header, compact payload, HMAC-SHA256."""
    header = json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode()
    body = json.dumps(payload, separators=(",", ":")).encode()
    signing_input = f"{b64url(header)}.{b64url(body)}".encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def _check_hs256_token(fn) -> None:
    secret = hashlib.sha256(b"exercise secret").digest()
    cases = (
        {"sub": "alice"},
        {"sub": "bob", "iat": 1767258000, "exp": 1767258900},
        {"sub": "carol", "admin": False, "scope": "read write", "n": [1, 2, 3]},
        {},
    )
    for payload in cases:
        got = fn(payload, secret)
        if not isinstance(got, str):
            raise Incorrect(f"expected a str for payload={payload!r}, secret={secret!r}, got {type(got).__name__}")
        expect(got, jwt.encode(payload, secret, algorithm="HS256"), f"payload={payload!r}, secret={secret!r}")
    other = hashlib.sha256(b"another exercise secret").digest()
    expect(fn({"sub": "alice"}, other), hs256_token({"sub": "alice"}, other),
           f"payload={{'sub': 'alice'}} and a second secret={other!r}")


register(
    "b64url_encode",
    checker=_check_b64url_encode,
    hints=(
        "Start from base64.urlsafe_b64encode: it already swaps + and / for - and _.",
        "JWS drops the '=' padding (RFC 7515 §2): strip it from the right.",
        "urlsafe_b64encode returns bytes; the function returns str, so decode('ascii') at the end.",
    ),
    reference=b64url,
)

register(
    "b64url_decode",
    checker=_check_b64url_decode,
    hints=(
        "base64.urlsafe_b64decode wants the padding back: the length must be a multiple of 4.",
        "Add '=' * (-len(text) % 4) before decoding: 0, 1 or 2 characters.",
    ),
    reference=b64url_decode,
)

register(
    "hs256_token",
    checker=_check_hs256_token,
    hints=(
        'PyJWT writes the header {"alg":"HS256","typ":"JWT"}: keys sorted, no spaces.',
        'Serialize with json.dumps(obj, separators=(",", ":")); the payload keeps its own key order.',
        "The signing input is b64url(header) + '.' + b64url(payload), as ASCII bytes.",
        "hmac.new(secret, signing_input, hashlib.sha256).digest(), base64url-encoded, is the third part.",
    ),
    reference=hs256_token,
)
