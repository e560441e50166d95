"""Time-based one-time passwords (RFC 6238) with pyotp: enrolment, ±1 step, each code accepted once.

The secret is the caller's to keep (in the user directory, beside the password hash); Redis holds only the
last time step each user has spent, so a code seen once is refused again (RFC 6238 §5.2), on every worker.
Recovery codes are random, shown once, stored as SHA-256 digests (they carry 60 bits: no slow hash needed)
and spent with one ``SREM``: two concurrent uses of one code, exactly one wins.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

import pyotp
import redis

from authkit.errors import FACTOR_REASONS, FactorError
from authkit.state.redis import fail_closed

#: RFC 6238 defaults, the ones every authenticator app speaks: 30-second steps, 6 digits, HMAC-SHA-1.
STEP, DIGITS = 30, 6
#: Steps accepted either side of now: one, for a phone clock a little off and a code typed at the edge.
WINDOW = 1
RECOVERY_CODES = 10

# KEYS[1] the user's last spent step; ARGV[1] the step just matched, ARGV[2] the key's lifetime in ms.
# A step at or before the last spent one is a replay: refuse it; else remember it.
_SPEND_STEP = """
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
local step = tonumber(ARGV[1])
if step <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Enrolment:
    """A new TOTP secret, to show once: as text, and as the ``otpauth://`` URI a QR code carries."""

    secret: str
    uri: str


def enrol(account: str, issuer: str) -> Enrolment:
    """A fresh 160-bit secret (RFC 4226 §4 recommends 160) and its provisioning URI for ``account``."""
    secret = pyotp.random_base32(32)
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer))


def qr_matrix(uri: str) -> list[list[bool]]:
    """The QR code of ``uri`` as rows of dark (True) and light modules, to draw with matplotlib."""
    import qrcode

    code = qrcode.QRCode(border=2)
    code.add_data(uri)
    code.make(fit=True)
    return code.get_matrix()


class TotpVerifier:
    """Checks codes against a user's secret; the spent steps live in Redis, shared by every worker."""

    def __init__(self, client: redis.Redis, *, prefix: str = "authkit") -> None:
        self.client = client
        self.prefix = prefix
        self._spend = client.register_script(_SPEND_STEP)

    def _key(self, user_id: str, what: str) -> str:
        return f"{self.prefix}:{{u:{user_id}}}:{what}"

    def verify(self, user_id: str, secret: str, code: str, *, at: float | None = None) -> None:
        """Accept ``code`` once, or raise ``FactorError`` (``malformed``, ``wrong_code``, ``replayed``)."""
        if not isinstance(code, str) or len(code) != DIGITS or not code.isascii() or not code.isdigit():
            raise FactorError("malformed", f"a code is {DIGITS} digits")
        now = time.time() if at is None else at
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
        step = int(now // STEP)
        matched = [s for s in range(step - WINDOW, step + WINDOW + 1)
                   if secrets.compare_digest(totp.at(s * STEP), code)]
        if not matched:
            raise FactorError("wrong_code", "that code is not valid now")
        with fail_closed("the one-time-code store"):
            fresh = self._spend(keys=[self._key(user_id, "totp-step")],
                                args=[matched[-1], (2 * WINDOW + 2) * STEP * 1000])
        if not fresh:
            raise FactorError("replayed", "that code was already used")

    def new_recovery_codes(self, user_id: str, count: int = RECOVERY_CODES) -> list[str]:
        """Replace the user's recovery codes; the codes are returned once and only their digests are kept."""
        codes = [_format(secrets.token_bytes(8)) for _ in range(count)]
        key = self._key(user_id, "recovery")
        with fail_closed("the recovery-code store"):
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(key)
            pipe.sadd(key, *(_digest(code) for code in codes))
            pipe.execute()
        return codes

    def use_recovery_code(self, user_id: str, code: str) -> None:
        """Spend one recovery code, or raise ``FactorError`` (``malformed``, ``wrong_code``)."""
        if not isinstance(code, str) or not 8 <= len(code) <= 64:
            raise FactorError("malformed", "not a recovery code")
        with fail_closed("the recovery-code store"):
            spent = self.client.srem(self._key(user_id, "recovery"), _digest(code))
        if not spent:
            raise FactorError("wrong_code", "unknown or already used recovery code")

    def recovery_codes_left(self, user_id: str) -> int:
        """How many unused recovery codes the user has."""
        with fail_closed("the recovery-code store"):
            return int(self.client.scard(self._key(user_id, "recovery")))


def _format(raw: bytes) -> str:
    """Twelve lowercase base32 characters in groups of four (60 bits), easy to copy by hand."""
    text = base64.b32encode(raw).decode().lower()[:12]
    return "-".join(text[i:i + 4] for i in range(0, 12, 4))


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()

