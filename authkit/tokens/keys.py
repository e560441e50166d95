"""Signing keys, each bound to one algorithm and a ``kid``, and the key sets that sign, publish and retire them."""

from __future__ import annotations

import math
import secrets
import threading
import time
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authkit.errors import KeyImportError, KeyRetirementError, TokenError, UnusableKeyWarning, WeakKeyError
from authkit.tokens.jwk import PRIVATE_MEMBERS, b64url, b64url_decode, public_members, read_jwk, thumbprint
from authkit.tokens.weak_secrets import MIN_HMAC_BYTES, secret_weakness

__all__ = ["ALGORITHMS", "ASYMMETRIC", "RSA_ALGORITHMS", "KeySet", "SigningKey", "b64url", "b64url_decode",
           "retirable_at", "secret_weakness", "thumbprint"]

#: The algorithms a key can be bound to (RFC 7518, RFC 8037, RFC 9864). "EdDSA" and "Ed25519" are the same
#: signature on the same keys under two names: RFC 9864 deprecates the first, PyJWT 2.15 knows only it.
#: PS256/384/512 are RSASSA-PSS (RFC 7518 §3.5): the same RSA keys as RS256, a randomized padding with a proof.
ALGORITHMS = ("HS256", "EdDSA", "Ed25519", "ES256", "RS256", "PS256", "PS384", "PS512")
ASYMMETRIC = ("EdDSA", "Ed25519", "ES256", "RS256", "PS256", "PS384", "PS512")
RSA_ALGORITHMS = ("RS256", "PS256", "PS384", "PS512")
#: ``SigningKey.generate()``'s algorithm: "EdDSA" while common verifiers (PyJWT ≤ 2.15, its PyJWKClient)
#: refuse "Ed25519"; ``generate("Ed25519")`` signs with the RFC 9864 name.
DEFAULT_ALGORITHM = "EdDSA"
RSA_BITS = 2048  # the smallest size RFC 7518 §3.3 (RS256) and §3.5 (PS256) allow
_GENERATE = "use SigningKey.generate('HS256') for a key from the operating system's CSPRNG"

_PUBLIC_TYPES = {
    "EdDSA": ed25519.Ed25519PublicKey,
    "Ed25519": ed25519.Ed25519PublicKey,
    "ES256": ec.EllipticCurvePublicKey,
    **{alg: rsa.RSAPublicKey for alg in RSA_ALGORITHMS},
}


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
            weakness = secret_weakness(private)
            if weakness:
                raise WeakKeyError(message=f"{weakness}; {_GENERATE}")
        elif not isinstance(public, _PUBLIC_TYPES[alg]):
            raise ValueError(f"a {type(public).__name__} cannot be used for {alg}")
        elif alg == "ES256" and not isinstance(public.curve, ec.SECP256R1):
            raise ValueError("ES256 needs a P-256 key")
        elif alg in RSA_ALGORITHMS and public.key_size < RSA_BITS:
            raise WeakKeyError(message=f"RSA key has {public.key_size} bits; at least {RSA_BITS} required")
        self.alg, self.kid, self._private, self._public = alg, kid, private, public

    @classmethod
    def generate(cls, alg: str = DEFAULT_ALGORITHM, *, kid: str | None = None) -> "SigningKey":
        """A fresh key from the operating system's CSPRNG; ``kid`` defaults to a random one for HMAC, else
        to the RFC 7638 thumbprint of the public key."""
        if alg == "HS256":
            return cls(alg, kid or secrets.token_urlsafe(12), secrets.token_bytes(MIN_HMAC_BYTES), None)
        if alg in ("EdDSA", "Ed25519"):
            private: Any = ed25519.Ed25519PrivateKey.generate()
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        elif alg in RSA_ALGORITHMS:
            private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        else:
            raise ValueError(f"unsupported algorithm {alg!r}; choose one of {ALGORITHMS}")
        public = private.public_key()
        return cls(alg, kid or thumbprint(public_members(public)), private, public)

    @classmethod
    def from_secret(cls, secret: bytes, *, kid: str, alg: str = "HS256") -> "SigningKey":
        """An HMAC key from a shared secret; refuses a short or guessable-looking one (``WeakKeyError``)."""
        if alg != "HS256":
            raise ValueError(f"a shared secret signs only HS256, not {alg!r}")
        return cls(alg, kid, secret, None)

    @classmethod
    def from_public_key(cls, public: Any, *, alg: str, kid: str) -> "SigningKey":
        """A verify-only key from a ``cryptography`` public key."""
        if alg not in ASYMMETRIC:
            raise ValueError(f"a public key verifies only {ASYMMETRIC}, not {alg!r}")
        return cls(alg, kid, None, public)

    @classmethod
    def from_jwk(cls, jwk: dict[str, Any], *, alg: str | None = None, kid: str | None = None) -> "SigningKey":
        """A key from a JWK, for the use, operations and algorithm it declares (``KeyImportError`` otherwise).

        Private if it holds ``d`` (or is ``oct``), else verify-only. ``kid`` defaults to the JWK's own, then
        to the RFC 7638 thumbprint of the public key; an ``oct`` key must name one, since any hash of
        the secret in a published header would be a hash of the secret.
        """
        chosen, declared_kid, private, public = read_jwk(jwk, alg=alg)
        kid = kid or declared_kid
        if chosen == "HS256":
            if kid is None:
                raise KeyImportError("missing_kid", "an oct JWK needs a kid: authkit never derives one from a secret")
            return cls.from_secret(private, kid=kid)
        return cls(chosen, kid or thumbprint(public_members(public)), private, public)

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
        return {**public_members(self._public), "kid": self.kid, "alg": self.alg, "use": "sig"}

    def public_pem(self) -> bytes | None:
        """The public key as PEM (SubjectPublicKeyInfo); None for HMAC keys."""
        if self.alg == "HS256":
            return None
        return self._public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def __repr__(self) -> str:
        kind = "secret" if self.alg == "HS256" else ("private" if self.can_sign else "public")
        return f"SigningKey(alg={self.alg!r}, kid={self.kid!r}, {kind})"


def import_jwks(jwks: Any, *, public_only: bool) -> dict[str, SigningKey | KeyImportError | WeakKeyError]:
    """Each key of a JWK Set by ``kid``, or why it cannot be used. Two keys sharing a kid are both refused.

    RFC 7517 §5: a JWK Set may hold keys one does not understand (another ``kty``, a member missing or out
    of range), and those are ignored. So any entry that cannot be used, whatever its members hold (a list
    for ``kty``, an object for ``crv``), is skipped with an ``UnusableKeyWarning`` naming it, and the others
    are kept; only a document that is not a JWK Set at all is refused.
    """
    members = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(members, list):
        raise KeyImportError("malformed_key", 'a JWK Set is a JSON object with a "keys" list (RFC 7517 §5)')
    found: dict[str, SigningKey | KeyImportError | WeakKeyError] = {}
    for index, jwk in enumerate(members):
        kid = jwk.get("kid") if isinstance(jwk, dict) else None
        if not isinstance(kid, str) or not kid:  # a key without a kid can never be named by a token
            warnings.warn(f"JWK Set entry {index} skipped: it has no kid a token could name", UnusableKeyWarning,
                          stacklevel=2)
            continue
        try:
            if public_only and PRIVATE_MEMBERS & set(jwk):
                raise KeyImportError("unsupported_key", "a published JWK Set holds public keys only")
            key: SigningKey | KeyImportError | WeakKeyError = SigningKey.from_jwk(jwk)
        except (KeyImportError, WeakKeyError) as err:
            key = err
        except Exception as err:  # members of any JSON type: an unhashable kty, a huge or odd number
            key = KeyImportError("malformed_key", f"unusable JWK: {type(err).__name__}: {err}")
        if kid in found:
            key = KeyImportError("malformed_key", f"two keys in the JWK Set share kid {kid!r}")
        if not isinstance(key, SigningKey):
            warnings.warn(f"JWK Set entry {index} (kid {kid!r}) skipped: {key}", UnusableKeyWarning, stacklevel=2)
        found[kid] = key
    return found


def retirable_at(demoted_at: float, longest_ttl: timedelta, *, leeway: timedelta = timedelta(0)) -> float:
    """The Unix time from which a key that stopped signing at ``demoted_at`` may leave a shared key file.

    ``KeySet.retire``'s guard sees only the tokens its own process signed; with several workers, the
    rule that makes retirement safe is this one: a key is demoted (no longer first in the key file) and
    every worker restarted, at ``demoted_at``; it stays in the file, verifying, until every token any
    worker could have signed with it has expired: ``demoted_at + longest_ttl + leeway``, where
    ``longest_ttl`` is the longest lifetime the key signs (the refresh tokens' if they share the key set).
    """
    return demoted_at + longest_ttl.total_seconds() + leeway.total_seconds()


class KeySet:
    """The keys a service signs and verifies with, by ``kid``; the current key signs new tokens.

    The set remembers, per key, until when the tokens it signed live (``signer(until=exp)``), and
    ``retire`` refuses to remove a key before then: retiring a key that signed 14-day refresh tokens
    15 minutes after the last access token would log everyone out. That memory is per process: across
    workers sharing a key file, follow ``retirable_at`` (tests/test_rotation.py shows why).
    """

    def __init__(self, *keys: SigningKey) -> None:
        if not keys:
            raise ValueError("a KeySet needs at least one key")
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._live_until: dict[str, float] = {}
        self._current = keys[0].kid
        for key in keys:
            self.add(key, make_current=False)

    @classmethod
    def from_jwks(cls, jwks: dict[str, Any]) -> "KeySet":
        """A key set from a JWK Set; the first key signs, so it must be usable (``KeyImportError`` otherwise).

        Any other entry that cannot be used is skipped with an ``UnusableKeyWarning`` (RFC 7517 §5).
        """
        imported = import_jwks(jwks, public_only=False)
        first = next(iter(imported.items()), None)
        if first is None:
            raise KeyImportError("malformed_key", "the JWK Set holds no key with a kid")
        kid, key = first
        if not isinstance(key, SigningKey):
            raise type(key)(key.reason, f"key {kid!r}, the first, signs new tokens: {key}")
        return cls(*(key for key in imported.values() if isinstance(key, SigningKey)))

    @property
    def current(self) -> SigningKey:
        """The key that signs new tokens."""
        return self._keys[self._current]

    def signer(self, *, until: float) -> SigningKey:
        """The current key, remembering that a token it signs now is valid until ``until`` (a Unix time)."""
        if not isinstance(until, (int, float)) or not math.isfinite(until):
            raise ValueError(f"until must be a finite Unix time, not {until!r}")
        with self._lock:
            kid = self._current
            self._live_until[kid] = max(until, self._live_until.get(kid, until))
            return self._keys[kid]

    def live_until(self, kid: str) -> float | None:
        """The ``exp`` of the longest-lived token this set's key ``kid`` signed, or None if it signed none."""
        return self._live_until.get(kid)

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

    def retire(self, kid: str, *, force: bool = False) -> None:
        """Remove ``kid``: it is no longer published and tokens it signed stop verifying.

        ``KeyRetirementError`` while a token it signed is still within its lifetime (``live_until``),
        unless ``force=True``: for a compromised key, whose every token must die now, logging out its users.
        """
        with self._lock:
            self.get(kid)
            if kid == self._current:
                raise KeyRetirementError("signing_key", f"kid {kid!r} signs new tokens: promote another key first")
            until = self._live_until.get(kid, -math.inf)
            if not force and time.time() < until:
                try:
                    when = datetime.fromtimestamp(until, timezone.utc).isoformat(timespec="seconds")
                except (OverflowError, ValueError, OSError):  # beyond what a datetime holds
                    when = f"Unix time {until:.0f}"
                raise KeyRetirementError(
                    "tokens_live",
                    f"kid {kid!r} signed tokens valid until {when}: retiring it now refuses them (everyone holding "
                    "one is logged out). Retire it after then, give long-lived tokens their own key set, "
                    "or pass force=True for a compromised key",
                )
            self._keys = {k: v for k, v in self._keys.items() if k != kid}
            self._live_until.pop(kid, None)

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
