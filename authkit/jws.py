"""The one place authkit calls PyJWT: sign, verify with an explicit algorithm, map errors to TokenError."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any, Iterable

import jwt

from authkit.errors import TokenError
from authkit.keys import ALGORITHMS, ASYMMETRIC, KeySet, SigningKey

#: Longer inputs are refused before any parsing: real tokens are a few hundred bytes, 8 KB is a header limit.
MAX_TOKEN_BYTES = 8192
#: Three base64url parts without padding (RFC 7515 §2, §7.1); PyJWT alone would also take "=" padding.
_COMPACT = re.compile(rb"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")

# PyJWT objects that know only authkit's four algorithms and refuse short keys instead of warning.
_STRICT = {"enforce_minimum_key_length": True}
_PYJWS = jwt.PyJWS(algorithms=list(ALGORITHMS), options=_STRICT)
_PYJWT = jwt.PyJWT(options=_STRICT)

# PyJWT's exceptions, most specific first, and the reason each becomes.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
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
        data = token.encode("ascii") if isinstance(token, str) else token.decode("ascii").encode("ascii")
    except UnicodeError as err:
        raise TokenError("malformed", "a compact JWS is ASCII only") from err
    if data.count(b".") != 2:
        raise TokenError("malformed", "a compact JWS has exactly three dot-separated parts")
    if not _COMPACT.fullmatch(data):
        raise TokenError("malformed", "each part of a compact JWS is unpadded base64url")
    return data


def sign(payload: bytes, key: SigningKey, *, typ: str | None = None) -> str:
    """A compact JWS over ``payload`` with header ``alg`` and ``kid`` from the key (and ``typ``)."""
    headers: dict[str, Any] = {"kid": key.kid, "typ": typ}
    return _PYJWS.encode(payload, key.signing_material, algorithm=key.alg, headers=headers)


def sign_claims(claims: dict[str, Any], key: SigningKey, *, typ: str) -> str:
    """A JWT: the claims as compact JSON, signed by ``key``."""
    return sign(json.dumps(claims, separators=(",", ":")).encode("utf-8"), key, typ=typ)


def read_header(token: str | bytes) -> dict[str, Any]:
    """The header, NOT verified: use it only to pick a key, never to decide anything else."""
    try:
        header = _PYJWS.get_unverified_header(_as_bytes(token))
    except Exception as err:  # PyJWT, json or base64 errors alike: the token cannot be parsed
        raise token_error(err) from err
    alg = header.get("alg")
    if "alg" not in header:
        raise TokenError("malformed", "the header has no alg (RFC 7515 §4.1.1 requires one)")
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise TokenError("algorithm_not_allowed", f"alg {alg!r} is not one of {ALGORITHMS}")
    return header


def find_key(source: KeySet | jwt.PyJWKClient, header: dict[str, Any]) -> SigningKey:
    """The key named by the header's ``kid``, from a key set or a JWKS endpoint; never from the token."""
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("unknown_key", "the token names no key (kid)")
    if isinstance(source, KeySet):
        return source.get(kid)
    try:
        found = source.get_signing_key(kid)
    except Exception as err:  # unreachable endpoint, bad JWKS, unknown kid: fail closed
        raise TokenError("unknown_key", f"no usable key {kid!r} in the JWKS: {err}") from err
    if found.algorithm_name not in ASYMMETRIC:
        raise TokenError("unknown_key", f"a JWKS publishes public keys only, not {found.algorithm_name!r}")
    try:
        return SigningKey.from_public_key(found.key, alg=found.algorithm_name, kid=kid)
    except ValueError as err:  # e.g. an RSA key under 2048 bits, or a curve the alg does not use
        raise TokenError("unknown_key", f"key {kid!r} in the JWKS is unusable: {err}") from err


def _check_alg(header: dict[str, Any], key: SigningKey) -> None:
    """The allow-list is the key's own algorithm: the token's ``alg`` may only repeat it."""
    if header.get("alg") != key.alg:
        raise TokenError("algorithm_not_allowed", f"key {key.kid!r} verifies {key.alg} only, not {header.get('alg')!r}")


def verify(token: str | bytes, key: SigningKey) -> tuple[dict[str, Any], bytes]:
    """Check the signature with ``key`` and its one algorithm; return header and payload bytes."""
    data = _as_bytes(token)
    try:
        header = _PYJWS.get_unverified_header(data)
        _check_alg(header, key)
        decoded = _PYJWS.decode_complete(data, key.verifying_material, algorithms=[key.alg])
    except Exception as err:
        raise token_error(err) from err
    return decoded["header"], decoded["payload"]


def verify_claims(
    token: str | bytes,
    key: SigningKey,
    *,
    issuer: str,
    audience: str | None,
    leeway: timedelta,
    require: Iterable[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Signature, then PyJWT's checks of exp/nbf/iat (with leeway), iss, aud and required claims.

    ``audience=None`` accepts only tokens without ``aud``: a token meant for someone never passes unchecked.
    """
    data = _as_bytes(token)
    try:
        _check_alg(_PYJWS.get_unverified_header(data), key)
        decoded = _PYJWT.decode_complete(
            data,
            key.verifying_material,
            algorithms=[key.alg],
            issuer=issuer,
            audience=audience,
            leeway=leeway,
            options={"require": list(require), "strict_aud": False},
        )
    except Exception as err:
        raise token_error(err) from err
    return decoded["header"], decoded["payload"]


def jwks_client(url: str, *, lifespan: float = 60.0, cooldown: float = 1.0, timeout: float = 5.0) -> jwt.PyJWKClient:
    """PyJWT's JWKS fetcher: caches the set ``lifespan`` s, refetches for an unknown kid after ``cooldown`` s."""
    return jwt.PyJWKClient(url, lifespan=lifespan, cooldown_duration=cooldown, timeout=timeout)
