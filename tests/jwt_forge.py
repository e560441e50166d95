"""Hand-made JWS for the token tests: what an attacker can build without authkit's (or PyJWT's) help."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Callable

from authkit.tokens.keys import SigningKey

ISSUER = "https://auth.example"
AUDIENCE = "https://api.example"

Signer = Callable[[bytes], bytes]


def b64(data: bytes | dict[str, Any]) -> str:
    """base64url without padding, of bytes or of a dict as compact JSON."""
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256(secret: bytes) -> Signer:
    """An HMAC-SHA256 signer with any secret at all (PyJWT would refuse a short or PEM one)."""
    return lambda signing_input: hmac.new(secret, signing_input, hashlib.sha256).digest()


def with_key(key: SigningKey) -> Signer:
    """A signer using ``key``'s material directly (Ed25519 or HMAC only)."""
    if key.alg == "HS256":
        return hs256(key.signing_material)
    if key.alg == "EdDSA":
        return key.signing_material.sign
    raise ValueError(f"no hand signer for {key.alg}")


def compact(header: dict[str, Any], payload: dict[str, Any] | bytes, sign: Signer | None) -> str:
    """``b64(header).b64(payload).b64(signature)``; ``sign=None`` leaves the signature empty."""
    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = b64(sign(signing_input.encode("ascii"))) if sign else ""
    return f"{signing_input}.{signature}"


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid access-token claim set issued now; ``name=None`` drops a claim."""
    now = int(time.time())
    base = {"iss": ISSUER, "sub": "alice", "aud": AUDIENCE, "iat": now, "exp": now + 900, "jti": "j-1",
            "client_id": AUDIENCE}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def header(key: SigningKey, **overrides: Any) -> dict[str, Any]:
    """The header authkit would write for ``key`` and an access token, with overrides."""
    base = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}
