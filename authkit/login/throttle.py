"""Login throttling in Redis: per account and per client address, growing delays, one round trip per attempt.

Each attempt runs one small script per key (the account's, the address's), sent together in one
pipeline: one round trip on one server, each key in its own Redis Cluster slot. A key counts the
attempts since its last success; past ``free`` attempts, each one sets a delay (``base`` doubling,
at most ``cap``) before the next is let through, so guessing slows down exponentially while the
owner is never locked out for good (a lockout would let anyone lock a victim out). An attempt that
comes during the delay is refused (HTTP 429 with ``Retry-After``) without being counted. The
account key is a keyed hash of the name as typed, so an unknown name is throttled exactly like a
known one and no login name is written to Redis. A success clears the account's counter.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from datetime import timedelta

import redis

from authkit.state.redis import fail_closed

# KEYS: the counter. ARGV: now ms, free attempts, base delay ms, cap ms, quiet window ms.
# Returns 0 (go on) or the milliseconds to wait (the attempt is refused and not counted).
ATTEMPT_SCRIPT = """
local v = redis.call('HMGET', KEYS[1], 'n', 'until')
local n, wait_until, now = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(ARGV[1])
if now < wait_until then return wait_until - now end
n = n + 1
if n > tonumber(ARGV[2]) then
  wait_until = now + math.min(tonumber(ARGV[3]) * 2 ^ math.min(n - tonumber(ARGV[2]) - 1, 40), tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[1], 'n', n, 'until', string.format('%d', wait_until))
redis.call('PEXPIRE', KEYS[1], math.max(wait_until - now, 0) + tonumber(ARGV[5]))
return 0
"""


@dataclass(frozen=True)
class Limit:
    """Free attempts, then a delay starting at ``base`` that doubles up to ``cap``; forgotten after ``window`` quiet."""

    free: int
    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(hours=1)

    def args(self, now_ms: int) -> tuple[int, int, int, int, int]:
        """The script's arguments for an attempt at ``now_ms``."""
        ms = timedelta(milliseconds=1)
        return now_ms, self.free, self.base // ms, self.cap // ms, self.window // ms


#: Per account: 5 free tries, then 1 s, 2 s, 4 s ... up to 15 min. Per address: 20 free tries (NAT, offices).
ACCOUNT_LIMIT, CLIENT_LIMIT = Limit(free=5), Limit(free=20)


class LoginThrottle:
    """``attempt(name, client)`` before checking a password (1 round trip); ``succeeded(name)`` after a match."""

    def __init__(self, client: redis.Redis, *, account: Limit = ACCOUNT_LIMIT, address: Limit = CLIENT_LIMIT,
                 secret: bytes = b"authkit login throttle", prefix: str = "authkit:throttle") -> None:
        self.client, self.account, self.address, self.prefix = client, account, address, prefix
        self._secret = secret  # every worker must use the same one: they share the counters
        self._script = client.register_script(ATTEMPT_SCRIPT)
        try:
            client.script_load(ATTEMPT_SCRIPT)
        except redis.RedisError:
            pass  # Redis is down: every attempt fails closed until it is back

    def account_key(self, name: str) -> str:
        """The account's counter: a keyed hash of the name (no login name in Redis), its own cluster slot."""
        digest = hmac.new(self._secret, name.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
        return f"{self.prefix}:{{a:{digest}}}"

    def address_key(self, address: str) -> str:
        """The client address's counter, in its own cluster slot."""
        safe = "".join(c if c.isalnum() or c in ".:" else "_" for c in address[:64])
        return f"{self.prefix}:{{c:{safe}}}"

    def attempt(self, name: str, address: str | None, *, now_ms: int | None = None) -> float:
        """0 if this attempt may go on, else the seconds to wait; ``StoreUnavailable`` if Redis is down."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        checks = [(self.account_key(name), self.account)]
        if address:
            checks.append((self.address_key(address), self.address))
        with fail_closed("login throttle"):
            try:
                waits = self._send(checks, now_ms)
            except redis.exceptions.NoScriptError:
                self.client.script_load(ATTEMPT_SCRIPT)  # Redis restarted and lost its scripts
                waits = self._send(checks, now_ms)
        return max(int(w) for w in waits) / 1000

    def succeeded(self, name: str) -> None:
        """Clear the account's counter: its owner got in (the address keeps counting, against spraying)."""
        with fail_closed("login throttle"):
            self.client.delete(self.account_key(name))

    def _send(self, checks: list[tuple[str, Limit]], now_ms: int) -> list[int]:
        pipe = self.client.pipeline(transaction=False)  # one round trip; each EVALSHA touches one slot
        for key, limit in checks:
            pipe.evalsha(self._script.sha, 1, key, *limit.args(now_ms))
        return pipe.execute()


def retry_after(seconds: float) -> int:
    """``Retry-After`` as whole seconds, never 0 for a refusal."""
    return max(1, math.ceil(seconds))
