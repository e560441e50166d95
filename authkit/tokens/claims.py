"""The claim checks of a verified JWT (RFC 7519 §4.1): time claims as strict NumericDates, issuer, audience.

PyJWT's own checks convert ``exp``/``nbf``/``iat`` with ``int()``: the string ``"1796…"`` passes,
``true`` becomes 1 (then "expired"), and ``nbf = now + 0.9`` is truncated to ``now`` and accepted.
RFC 7519 §2 defines a NumericDate as a JSON number that may be fractional, so authkit refuses
anything else as ``malformed`` and compares the exact value. Every other verdict is PyJWT's, checked
in the same order (``tests/test_tokens.py`` compares the two on generated claim sets).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from authkit.errors import TokenError

TIME_CLAIMS = ("iat", "nbf", "exp")
#: The largest NumericDate accepted, either side of 1970: 9999-12-31T23:59:59Z. Beyond it no date type converts
#: it (``datetime.fromtimestamp`` overflows, Redis refuses it as an expiry), so it is refused as malformed.
MAX_NUMERIC_DATE = 253_402_300_799


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON (RFC 8259 §6)")


#: The one JSON decoder for headers and claims: Python's, minus NaN and Infinity, which JSON does not have.
JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def parse(payload: bytes) -> dict[str, Any]:
    """The claims set: a UTF-8 JSON object (RFC 7519 §7.2), or ``malformed``."""
    try:
        claims = JSON.decode(payload.decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise TokenError("malformed", f"the payload is not a JSON object: {err}") from err
    if not isinstance(claims, dict):
        raise TokenError("malformed", "the payload is not a JSON object")
    return claims


def check(
    claims: dict[str, Any],
    *,
    now: float,
    issuer: str | None,
    audience: str | None,
    leeway: float,
    require: Iterable[str],
) -> dict[str, Any]:
    """``claims`` if they hold at ``now``; otherwise the ``TokenError`` of the first rule broken.

    The order is PyJWT's: required claims, then ``iat``, ``nbf``, ``exp``, ``iss``, ``aud``, ``sub``,
    ``jti``. ``audience=None`` accepts only a token without ``aud``. A future ``iat`` is refused: RFC 7519
    §4.1.6 does not ask for it, but a token from the future is a clock problem or a forgery (authkit's
    policy, and PyJWT's).
    """
    for name in require:
        if claims.get(name) is None:
            raise TokenError("missing_claim", f'Token is missing the "{name}" claim')
    for name in TIME_CLAIMS:
        if name in claims:
            value = claims[name]
            if type(value) not in (int, float):  # bool is not a number here
                raise TokenError("malformed", f"{name} must be a JSON number (a NumericDate, RFC 7519 §2)")
            if not -MAX_NUMERIC_DATE <= value <= MAX_NUMERIC_DATE:  # also inf (1e309); NaN never parses
                raise TokenError("malformed", f"{name} is not a date before the year 10000")
    if "iat" in claims and claims["iat"] > now + leeway:
        raise TokenError("not_yet_valid", "The token is not yet valid (iat)")
    if "nbf" in claims and claims["nbf"] > now + leeway:  # RFC 7519 §4.1.5: valid from nbf on
        raise TokenError("not_yet_valid", "The token is not yet valid (nbf)")
    if "exp" in claims and claims["exp"] <= now - leeway:  # RFC 7519 §4.1.4: valid only before exp
        raise TokenError("expired", "Signature has expired")
    if issuer is not None:
        if "iss" not in claims:
            raise TokenError("missing_claim", 'Token is missing the "iss" claim')
        if claims["iss"] != issuer:
            raise TokenError("wrong_issuer", "Invalid issuer")
    _check_audience(claims, audience)
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise TokenError("malformed", "Subject must be a string")
    if "jti" in claims and not isinstance(claims["jti"], str):
        raise TokenError("malformed", "JWT ID must be a string")
    return claims


def _check_audience(claims: dict[str, Any], audience: str | None) -> None:
    """RFC 7519 §4.1.3: ``aud`` is one string or a list of strings, and one of them must be ours."""
    aud = claims.get("aud")
    if audience is None:
        if aud:
            raise TokenError("wrong_audience", "Invalid audience")
        return
    if not aud:
        raise TokenError("missing_claim", 'Token is missing the "aud" claim')
    auds = [aud] if isinstance(aud, str) else aud
    if not isinstance(auds, list) or not all(isinstance(item, str) for item in auds):
        raise TokenError("wrong_audience", "Invalid claim format in token")
    if audience not in auds:
        raise TokenError("wrong_audience", "Audience doesn't match")
