"""The password hash policy: Argon2id by default, scrypt still verified, an optional rotating pepper.

``PasswordHasher`` hashes new passwords with Argon2id (``argon2-cffi``) at OWASP's Password Storage
Cheat Sheet minimum: 19 MiB of memory, 2 iterations, 1 lane. A stored scrypt string (the course's
earlier default) still verifies, and ``needs_rehash`` says True for it, so the login that proves the
password also upgrades the stored string. A pepper is an HMAC-SHA-256 of the password under a
server secret kept outside the user database; its key ID is written in the stored string
(``$pepper$k=<kid>$argon2id$...``), so a new pepper can be introduced while the old one still checks.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from authkit.login.passwords import ScryptCost, hash_password, verify_password

#: OWASP Password Storage Cheat Sheet: Argon2id, m = 19 MiB, t = 2, p = 1 (the minimum it recommends).
OWASP_MEMORY_KIB, OWASP_TIME, OWASP_LANES = 19 * 1024, 2, 1
_MAX_MEMORY_KIB, _MAX_TIME, _MAX_LANES = 1 << 20, 16, 16  # refuse stored parameters beyond 1 GiB of work
_PEPPER = re.compile(r"\$pepper\$k=(?P<kid>[A-Za-z0-9_-]{1,32})(?P<inner>\$.+)", re.DOTALL)
_ARGON2 = re.compile(r"\$argon2id\$v=19\$m=(?P<m>\d{1,8}),t=(?P<t>\d{1,3}),p=(?P<p>\d{1,3})\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")
MAX_PASSWORD_CHARS = 1024  # NIST asks to allow at least 64; far longer is a flood, not a password


@dataclass(frozen=True)
class Argon2Cost:
    """Argon2id's cost: memory in KiB, iterations, lanes. The default is OWASP's minimum."""

    memory_kib: int = OWASP_MEMORY_KIB
    time: int = OWASP_TIME
    lanes: int = OWASP_LANES

    def __post_init__(self) -> None:
        if not (8 * self.lanes <= self.memory_kib <= _MAX_MEMORY_KIB and 1 <= self.time <= _MAX_TIME
                and 1 <= self.lanes <= _MAX_LANES):
            raise ValueError(f"Argon2id cost out of bounds (8·p <= m <= {_MAX_MEMORY_KIB} KiB, "
                             f"1 <= t <= {_MAX_TIME}, 1 <= p <= {_MAX_LANES}): {self!r}")


DEFAULT_ARGON2 = Argon2Cost()
#: A cheap cost for tests and demonstrations (milliseconds per hash): never for real passwords.
TEST_ARGON2 = Argon2Cost(memory_kib=64, time=1, lanes=1)


@dataclass(frozen=True)
class Pepper:
    """Server secrets by key ID, and the one new hashes use; each at least 32 bytes."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current pepper {self.current!r} is not among the keys")
        for kid, key in self.keys.items():
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", kid) or len(key) < 32:
                raise ValueError(f"pepper {kid!r}: an ID of A-Z a-z 0-9 _ - and at least 32 bytes of secret")

    def apply(self, kid: str, secret: bytes) -> str:
        """The password as the KDF sees it: HMAC-SHA-256 under pepper ``kid``, base64 (KeyError if unknown)."""
        return base64.b64encode(hmac.new(self.keys[kid], secret, hashlib.sha256).digest()).decode("ascii")


def normalise(password: str) -> bytes:
    """NFKC-normalised UTF-8 (NIST SP 800-63B-4): the same password typed on two keyboards is one password."""
    return unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")


class PasswordHasher:
    """Hash with Argon2id (or scrypt, when given a ``ScryptCost``), verify any supported string, say when to rehash."""

    def __init__(self, cost: Argon2Cost | ScryptCost = DEFAULT_ARGON2, *, pepper: Pepper | None = None) -> None:
        self.cost, self.pepper = cost, pepper
        if isinstance(cost, Argon2Cost):
            self._argon2 = argon2.PasswordHasher(time_cost=cost.time, memory_cost=cost.memory_kib,
                                                 parallelism=cost.lanes, hash_len=32, salt_len=16,
                                                 type=argon2.Type.ID)
        self._verifier = argon2.PasswordHasher()  # reads the parameters from each stored string

    def hash(self, password: str) -> str:
        """The stored form of ``password``: a fresh salt, the current algorithm, cost and pepper."""
        secret = normalise(password)
        if self.pepper is not None:
            inner = self._kdf(self.pepper.apply(self.pepper.current, secret))
            return f"$pepper$k={self.pepper.current}{inner}"
        return self._kdf(secret.decode("utf-8", "surrogatepass"))

    def verify(self, password: str, stored: str) -> bool:
        """True if ``password`` matches ``stored``; False for a wrong password, an unreadable hash or unknown pepper."""
        if not isinstance(stored, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
            return False
        secret = normalise(password)
        match = _PEPPER.fullmatch(stored)
        if match is not None:
            if self.pepper is None or match["kid"] not in self.pepper.keys:
                return False
            return _verify_inner(self.pepper.apply(match["kid"], secret), match["inner"], self._verifier)
        return _verify_inner(secret.decode("utf-8", "surrogatepass"), stored, self._verifier)

    def needs_rehash(self, stored: str) -> bool:
        """True unless ``stored`` uses this hasher's algorithm, cost and current pepper."""
        match = _PEPPER.fullmatch(stored)
        kid, inner = (match["kid"], match["inner"]) if match else (None, stored)
        if kid != (self.pepper.current if self.pepper else None):
            return True
        if isinstance(self.cost, ScryptCost):
            c = self.cost
            return not inner.startswith(f"$scrypt$ln={c.log2_n},r={c.r},p={c.p}$")
        params = _ARGON2.fullmatch(inner)
        return params is None or (int(params["m"]), int(params["t"]), int(params["p"])) != (
            self.cost.memory_kib, self.cost.time, self.cost.lanes)

    def decoy(self) -> str:
        """A stored string for a name that does not exist, at this hasher's cost: checking it takes as long."""
        return _decoy(self)

    def _kdf(self, secret: str) -> str:
        if isinstance(self.cost, ScryptCost):
            return hash_password(secret, self.cost)
        return self._argon2.hash(secret)


@functools.lru_cache(maxsize=8)
def _decoy(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(32))


def _verify_inner(secret: str, stored: str, verifier: argon2.PasswordHasher) -> bool:
    if stored.startswith("$scrypt$"):
        return verify_password(secret, stored)
    params = _ARGON2.fullmatch(stored)
    if params is None:
        return False
    m, t, p = int(params["m"]), int(params["t"]), int(params["p"])
    if not (8 * p <= m <= _MAX_MEMORY_KIB and 1 <= t <= _MAX_TIME and 1 <= p <= _MAX_LANES):
        return False  # a stored string must not make us spend more than the bounds allow
    try:
        return verifier.verify(stored, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
