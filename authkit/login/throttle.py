"""Login throttling in Redis: per account and per client address, growing delays, one round trip per attempt.

Each attempt is one script call (one command, one round trip) over two counters, the account's and
the address's. A counter holds the attempts since its owner's last success; past ``free`` attempts,
each one sets a delay (``base`` doubling, at most ``cap``) before the next is let through, so guessing
slows down exponentially while the owner is never locked out for good (a lockout would let anyone
lock a victim out). An attempt that comes during a delay is refused (HTTP 429 with ``Retry-After``)
and not counted. The account's counter is named by a keyed hash of the name as typed, so an unknown
name is throttled exactly like a known one and no login name is written to Redis. A success clears
the account's counter and takes its attempt back from the address's (addresses count failures).

Both counters carry the hash tag ``{login}``: one script may touch them together on a Redis Cluster
(no CROSSSLOT), at the price of keeping every throttle counter on one node (each a small hash that
expires an hour after its last attempt).
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

# KEYS: the counters. ARGV: now ms, then per key: free attempts, base delay ms, cap ms, quiet window ms.
# Returns 0 (go on: every counter counted this attempt) or the longest wait in ms (refused, nothing counted).
ATTEMPT_SCRIPT = """
local now, wait = tonumber(ARGV[1]), 0
local state = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'n', 'until')
  state[i] = {tonumber(v[1]) or 0, tonumber(v[2]) or 0}
  if now < state[i][2] then wait = math.max(wait, state[i][2] - now) end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local a = 1 + (i - 1) * 4
  local free, base, cap, window = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local n, wait_until = state[i][1] + 1, 0
  if n > free then wait_until = now + math.min(base * 2 ^ math.min(n - free - 1, 40), cap) end
  redis.call('HSET', key, 'n', n, 'until', string.format('%d', wait_until))
  redis.call('PEXPIRE', key, math.max(wait_until - now, 0) + window)
end
return 0
"""

# KEYS: the account's counter, the address's (optional). A success: the account starts afresh, and its
# attempt no longer counts against the address.
SUCCESS_SCRIPT = """
redis.call('DEL', KEYS[1])
if KEYS[2] and (tonumber(redis.call('HGET', KEYS[2], 'n')) or 0) > 0 then redis.call('HINCRBY', KEYS[2], 'n', -1) end
return 1
"""


@dataclass(frozen=True)
class Limit:
    """Free attempts, then a delay starting at ``base`` that doubles up to ``cap``; forgotten after ``window`` quiet."""

    free: int
    base: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(hours=1)

    def args(self) -> tuple[int, int, int, int]:
        """The script's arguments for this counter."""
        ms = timedelta(milliseconds=1)
        return self.free, self.base // ms, self.cap // ms, self.window // ms


#: Per account: 5 free tries, then 1 s, 2 s, 4 s ... up to 15 min. Per address: 20 free tries (NAT, offices).
ACCOUNT_LIMIT, CLIENT_LIMIT = Limit(free=5), Limit(free=20)


class LoginThrottle:
    """``attempt(name, client)`` before checking a password (1 round trip); ``succeeded(name, client)`` after a match."""

    def __init__(self, client: redis.Redis, *, account: Limit = ACCOUNT_LIMIT, address: Limit = CLIENT_LIMIT,
                 secret: bytes = b"authkit login throttle", prefix: str = "authkit:throttle") -> None:
        self.client, self.account, self.address, self.prefix = client, account, address, prefix
        self._secret = secret  # every worker must use the same one: they share the counters
        self._attempt = client.register_script(ATTEMPT_SCRIPT)
        self._success = client.register_script(SUCCESS_SCRIPT)
        try:  # loaded now, so an attempt is one EVALSHA, not NOSCRIPT + SCRIPT LOAD + EVALSHA
            for script in (ATTEMPT_SCRIPT, SUCCESS_SCRIPT):
                client.script_load(script)
        except redis.RedisError:
            pass  # Redis is down: every attempt fails closed until it is back

    def account_key(self, name: str) -> str:
        """The account's counter: a keyed hash of the name (no login name in Redis)."""
        digest = hmac.new(self._secret, name.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]
        return f"{self.prefix}:{{login}}:a:{digest}"

    def address_key(self, address: str) -> str:
        """The client address's counter."""
        safe = "".join(c if c.isalnum() or c in ".:" else "_" for c in address[:64])
        return f"{self.prefix}:{{login}}:c:{safe}"

    def attempt(self, name: str, address: str | None, *, now_ms: int | None = None) -> float:
        """0 if this attempt may go on, else the seconds to wait; ``StoreUnavailable`` if Redis is down."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        keys, args = [self.account_key(name)], [now_ms, *self.account.args()]
        if address:
            keys.append(self.address_key(address))
            args += self.address.args()
        with fail_closed("login throttle"):
            return int(self._attempt(keys=keys, args=args)) / 1000

    def succeeded(self, name: str, address: str | None = None) -> None:
        """Clear the account's counter, and take this attempt back from the address's."""
        keys = [self.account_key(name)] + ([self.address_key(address)] if address else [])
        with fail_closed("login throttle"):
            self._success(keys=keys)


def retry_after(seconds: float) -> int:
    """``Retry-After`` as whole seconds, never 0 for a refusal."""
    return max(1, math.ceil(seconds))
