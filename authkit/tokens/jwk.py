"""JSON Web Keys (RFC 7517): read a JWK only for the use, operations and algorithm it declares.

A JWK says what it is for: ``use`` (§4.2), ``key_ops`` (§4.3) and ``alg`` (§4.4). ``read_jwk`` honours all
three and refuses, with a ``KeyImportError`` naming the rule, a key meant for something else: an
encryption key (``"use": "enc"``, ``"key_ops": ["encrypt"]``) never verifies a signature, and a key
declared for PS512 is never rebound to RS256 because a caller asked for RS256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authkit.errors import KeyImportError

#: The algorithms each key type can serve, its default first. RFC 9864 §2.2 names Ed25519 fully; the older
#: "EdDSA" (RFC 8037) stays first so a JWK without ``alg`` keeps the meaning it had before RFC 9864.
FAMILIES: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("OKP", "Ed25519"): ("EdDSA", "Ed25519"),
    ("EC", "P-256"): ("ES256",),
    ("RSA", None): ("RS256", "PS256", "PS384", "PS512"),
    ("oct", None): ("HS256",),
}
#: RFC 7517 §4.3: "sign" with "verify" is the one related pair a signing key may carry.
SIGNING_OPS = frozenset({"sign", "verify"})
#: Members that hold secret material (RFC 7518 §6.2.2, §6.3.2, §6.4.1); a public JWK has none of them.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2: the required members of each key type, the only ones a thumbprint covers.
_THUMBPRINT_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "oct": ("k", "kty"),
}
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of ``b64url``: restores the padding the encoding dropped."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(n: int, size: int | None = None) -> str:
    return b64url(n.to_bytes(size or (n.bit_length() + 7) // 8, "big"))


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 of the required members, sorted, without whitespace."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url(hashlib.sha256(canonical).digest())


def public_members(public: Any) -> dict[str, str]:
    """The required public members of an Ed25519, P-256 or RSA public key (RFC 8037 §2, RFC 7518 §6)."""
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _int_b64(numbers.x, 32), "y": _int_b64(numbers.y, 32)}
    numbers = public.public_numbers()
    return {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}


def _bytes(jwk: dict[str, Any], name: str) -> bytes:
    """A base64url member as bytes; ``malformed_key`` if it is missing or not unpadded base64url."""
    value = jwk.get(name)
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise KeyImportError("malformed_key", f"JWK member {name!r} must be an unpadded base64url string")
    return b64url_decode(value)


def _int(jwk: dict[str, Any], name: str) -> int:
    return int.from_bytes(_bytes(jwk, name), "big")


def _check_use(jwk: dict[str, Any], needed: frozenset[str]) -> None:
    """RFC 7517 §4.2–4.3: ``use`` is "sig", and ``key_ops`` are signing operations that include ``needed``."""
    if "use" in jwk and jwk["use"] != "sig":
        raise KeyImportError("wrong_use", f"the JWK's use is {jwk['use']!r}: only a 'sig' key signs or verifies")
    if "key_ops" not in jwk:
        return
    ops = jwk["key_ops"]
    if not isinstance(ops, list) or not all(isinstance(op, str) for op in ops) or len(set(ops)) != len(ops):
        raise KeyImportError("wrong_key_ops", "key_ops must be a list of distinct strings (RFC 7517 §4.3)")
    if not set(ops) <= SIGNING_OPS:
        raise KeyImportError("wrong_key_ops", f"key_ops {ops} are not only signing operations {sorted(SIGNING_OPS)}")
    if not needed <= set(ops):
        raise KeyImportError("wrong_key_ops", f"key_ops {ops} do not allow {sorted(needed - set(ops))}")


def _choose_alg(jwk: dict[str, Any], requested: str | None) -> str:
    """The algorithm the key is for: the one requested, which must equal the JWK's own ``alg`` if it has one."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    family = FAMILIES.get((kty, crv if kty in ("OKP", "EC") else None))  # type: ignore[arg-type]
    if family is None:
        raise KeyImportError("unsupported_key", f"unsupported JWK: kty={kty!r} crv={crv!r}")
    declared = jwk.get("alg")
    if declared is not None and not isinstance(declared, str):
        raise KeyImportError("malformed_key", "the JWK's alg must be a string")
    if requested is not None and declared is not None and requested != declared:
        raise KeyImportError("wrong_alg", f"the JWK is for {declared}, not {requested}: a key is never rebound")
    chosen = requested or declared or family[0]
    if chosen not in family:
        raise KeyImportError("wrong_alg", f"a {kty} key cannot be used for {chosen}; authkit uses it for {family}")
    return chosen


def read_jwk(jwk: Any, *, alg: str | None = None) -> tuple[str, str | None, Any, Any]:
    """``(alg, kid, private, public)`` from a JWK; ``private`` is the secret for ``oct``, None for a public JWK.

    ``KeyImportError`` when the JWK is not for signing, does not allow the operations authkit will
    perform with it (a secret or private key signs, a public key verifies), declares an algorithm
    other than ``alg``, or is malformed.
    """
    if not isinstance(jwk, dict):
        raise KeyImportError("malformed_key", "a JWK is a JSON object")
    kty = jwk.get("kty")
    needed = SIGNING_OPS if kty == "oct" else frozenset({"sign" if "d" in jwk else "verify"})
    _check_use(jwk, needed)
    chosen = _choose_alg(jwk, alg)
    kid = jwk.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise KeyImportError("malformed_key", "the JWK's kid must be a non-empty string")
    try:
        private, public = _materials(jwk)
    except (ValueError, TypeError, binascii.Error) as err:
        if isinstance(err, KeyImportError):
            raise
        raise KeyImportError("malformed_key", f"the JWK holds no valid {kty} key: {err}") from err
    if private is not None and public is not None and public_members(private.public_key()) != public_members(public):
        raise KeyImportError("mismatched_key", "the JWK's private and public parts do not match")
    return chosen, kid, private, public


def _materials(jwk: dict[str, Any]) -> tuple[Any, Any]:
    """The ``cryptography`` objects (or the HMAC secret) a JWK holds, as ``(private, public)``."""
    kty = jwk["kty"]
    if kty == "oct":
        return _bytes(jwk, "k"), None
    private: Any = None
    if kty == "OKP":
        public: Any = ed25519.Ed25519PublicKey.from_public_bytes(_bytes(jwk, "x"))
        if "d" in jwk:
            private = ed25519.Ed25519PrivateKey.from_private_bytes(_bytes(jwk, "d"))
    elif kty == "EC":
        x, y = _bytes(jwk, "x"), _bytes(jwk, "y")
        if len(x) != 32 or len(y) != 32:  # RFC 7518 §6.2.1.2–3: full-length coordinates
            raise KeyImportError("malformed_key", "P-256 coordinates are 32 bytes each")
        public = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                               ec.SECP256R1()).public_key()
        if "d" in jwk:
            private = ec.derive_private_key(_int(jwk, "d"), ec.SECP256R1())
    else:
        numbers = rsa.RSAPublicNumbers(_int(jwk, "e"), _int(jwk, "n"))
        public = numbers.public_key()
        if "d" in jwk:
            d = _int(jwk, "d")
            if "p" in jwk:
                p, q, dp, dq, qi = (_int(jwk, name) for name in ("p", "q", "dp", "dq", "qi"))
            else:  # RFC 7518 §6.3.2: the CRT members are optional; recover them from n, e, d
                p, q = rsa.rsa_recover_prime_factors(numbers.n, numbers.e, d)
                dp, dq, qi = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
            private = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, numbers).private_key()
    return private, public
