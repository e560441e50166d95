"""Password hashing with scrypt: a random salt per password, a self-describing string, constant-time check.

The stored form follows the PHC string format, e.g. ``$scrypt$ln=17,r=8,p=1$<salt>$<hash>``
(base64 without padding), so the cost parameters travel with each hash and can be raised later
without breaking the old ones. The default cost is OWASP's minimum for scrypt (Password Storage
Cheat Sheet): N = 2**17 (128 MiB), r = 8, p = 1. Tests and demonstrations may hash with a cheaper
``ScryptCost``; verification always reads the cost from the stored hash.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

#: log2 of scrypt's CPU/memory cost N, block size r, parallelism p; salt and output lengths in bytes.
DEFAULT_LOG2_N, DEFAULT_R, DEFAULT_P = 17, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32

#: Refuse stored parameters outside these bounds instead of burning CPU or memory on them.
_MAX_LOG2_N, _MAX_R, _MAX_P = 20, 32, 16
#: ... and their product: 128·r·N is scrypt's memory, p times it its work. 1 GiB is 8× the default.
_MAX_COST_BYTES = 1 << 30

_PHC = re.compile(
    r"\$scrypt\$ln=(?P<ln>\d{1,2}),r=(?P<r>\d{1,2}),p=(?P<p>\d{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/]{16,88})\$(?P<hash>[A-Za-z0-9+/]{16,88})"
)


def _affordable(log2_n: int, r: int, p: int) -> bool:
    """Each parameter in bounds, and their product too: each bound alone still allows 4 GiB (ln=20, r=32)."""
    in_bounds = 1 <= log2_n <= _MAX_LOG2_N and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P
    return in_bounds and 128 * r * (1 << log2_n) * p <= _MAX_COST_BYTES


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's cost: log2 of N (CPU and memory), block size r, parallelism p. The default is OWASP's minimum."""

    log2_n: int = DEFAULT_LOG2_N
    r: int = DEFAULT_R
    p: int = DEFAULT_P

    def __post_init__(self) -> None:
        if not _affordable(self.log2_n, self.r, self.p):
            raise ValueError(f"scrypt cost out of bounds (1 <= ln <= {_MAX_LOG2_N}, 1 <= r <= {_MAX_R}, "
                             f"1 <= p <= {_MAX_P}, at most {_MAX_COST_BYTES} bytes of work): {self!r}")


DEFAULT_COST = ScryptCost()


def hash_password(password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    """Hash ``password`` with scrypt at ``cost`` and a fresh random salt; return the self-describing string."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, cost.log2_n, cost.r, cost.p, HASH_BYTES)
    return f"$scrypt$ln={cost.log2_n},r={cost.r},p={cost.p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """True if ``password`` matches ``stored``; False for a wrong password or an unreadable hash."""
    match = _PHC.fullmatch(stored) if isinstance(stored, str) else None
    if match is None:
        return False
    log2_n, r, p = int(match["ln"]), int(match["r"]), int(match["p"])
    if not _affordable(log2_n, r, p):
        return False
    try:
        salt, expected = _unb64(match["salt"]), _unb64(match["hash"])
    except (binascii.Error, ValueError):
        return False
    actual = _scrypt(password, salt, log2_n, r, p, len(expected))
    return hmac.compare_digest(actual, expected)  # constant time: no early exit on the first wrong byte


def verify_login(password: str, stored: str | None, cost: ScryptCost = DEFAULT_COST) -> bool:
    """``verify_password`` for a login form: an unknown user (``stored`` None) costs the same scrypt work.

    Answering fast for names that do not exist would tell an attacker which ones do; ``cost`` is the
    cost of the directory's hashes, which the stand-in hash for an unknown name matches.
    """
    matched = verify_password(password, stored if stored is not None else _decoy_hash(cost))
    return matched and stored is not None


@functools.lru_cache(maxsize=4)
def _decoy_hash(cost: ScryptCost) -> str:
    return hash_password(secrets.token_urlsafe(32), cost)



def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, length: int) -> bytes:
    n = 1 << log2_n
    secret = unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")  # NIST 800-63B §5.1.1.2
    memory = 128 * r * (n + p + 2) + (1 << 20)  # what scrypt needs, plus slack; hashlib's default cap is 32 MiB
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=memory, dklen=length)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
