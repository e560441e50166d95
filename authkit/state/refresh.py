"""Refresh tokens that rotate on every use, in families that all die when an old one comes back.

Rotation is idempotent for a short ``grace``: whoever presents the token just rotated — a second tab, a
retry after a timeout — receives the same successor, so the login survives. Redis keeps that successor
for the grace only, sealed (AES-GCM) under a key derived from the presented token, which Redis never
sees: a copy of Redis alone yields no usable token. After the grace, presenting an old token revokes the
whole family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authkit.errors import TokenError
from authkit.tokens.keys import b64url, b64url_decode
from authkit.state.redis import fail_closed
from authkit.state import durability
from authkit.state.revocation import KEY_PREFIX, AccessGuard, user_tag, version_key
from authkit.tokens.issuer import TokenIssuer, TokenVerifier

FAMILY_IDLE = timedelta(days=14)  # unused this long, the login is over (keep equal to the refresh TTL)
FAMILY_ABSOLUTE = timedelta(days=30)  # however active, log in again after this
FAMILY_ID_BYTES = 16  # 128 bits, from secrets
#: A grace for services: a 2 s socket timeout, a Retry-After of a few seconds and the retry fit in it.
GRACE = timedelta(seconds=10)
_SEAL_INFO = b"authkit refresh-token successor"
_NONCE_BYTES = 12  # AES-GCM's standard nonce, random per seal

# KEYS: family hash, user's version. ARGV: first jti, now ms, idle ms, absolute ms, scope.
START_SCRIPT = """
local ver = redis.call('GET', KEYS[2]) or '0'
local now, idle, abs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[2]) + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'state', 'active', 'cur', ARGV[1], 'prev', '', 'prev_until', 0,
           'seen', now, 'abs', abs, 'ver', ver, 'scope', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], math.min(now + idle, abs))
return ver
"""

# KEYS: family hash, user's version, the family's sealed successor.
# ARGV: presented jti, new jti, new token sealed (or ''), now ms, idle ms, grace ms.
# One script, so one round trip and no interleaving: exactly one caller moves `cur`; the others that
# present the same token within the grace get the successor it sealed ('again'). "now" is the
# application's clock, like the JWT checks'; the sealed copy expires with the grace (PXAT).
ROTATE_SCRIPT = """
local f = redis.call('HMGET', KEYS[1], 'state', 'cur', 'prev', 'prev_until', 'seen', 'abs', 'ver', 'scope')
if not f[1] then return {'expired'} end
if f[1] ~= 'active' then return {'revoked'} end
local now, idle, grace = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if (redis.call('GET', KEYS[2]) or '0') ~= f[7] then
  redis.call('HSET', KEYS[1], 'state', 'revoked')
  redis.call('DEL', KEYS[3])
  return {'revoked'}
end
if now >= tonumber(f[6]) or now >= tonumber(f[5]) + idle then
  redis.call('DEL', KEYS[1], KEYS[3])
  return {'expired'}
end
if ARGV[1] == f[2] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', f[2], 'prev_until', now + grace, 'seen', now)
  redis.call('DEL', KEYS[3])
  if grace > 0 and ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'PXAT', now + grace) end
  redis.call('PEXPIREAT', KEYS[1], math.min(now + idle, tonumber(f[6])))
  return {'ok', f[7], f[8]}
end
if ARGV[1] == f[3] and grace > 0 and now < tonumber(f[4]) then
  local sealed = redis.call('GET', KEYS[3])
  if sealed then return {'again', f[7], f[8], sealed} end
end
redis.call('HSET', KEYS[1], 'state', 'revoked')
redis.call('DEL', KEYS[3])
return {'reused'}
"""

# KEYS: family hash, its sealed successor. Marks the family revoked (a tombstone until it would have
# expired) if it still exists.
REVOKE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'revoked')
redis.call('DEL', KEYS[2])
return 1
"""

_REFUSALS = {
    "reused": "a rotated refresh token was presented again after the grace: the whole family is revoked",
    "revoked": "this login was revoked (logout, logout-everywhere or reuse of an older token)",
    "expired": "this login expired (idle or absolute lifetime): log in again",
}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def _sealer(presented: str) -> AESGCM:
    """AES-256-GCM keyed by HKDF-SHA256 of the presented token: only its holders can open the seal."""
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=None, info=_SEAL_INFO).derive(presented.encode("utf-8")))


def seal(successor: str, presented: str, jti: str) -> str:
    """``successor`` encrypted for whoever holds ``presented`` (whose ``jti`` is bound in as associated data)."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return b64url(nonce + _sealer(presented).encrypt(nonce, successor.encode("utf-8"), jti.encode("utf-8")))


def unseal(sealed: str, presented: str, jti: str) -> str:
    """The successor ``seal`` stored; ``TokenError`` if ``presented`` is not the token it was sealed for."""
    data = b64url_decode(sealed)
    try:
        opened = _sealer(presented).decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], jti.encode("utf-8"))
    except (InvalidTag, ValueError) as err:
        raise TokenError("reused", "this copy of the refresh token is not the one that was rotated") from err
    return opened.decode("utf-8")


@dataclass(frozen=True)
class Rotated:
    """A rotation's outcome: version, scope, and for a repeat within the grace the successor sealed first."""

    version: int
    scope: str
    sealed_successor: str | None = None


class RefreshFamilies:
    """One Redis hash per login ("family"): the one jti that may refresh next, lifetimes, state."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        idle: timedelta = FAMILY_IDLE,
        absolute: timedelta = FAMILY_ABSOLUTE,
        grace: timedelta = timedelta(0),
        prefix: str = KEY_PREFIX,
    ) -> None:
        if grace < timedelta(0) or grace >= idle:
            raise ValueError(f"the grace must be at least 0 and shorter than the idle lifetime, not {grace!r}")
        self.redis, self.prefix = client, prefix
        durability.cover(client, prefix)
        self.idle, self.absolute, self.grace = idle, absolute, grace
        self._start = client.register_script(START_SCRIPT)
        self._rotate = client.register_script(ROTATE_SCRIPT)
        self._revoke = client.register_script(REVOKE_SCRIPT)

    def key(self, subject: str, family: str) -> str:
        """The family's hash; it shares the user's hash tag with the version key (one cluster slot)."""
        return f"{self.prefix}:rt:{user_tag(subject)}:{family}"

    def successor_key(self, subject: str, family: str) -> str:
        """Where the last rotation's sealed successor waits out the grace (same hash tag)."""
        return f"{self.key(subject, family)}:next"

    def load_scripts(self) -> None:
        """SCRIPT LOAD up front, so that each later call is a single EVALSHA."""
        with fail_closed("token store"):
            for script in (self._start, self._rotate, self._revoke):
                self.redis.script_load(script.script)

    def start(self, subject: str, family: str, jti: str, *, scope: str = "") -> int:
        """Open a family whose first token is ``jti``; returns the user's token version (1 round trip)."""
        keys = [self.key(subject, family), version_key(subject, prefix=self.prefix)]
        with fail_closed("token store"):
            return int(self._start(keys=keys, args=[jti, _now_ms(), _ms(self.idle), _ms(self.absolute), scope]))

    def rotate(self, subject: str, family: str, presented: str, new: str, *, sealed: str = "") -> Rotated:
        """Make ``new`` the family's next token if ``presented`` is its current one (1 round trip).

        ``sealed`` (see ``seal``) is kept for the grace, for callers that present the same token again.
        Those get ``Rotated.sealed_successor`` instead of a rotation. Anything else is refused with a
        ``TokenError``: ``reused`` (the family is revoked now), ``revoked`` or ``expired``.
        """
        keys = [self.key(subject, family), version_key(subject, prefix=self.prefix),
                self.successor_key(subject, family)]
        args = [presented, new, sealed, _now_ms(), _ms(self.idle), _ms(self.grace)]
        with fail_closed("token store"), durability.revoking(self.redis):  # a rotation revokes the presented token
            outcome = self._rotate(keys=keys, args=args)
        if outcome[0] not in ("ok", "again"):
            raise TokenError(outcome[0], _REFUSALS[outcome[0]])
        return Rotated(int(outcome[1]), outcome[2], outcome[3] if outcome[0] == "again" else None)

    def revoke(self, subject: str, family: str) -> bool:
        """Logout: the family's tokens stop refreshing; False if it had already expired."""
        with fail_closed("token store"), durability.revoking(self.redis):
            return bool(self._revoke(keys=[self.key(subject, family), self.successor_key(subject, family)]))

    def state(self, subject: str, family: str) -> dict[str, str]:
        """The family's hash as stored (empty once expired): for inspection, not for decisions."""
        with fail_closed("token store"):
            return self.redis.hgetall(self.key(subject, family))


class NaiveRotation:
    """COUNTER-EXAMPLE, do not use: read the current jti, compare in Python, then write. Racy."""

    def __init__(self, families: RefreshFamilies) -> None:
        self.families = families

    def read(self, subject: str, family: str) -> str | None:
        """Round trip 1: the jti the family expects."""
        return self.families.redis.hget(self.families.key(subject, family), "cur")

    def write(self, subject: str, family: str, new: str) -> None:
        """Round trip 2: another client may have read the same jti in between."""
        self.families.redis.hset(self.families.key(subject, family), "cur", new)

    def rotate(self, subject: str, family: str, presented: str, new: str) -> bool:
        """True if this caller "won"; several concurrent callers can all win."""
        if self.read(subject, family) != presented:
            return False
        self.write(subject, family, new)
        return True


@dataclass(frozen=True)
class TokenPair:
    """An access token and its refresh token, as a token endpoint returns them (RFC 6749 §5.1)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str = ""
    token_type: str = "Bearer"

    def as_json(self) -> dict[str, Any]:
        """The JSON body of a token response."""
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": self.token_type,
                                "expires_in": self.expires_in, "refresh_token": self.refresh_token}
        return {**body, "scope": self.scope} if self.scope else body


def _subject(claims: dict[str, Any]) -> str:
    """The token's subject if it can name Redis keys (see ``user_tag``); ``malformed`` otherwise."""
    try:
        user_tag(claims["sub"])
    except ValueError as err:
        raise TokenError("malformed", str(err)) from err
    return claims["sub"]


class TokenService:
    """Login, refresh, logout and logout-everywhere, built from an issuer, families and a guard."""

    def __init__(self, issuer: TokenIssuer, verifier: TokenVerifier, families: RefreshFamilies,
                 guard: AccessGuard) -> None:
        self.issuer, self.verifier, self.families, self.guard = issuer, verifier, families, guard

    def login(self, subject: str, *, scope: str = "") -> TokenPair:
        """A new family and its first pair (1 Redis round trip); call after checking the password."""
        family = secrets.token_urlsafe(FAMILY_ID_BYTES)
        refresh_token, jti = self._new_refresh(subject, family)
        version = self.families.start(subject, family, jti, scope=scope)
        return self._pair(subject, family, version, scope, refresh_token)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Verify the refresh JWT, rotate its family (1 Redis round trip), return the next pair.

        Presented again within the family's grace, the same token gets the same successor.
        """
        claims = self.verifier.verify_refresh(refresh_token)
        subject, family = _subject(claims), claims.get("fam")
        if not isinstance(family, str):
            raise TokenError("missing_claim", "a refresh token names its family in 'fam'")
        new_token, new_jti = self._new_refresh(subject, family)
        sealed = seal(new_token, refresh_token, claims["jti"]) if self.families.grace else ""
        rotated = self.families.rotate(subject, family, claims["jti"], new_jti, sealed=sealed)
        if rotated.sealed_successor is not None:
            new_token = unseal(rotated.sealed_successor, refresh_token, claims["jti"])
        return self._pair(subject, family, rotated.version, rotated.scope, new_token)

    def logout(self, access_claims: dict[str, Any]) -> None:
        """End this login: its family stops refreshing; the access token is denylisted if the guard can."""
        family = access_claims.get("fam")
        if isinstance(family, str):
            self.families.revoke(_subject(access_claims), family)
        self.guard.revoke(access_claims)

    def logout_all(self, subject: str) -> int:
        """End every login of ``subject``: one INCR kills all families and versioned access tokens."""
        return self.guard.revoke_all(subject)

    def _new_refresh(self, subject: str, family: str) -> tuple[str, str]:
        token = self.issuer.issue_refresh(subject, claims={"fam": family})
        return token, self.verifier.verify_refresh(token)["jti"]  # our own token: read its jti safely

    def _pair(self, subject: str, family: str, version: int, scope: str, refresh_token: str) -> TokenPair:
        access = self.issuer.issue_access(subject, scope=scope, claims={"ver": version, "fam": family})
        return TokenPair(access, refresh_token, int(self.issuer.access_ttl.total_seconds()), scope)
