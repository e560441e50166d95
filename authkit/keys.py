"""Signing keys, each bound to one algorithm and a ``kid``, and the key set a service publishes."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from typing import Any, Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authkit.errors import TokenError, WeakKeyError

#: The algorithms a key can be bound to: one symmetric, three asymmetric (RFC 7518, RFC 8037).
ALGORITHMS = ("HS256", "EdDSA", "ES256", "RS256")
ASYMMETRIC = ("EdDSA", "ES256", "RS256")
MIN_HMAC_BYTES = 32  # 256 bits: RFC 7518 §3.2 wants a key at least as long as the hash output
RSA_BITS = 2048  # the smallest size RFC 7518 §3.3 allows

# RFC 7638 §3.2: the required members of each key type, the only ones a thumbprint covers.
_THUMBPRINT_MEMBERS = {
    "OKP": ("crv", "kty", "x"),
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "oct": ("k", "kty"),
}
_PUBLIC_TYPES = {
    "EdDSA": ed25519.Ed25519PublicKey,
    "ES256": ec.EllipticCurvePublicKey,
    "RS256": rsa.RSAPublicKey,
}


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of ``b64url``: restores the padding the encoding dropped."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(n: int, size: int | None = None) -> str:
    return b64url(n.to_bytes(size or (n.bit_length() + 7) // 8, "big"))


def _b64_int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 of the required members, sorted, without whitespace."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return b64url(hashlib.sha256(canonical).digest())


def _public_members(public: Any) -> dict[str, str]:
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _int_b64(numbers.x, 32), "y": _int_b64(numbers.y, 32)}
    numbers = public.public_numbers()
    return {"kty": "RSA", "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}


class SigningKey:
    """A key bound to exactly one algorithm and a ``kid``; HMAC secrets and private keys never leave it."""

    __slots__ = ("alg", "kid", "_private", "_public")

    def __init__(self, alg: str, kid: str, private: Any, public: Any) -> None:
        if alg not in ALGORITHMS:
            raise ValueError(f"unsupported algorithm {alg!r}; choose one of {ALGORITHMS}")
        if not isinstance(kid, str) or not kid:
            raise ValueError("kid must be a non-empty string")
        if alg == "HS256":
            if not isinstance(private, bytes):
                raise TypeError("an HS256 secret must be bytes")
            if len(private) < MIN_HMAC_BYTES:
                raise WeakKeyError(message=f"HMAC secret has {len(private) * 8} bits; at least 256 required")
        elif not isinstance(public, _PUBLIC_TYPES[alg]):
            raise ValueError(f"a {type(public).__name__} cannot be used for {alg}")
        elif alg == "ES256" and not isinstance(public.curve, ec.SECP256R1):
            raise ValueError("ES256 needs a P-256 key")
        elif alg == "RS256" and public.key_size < RSA_BITS:
            raise WeakKeyError(message=f"RSA key has {public.key_size} bits; at least {RSA_BITS} required")
        self.alg, self.kid, self._private, self._public = alg, kid, private, public

    @classmethod
    def generate(cls, alg: str = "EdDSA", *, kid: str | None = None) -> "SigningKey":
        """A fresh key from the operating system's CSPRNG; ``kid`` defaults to the RFC 7638 thumbprint."""
        if alg == "HS256":
            return cls(alg, kid or secrets.token_urlsafe(12), secrets.token_bytes(MIN_HMAC_BYTES), None)
        if alg == "EdDSA":
            private: Any = ed25519.Ed25519PrivateKey.generate()
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        else:
            raise ValueError(f"unsupported algorithm {alg!r}; choose one of {ALGORITHMS}")
        public = private.public_key()
        return cls(alg, kid or thumbprint(_public_members(public)), private, public)

    @classmethod
    def from_secret(cls, secret: bytes, *, kid: str, alg: str = "HS256") -> "SigningKey":
        """An HMAC key from a shared secret; refuses secrets shorter than 256 bits (``WeakKeyError``)."""
        if alg != "HS256":
            raise ValueError(f"a shared secret signs only HS256, not {alg!r}")
        return cls(alg, kid, secret, None)

    @classmethod
    def from_public_key(cls, public: Any, *, alg: str, kid: str) -> "SigningKey":
        """A verify-only key from a ``cryptography`` public key (e.g. one found in a JWKS)."""
        if alg not in ASYMMETRIC:
            raise ValueError(f"a public key verifies only {ASYMMETRIC}, not {alg!r}")
        return cls(alg, kid, None, public)

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any], *, alg: str | None = None, kid: str | None = None) -> "SigningKey":
        """A key from a JWK (RFC 7517): private if it holds ``d`` (or ``k``), else verify-only."""
        kty = jwk.get("kty")
        if kty == "oct":
            return cls.from_secret(b64url_decode(jwk["k"]), kid=kid or jwk.get("kid") or thumbprint(jwk))
        private: Any = None
        if kty == "OKP" and jwk.get("crv") == "Ed25519":
            default_alg = "EdDSA"
            if "d" in jwk:
                private = ed25519.Ed25519PrivateKey.from_private_bytes(b64url_decode(jwk["d"]))
            public = ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        elif kty == "EC" and jwk.get("crv") == "P-256":
            default_alg = "ES256"
            public = ec.EllipticCurvePublicNumbers(_b64_int(jwk["x"]), _b64_int(jwk["y"]), ec.SECP256R1()).public_key()
            if "d" in jwk:
                private = ec.derive_private_key(_b64_int(jwk["d"]), ec.SECP256R1())
        elif kty == "RSA":
            default_alg = "RS256"
            numbers = rsa.RSAPublicNumbers(_b64_int(jwk["e"]), _b64_int(jwk["n"]))
            public = numbers.public_key()
            if "d" in jwk:
                p, q, dp, dq, qi, d = (_b64_int(jwk[name]) for name in ("p", "q", "dp", "dq", "qi", "d"))
                private = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, numbers).private_key()
        else:
            raise ValueError(f"unsupported JWK: kty={kty!r} crv={jwk.get('crv')!r}")
        if private is not None and _public_members(private.public_key()) != _public_members(public):
            raise ValueError("the JWK's private and public parts do not match")
        chosen_kid = kid or jwk.get("kid") or thumbprint(_public_members(public))
        return cls(alg or jwk.get("alg") or default_alg, chosen_kid, private, public)

    @property
    def can_sign(self) -> bool:
        """True when this key holds a secret or private key, not only a public key."""
        return self._private is not None

    @property
    def signing_material(self) -> Any:
        """The HMAC secret or private key handed to the signer; ``ValueError`` for a verify-only key."""
        if self._private is None:
            raise ValueError(f"key {self.kid!r} is verify-only: it holds no private key")
        return self._private

    @property
    def verifying_material(self) -> Any:
        """The HMAC secret or public key handed to the verifier."""
        return self._private if self.alg == "HS256" else self._public

    def public_jwk(self) -> dict[str, str] | None:
        """The public JWK with ``kid``, ``alg`` and ``use``; None for HMAC keys, which are never published."""
        if self.alg == "HS256":
            return None
        return {**_public_members(self._public), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes | None:
        """The public key as PEM (SubjectPublicKeyInfo); None for HMAC keys."""
        if self.alg == "HS256":
            return None
        return self._public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def __repr__(self) -> str:
        kind = "secret" if self.alg == "HS256" else ("private" if self.can_sign else "public")
        return f"SigningKey(alg={self.alg!r}, kid={self.kid!r}, {kind})"


class KeySet:
    """The keys a service signs and verifies with, by ``kid``; the current key signs new tokens."""

    def __init__(self, *keys: SigningKey) -> None:
        if not keys:
            raise ValueError("a KeySet needs at least one key")
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._current = keys[0].kid
        for key in keys:
            self.add(key, make_current=False)

    @property
    def current(self) -> SigningKey:
        """The key that signs new tokens."""
        return self._keys[self._current]

    def add(self, key: SigningKey, *, make_current: bool = True) -> None:
        """Add ``key``; it signs from now on unless ``make_current=False`` (publish first, sign later)."""
        with self._lock:
            if key.kid in self._keys:
                raise ValueError(f"kid {key.kid!r} is already in the key set")
            self._keys = {**self._keys, key.kid: key}
            if make_current:
                self._current = key.kid

    def promote(self, kid: str) -> None:
        """Make the key ``kid`` (already in the set) the one that signs."""
        with self._lock:
            self.get(kid)
            self._current = kid

    def retire(self, kid: str) -> None:
        """Remove ``kid``: it is no longer published and tokens it signed stop verifying."""
        with self._lock:
            self.get(kid)
            if kid == self._current:
                raise ValueError(f"kid {kid!r} signs new tokens: promote another key before retiring it")
            self._keys = {k: v for k, v in self._keys.items() if k != kid}

    def get(self, kid: str) -> SigningKey:
        """The key named ``kid``; ``TokenError("unknown_key")`` if there is none."""
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenError("unknown_key", f"no key with kid {kid!r}")
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set to publish: public keys only, each with ``kid``, ``alg`` and ``use``."""
        return {"keys": [jwk for key in self._keys.values() if (jwk := key.public_jwk()) is not None]}

    @property
    def kids(self) -> list[str]:
        """The key IDs in the set, oldest first."""
        return list(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __iter__(self) -> Iterator[SigningKey]:
        return iter(list(self._keys.values()))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet(current={self._current!r}, kids={self.kids!r})"
