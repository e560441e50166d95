"""The one place authkit signs and verifies with PyJWT: the key's one algorithm, errors mapped to reasons.

A verify reads the header once, by hand (it names the key), then makes one PyJWT call with that key
and its single algorithm; the claims are parsed once from the payload PyJWT returns.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from datetime import timedelta
from typing import Any, Iterable

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

from authkit.tokens import claims as claim_checks
from authkit.errors import TokenError
from authkit.tokens.keys import ALGORITHMS, KeySet, SigningKey
from authkit.tokens.remote_keys import RemoteKeySet

#: Longer inputs are refused before any parsing: real tokens are a few hundred bytes, 8 KB is a header limit.
MAX_TOKEN_BYTES = 8192
#: Three base64url parts without padding (RFC 7515 §2, §7.1); PyJWT alone would also take "=" padding.
_COMPACT = re.compile(rb"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


class _Ed25519(OKPAlgorithm):
    """RFC 9864 §2.2's fully specified "Ed25519": PyJWT's EdDSA code, restricted to Ed25519 keys."""

    def prepare_key(self, key: Any) -> Any:
        prepared = super().prepare_key(key)
        if not isinstance(prepared, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
            raise jwt.InvalidKeyError("Ed25519 signs and verifies with Ed25519 keys only")
        return prepared


# A PyJWS that knows only authkit's algorithms (Ed25519 registered beside PyJWT's EdDSA) and refuses short
# keys instead of warning.
_PYJWS = jwt.PyJWS(algorithms=[alg for alg in ALGORITHMS if alg != "Ed25519"],
                   options={"enforce_minimum_key_length": True})
_PYJWS.register_algorithm("Ed25519", _Ed25519())

#: Where a verifier finds keys by ``kid``: its own key set, or the keys another service publishes at a JWKS URL.
KeySource = KeySet | RemoteKeySet

# PyJWT's exceptions, most specific first, and the reason each becomes.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidKeyError, "bad_signature"),
)


def token_error(err: Exception) -> TokenError:
    """The ``TokenError`` for a PyJWT (or any other) exception; anything unexpected is ``malformed``."""
    if isinstance(err, TokenError):
        return err
    for kind, reason in _REASONS:
        if isinstance(err, kind):
            return TokenError(reason, str(err) or reason)
    return TokenError("malformed", f"{type(err).__name__}: {err}")


def _as_bytes(token: str | bytes) -> bytes:
    """The token as ASCII bytes of bounded length, or ``malformed``."""
    if not isinstance(token, (str, bytes)):
        raise TokenError("malformed", f"a token is str or bytes, not {type(token).__name__}")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenError("malformed", f"token longer than {MAX_TOKEN_BYTES} bytes")
    try:
        data = token.encode("ascii") if isinstance(token, str) else token
    except UnicodeError as err:
        raise TokenError("malformed", "a compact JWS is ASCII only") from err
    if not _COMPACT.fullmatch(data):
        raise TokenError("malformed", "a compact JWS is three dot-separated parts of unpadded base64url")
    return data


def _header(data: bytes) -> dict[str, Any]:
    """The header of a token ``_as_bytes`` accepted, decoded once; only ``alg``, ``b64`` and JSON are checked."""
    segment = data[: data.index(b".")]
    try:
        header = claim_checks.JSON.decode(base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4)).decode())
    except (ValueError, binascii.Error, RecursionError) as err:
        raise TokenError("malformed", f"the header is not base64url JSON: {err}") from err
    if not isinstance(header, dict):
        raise TokenError("malformed", "the header is not a JSON object")
    if "alg" not in header:
        raise TokenError("malformed", "the header has no alg (RFC 7515 §4.1.1 requires one)")
    alg = header["alg"]
    if alg not in ALGORITHMS or not isinstance(alg, str):
        raise TokenError("algorithm_not_allowed", f"alg {alg!r} is not one of {ALGORITHMS}")
    if "b64" in header and header["b64"] is not True:
        # RFC 7797 §3: b64 is a JSON boolean; §7: JWTs never use b64=false (an unencoded payload).
        raise TokenError("malformed", f"b64 must be true or absent in a JWT, not {header['b64']!r} (RFC 7797)")
    return header


def sign(payload: bytes, key: SigningKey, *, typ: str | None = None) -> str:
    """A compact JWS over ``payload`` with header ``alg`` and ``kid`` from the key (and ``typ``)."""
    headers: dict[str, Any] = {"kid": key.kid, "typ": typ}
    return _PYJWS.encode(payload, key.signing_material, algorithm=key.alg, headers=headers)


def sign_claims(claims: dict[str, Any], key: SigningKey, *, typ: str) -> str:
    """A JWT: the claims as compact JSON, signed by ``key``."""
    return sign(json.dumps(claims, separators=(",", ":")).encode("utf-8"), key, typ=typ)


def read_header(token: str | bytes) -> dict[str, Any]:
    """The header, NOT verified: use it only to pick a key, never to decide anything else."""
    return _header(_as_bytes(token))


def find_key(source: KeySource, header: dict[str, Any]) -> SigningKey:
    """The key named by the header's ``kid``, from a key set or a JWKS endpoint; never from the token."""
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("unknown_key", "the token names no key (kid)")
    return source.get(kid)


def _verified_payload(data: bytes, header: dict[str, Any], key: SigningKey) -> bytes:
    """The payload, once the signature checks with ``key`` and its one algorithm (the token's may only repeat it)."""
    if header["alg"] != key.alg:
        raise TokenError("algorithm_not_allowed", f"key {key.kid!r} verifies {key.alg} only, not {header['alg']!r}")
    try:
        return _PYJWS.decode_complete(data, key.verifying_material, algorithms=[key.alg])["payload"]
    except Exception as err:  # PyJWT, base64 or cryptography errors alike
        raise token_error(err) from err


def verify(token: str | bytes, key: SigningKey) -> tuple[dict[str, Any], bytes]:
    """Check the signature with ``key`` and its one algorithm; return header and payload bytes."""
    data = _as_bytes(token)
    header = _header(data)
    return header, _verified_payload(data, header, key)


def verify_token(
    token: str | bytes,
    keys: KeySource,
    *,
    now: float,
    issuer: str,
    audience: str | None,
    leeway: float,
    require: Iterable[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header read once, key by ``kid``, one PyJWT signature check, claims parsed once and checked at ``now``."""
    data = _as_bytes(token)
    header = _header(data)
    payload = _verified_payload(data, header, find_key(keys, header))
    claims = claim_checks.check(claim_checks.parse(payload), now=now, issuer=issuer, audience=audience,
                                leeway=leeway, require=require)
    return header, claims


def verify_claims(
    token: str | bytes,
    key: SigningKey,
    *,
    issuer: str,
    audience: str | None,
    leeway: timedelta,
    require: Iterable[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Signature with ``key``, then the claim checks of ``authkit.tokens.claims`` (exp/nbf/iat with leeway, iss, aud).

    ``audience=None`` accepts only tokens without ``aud``: a token meant for someone never passes unchecked.
    """
    header, payload = verify(token, key)
    return header, claim_checks.check(claim_checks.parse(payload), now=time.time(), issuer=issuer,
                                      audience=audience, leeway=leeway.total_seconds(), require=require)


def jwks_client(url: str, *, lifespan: float = 60.0, cooldown: float = 1.0, timeout: float = 5.0) -> RemoteKeySet:
    """The keys published at ``url``, cached ``lifespan`` s, refetched for an unknown kid after ``cooldown`` s."""
    return RemoteKeySet(url, lifespan=lifespan, cooldown=cooldown, timeout=timeout)
