"""Exercises of notebook 01 (JWT anatomy): base64url both ways, and an HS256 token by hand."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt

from authkit.course.exercise import Incorrect, expect, register
from authkit.course.exercises.kinds import expect_choice, expect_predictions
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


#: The secrets whose fate the learner predicts, by the names the notebook shows them under.
GUARD_CANDIDATES = {
    "b'secret'": b"secret",
    "a passphrase": b"correct horse battery staple, twice over",
    "a 16-byte key written twice": b"0123456789abcdef" * 2,
    "SHA-256 of b'password'": hashlib.sha256(b"password").digest(),
}


def guard_predictions() -> dict[str, bool]:
    """For each candidate: does authkit's weak-secret guard refuse it (True) or let it through (False)?"""
    from authkit.tokens.keys import secret_weakness

    return {name: secret_weakness(secret) is not None for name, secret in GUARD_CANDIDATES.items()}


def _check_guard_predictions(fn) -> None:
    expect_predictions(fn(), guard_predictions(), "refused by secret_weakness?")


register(
    "guard_predictions",
    checker=_check_guard_predictions,
    hints=(
        "The guard sees only bytes: their number, their patterns, whether they look like text.",
        "Fewer than 32 bytes is refused, and so is text with spaces or a short pattern repeated.",
        "A hash of anything, even of b'password', is 32 bytes that look random: nothing in them shows the word.",
    ),
    reference=guard_predictions,
    solution=('def guard_predictions():\n    return {\n        "b\'secret\'": True,\n        "a passphrase": True,\n'
              '        "a 16-byte key written twice": True,\n        "SHA-256 of b\'password\'": False,\n    }'),
)

_SECRET_THREAT = "'an attacker holds one HS256 token the service issued, and unlimited offline time'"
_SECRET_WRONG = {
    "a": "a phrase is guessable, and so is its hash: the attacker hashes each guess (crack_hs256 with derive=) and "
         "the guard cannot see it, since a hash looks random",
    "c": "that is 128 bits of key drawn once and repeated, and the guard refuses it as a repeated 16-byte pattern; "
         "an HS256 secret needs at least 256 bits",
    "d": "the search runs offline against a token already held, whatever its exp; once found, the secret signs new "
         "tokens with any exp the attacker likes",
}


def secret_choice() -> str:
    """The HS256 secret that survives an offline search: 32 bytes from the CSPRNG."""
    return "b"


def _check_secret_choice(fn) -> None:
    from authkit.tokens.keys import secret_weakness

    assert secret_weakness(b"0123456789abcdef" * 2) is not None  # what the reason for "c" says
    expect_choice(fn(), "b", _SECRET_WRONG, _SECRET_THREAT)


register(
    "secret_choice",
    checker=_check_secret_choice,
    hints=(
        "The attacker's cost is the number of guesses; what matters is how many secrets you could have picked.",
        "Anything a person chose, or derived from something chosen, is in a guess list; a token's exp does not "
        "limit a search done offline.",
    ),
    reference=secret_choice,
    solution='def secret_choice():\n    return "b"',
)
