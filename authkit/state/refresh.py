"""Refresh tokens that rotate on every use, in families that all die when an old one comes back.

Rotation is idempotent for a short ``grace``: whoever presents the token just rotated — a second tab, a
retry after a timeout — receives the same successor, a few times at most, so the login survives. Redis
keeps that successor for the grace only, sealed (AES-GCM) under a key derived from the presented token,
which Redis never sees: a copy of Redis alone yields no usable token. After the grace, presenting an old
token revokes the whole family (RFC 9700 §4.14.2), and with it every access token the family issued
(the guard reads the family's revoked marker).

How long a family lives depends on its client (``PUBLIC``, the default, or ``CONFIDENTIAL``): a browser
app's family ends when its first refresh token would have (RFC 10017 §6.3.2.3: a rotated token never
outlives the initial one); a confidential client's slides with use, up to the absolute cap.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

import redis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authkit.errors import TokenError
from authkit.tokens.keys import b64url, b64url_decode
from authkit.state.redis import fail_closed
from authkit.state import durability
from authkit.state.family_scripts import LIST_SCRIPT, REVOKE_SCRIPT, ROTATE_SCRIPT, START_SCRIPT
from authkit.state.revocation import KEY_PREFIX, AccessGuard, family_revoked_key, user_tag, version_key
from authkit.tokens.issuer import ACCESS_TTL, TokenIssuer, TokenVerifier

__all__ = ["START_SCRIPT", "ROTATE_SCRIPT", "REVOKE_SCRIPT", "LIST_SCRIPT"]  # re-exported for the course

FAMILY_IDLE = timedelta(days=14)  # unused this long, the login is over (keep equal to the refresh TTL)
FAMILY_ABSOLUTE = timedelta(days=30)  # however active, log in again after this (a confidential client's cap)
PUBLIC, CONFIDENTIAL = "public", "confidential"  # the kinds of client, as RFC 6749 §2.1 names them
CLIENT_KINDS = (PUBLIC, CONFIDENTIAL)
#: How many times the token just rotated may be presented again within the grace: a second tab, a retry.
GRACE_REPEATS = 3
DEVICE_CHARS = 200  # what a login keeps of its client's User-Agent
FAMILY_ID_BYTES = 16  # 128 bits, from secrets
#: A grace for services: a 2 s socket timeout, a Retry-After of a few seconds and the retry fit in it.
GRACE = timedelta(seconds=10)
_SEAL_INFO = b"authkit refresh-token successor"
_NONCE_BYTES = 12  # AES-GCM's standard nonce, random per seal

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


@dataclass(frozen=True)
class Login:
    """One live login (family) of a user, as ``GET /logins`` shows it; times in epoch seconds."""

    id: str
    created: int
    last_used: int
    device: str
    ends: int

    def as_json(self) -> dict[str, Any]:
        """The login as a JSON object."""
        return {"id": self.id, "created": self.created, "last_used": self.last_used, "device": self.device,
                "ends": self.ends}


class RefreshFamilies:
    """One Redis hash per login ("family"): the one jti that may refresh next, lifetimes, state.

    ``client`` is ``PUBLIC`` (a browser app: the family ends when its first refresh token would, after
    ``idle``) or ``CONFIDENTIAL`` (each use slides the idle lifetime, up to ``absolute``). ``max_logins``
    bounds a user's live families: a new login ends the oldest beyond it (None: no bound).
    ``access_ttl`` is how long the revoked marker of a family must outlive it, so that its access tokens
    are refused until they expire.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        idle: timedelta = FAMILY_IDLE,
        absolute: timedelta = FAMILY_ABSOLUTE,
        grace: timedelta = timedelta(0),
        prefix: str = KEY_PREFIX,
        kind: str = PUBLIC,
        max_logins: int | None = None,
        access_ttl: timedelta = ACCESS_TTL,
        grace_repeats: int = GRACE_REPEATS,
    ) -> None:
        if grace < timedelta(0) or grace >= idle:
            raise ValueError(f"the grace must be at least 0 and shorter than the idle lifetime, not {grace!r}")
        if kind not in CLIENT_KINDS:
            raise ValueError(f"the kind of client is one of {CLIENT_KINDS}, not {kind!r}")
        if absolute < idle and kind == CONFIDENTIAL:
            raise ValueError("the absolute lifetime must be at least the idle one")
        if max_logins is not None and max_logins < 1:
            raise ValueError(f"max_logins is at least 1 (or None for no limit), not {max_logins!r}")
        self.redis, self.prefix, self.kind = client, prefix, kind
        durability.cover(client, prefix)
        self.idle, self.absolute, self.grace = idle, absolute, grace
        self.max_logins, self.access_ttl, self.grace_repeats = max_logins, access_ttl, grace_repeats
        self._start = client.register_script(START_SCRIPT)
        self._rotate = client.register_script(ROTATE_SCRIPT)
        self._revoke = client.register_script(REVOKE_SCRIPT)
        self._list = client.register_script(LIST_SCRIPT)

    @property
    def lifetime(self) -> timedelta:
        """The longest a family can live: ``idle`` for a public client (no sliding), ``absolute`` otherwise."""
        return min(self.idle, self.absolute) if self.kind == PUBLIC else self.absolute

    def key(self, subject: str, family: str) -> str:
        """The family's hash; it shares the user's hash tag with the version key (one cluster slot)."""
        return f"{self.prefix}:rt:{user_tag(subject)}:{family}"

    def successor_key(self, subject: str, family: str) -> str:
        """Where the last rotation's sealed successor waits out the grace (same hash tag)."""
        return f"{self.key(subject, family)}:next"

    def index_key(self, subject: str) -> str:
        """The user's families, a sorted set scored by start time (same hash tag)."""
        return f"{self.prefix}:rtidx:{user_tag(subject)}"

    def load_scripts(self) -> None:
        """SCRIPT LOAD up front, so that each later call is a single EVALSHA."""
        with fail_closed("token store"):
            for script in (self._start, self._rotate, self._revoke, self._list):
                self.redis.script_load(script.script)

    def start(self, subject: str, family: str, jti: str, *, scope: str = "", device: str = "") -> int:
        """Open a family whose first token is ``jti``; returns the user's token version (1 round trip).

        Beyond ``max_logins`` live families, the oldest are revoked in the same script.
        """
        now = _now_ms()
        keys = [self.key(subject, family), version_key(subject, prefix=self.prefix), self.index_key(subject)]
        args = [jti, now, _ms(self.idle), now + _ms(self.lifetime), scope, family, self.key(subject, ""),
                device[:DEVICE_CHARS], self.max_logins or 0, self._hold_ms(),
                family_revoked_key(subject, "", prefix=self.prefix)]
        with fail_closed("token store"):
            return int(self._start(keys=keys, args=args))

    def rotate(self, subject: str, family: str, presented: str, new: str, *, sealed: str = "") -> Rotated:
        """Make ``new`` the family's next token if ``presented`` is its current one (1 round trip).

        ``sealed`` (see ``seal``) is kept for the grace, for callers that present the same token again.
        Those get ``Rotated.sealed_successor`` instead of a rotation, ``grace_repeats`` times at most.
        Anything else is refused with a ``TokenError``: ``reused`` (the family is revoked now),
        ``revoked`` or ``expired``.
        """
        keys = [self.key(subject, family), version_key(subject, prefix=self.prefix),
                self.successor_key(subject, family), family_revoked_key(subject, family, prefix=self.prefix)]
        args = [presented, new, sealed, _now_ms(), _ms(self.idle), _ms(self.grace), self.grace_repeats,
                self._hold_ms()]
        with fail_closed("token store"), durability.revoking(self.redis):  # a rotation revokes the presented token
            outcome = self._rotate(keys=keys, args=args)
        if outcome[0] not in ("ok", "again"):
            raise TokenError(outcome[0], _REFUSALS[outcome[0]])
        return Rotated(int(outcome[1]), outcome[2], outcome[3] if outcome[0] == "again" else None)

    def revoke(self, subject: str, family: str) -> bool:
        """Logout: the family's tokens stop refreshing and its access tokens are refused; False if it was
        not live (gone, or already revoked)."""
        keys = [self.key(subject, family), self.successor_key(subject, family),
                family_revoked_key(subject, family, prefix=self.prefix)]
        with fail_closed("token store"), durability.revoking(self.redis):
            return int(self._revoke(keys=keys, args=[self._hold_ms()])) == 1

    def logins(self, subject: str) -> list[Login]:
        """The user's live families, oldest first (1 round trip; forgets the ended ones)."""
        keys = [version_key(subject, prefix=self.prefix), self.index_key(subject)]
        with fail_closed("token store"):
            rows = self._list(keys=keys, args=[_now_ms(), _ms(self.idle), self.key(subject, "")])
        return [Login(_text(f), int(c) // 1000, int(u) // 1000, _text(d), int(e) // 1000) for f, c, u, d, e in rows]

    def state(self, subject: str, family: str) -> dict[str, str]:
        """The family's hash as stored (empty once expired): for inspection, not for decisions."""
        with fail_closed("token store"):
            return self.redis.hgetall(self.key(subject, family))

    def _hold_ms(self) -> int:
        # The marker outlives the family's last access token: its lifetime, and a minute for clocks and leeway.
        return _ms(self.access_ttl) + 60_000


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


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
    """Login, refresh, logout and logout-everywhere, built from an issuer, families and a guard.

    ``scopes`` (subject -> the user's scope now, None for no such user) is looked up at every refresh,
    so a demotion takes effect within one access-token lifetime; without it a family keeps the scope
    it was opened with.
    """

    def __init__(self, issuer: TokenIssuer, verifier: TokenVerifier, families: RefreshFamilies,
                 guard: AccessGuard, *, scopes: Callable[[str], str | None] | None = None) -> None:
        self.issuer, self.verifier, self.families, self.guard = issuer, verifier, families, guard
        self.scopes = scopes

    def login(self, subject: str, *, scope: str | None = None, device: str = "") -> TokenPair:
        """A new family and its first pair (1 Redis round trip); call after checking the password.

        ``scope`` defaults to the ``scopes`` lookup's (or none); ``device`` (a User-Agent) names the login
        in ``logins``.
        """
        if scope is None:
            scope = (self.scopes(subject) if self.scopes else None) or ""
        family = secrets.token_urlsafe(FAMILY_ID_BYTES)
        refresh_token, jti = self._new_refresh(subject, family)
        version = self.families.start(subject, family, jti, scope=scope, device=device)
        return self._pair(subject, family, version, scope, refresh_token)

    def refresh(self, refresh_token: str) -> TokenPair:
        """Verify the refresh JWT, rotate its family (1 Redis round trip), return the next pair.

        Presented again within the family's grace, the same token gets the same successor. The scope
        comes from the ``scopes`` lookup when there is one: a user it no longer knows is refused, and
        the family revoked.
        """
        claims = self.verifier.verify_refresh(refresh_token)
        subject, family = _subject(claims), claims.get("fam")
        if not isinstance(family, str):
            raise TokenError("missing_claim", "a refresh token names its family in 'fam'")
        current = self.scopes(subject) if self.scopes else None
        if self.scopes and current is None:
            self.families.revoke(subject, family)
            raise TokenError("revoked", "this account no longer exists: its logins are over")
        new_token, new_jti = self._new_refresh(subject, family)
        sealed = seal(new_token, refresh_token, claims["jti"]) if self.families.grace else ""
        rotated = self.families.rotate(subject, family, claims["jti"], new_jti, sealed=sealed)
        if rotated.sealed_successor is not None:
            new_token = unseal(rotated.sealed_successor, refresh_token, claims["jti"])
        scope = rotated.scope if current is None else current
        return self._pair(subject, family, rotated.version, scope, new_token)

    def logout(self, access_claims: dict[str, Any]) -> None:
        """End this login: its family stops refreshing, and its access tokens are refused if the guard
        reads the denylist (this one is denylisted too)."""
        family = access_claims.get("fam")
        if isinstance(family, str):
            self.families.revoke(_subject(access_claims), family)
        self.guard.revoke(access_claims)

    def end_login(self, subject: str, family: str) -> bool:
        """End one of ``subject``'s logins by its id (``Login.id``); False if it was not live."""
        return self.families.revoke(subject, family)

    def logins(self, subject: str) -> list[Login]:
        """``subject``'s live logins, oldest first."""
        return self.families.logins(subject)

    def logout_all(self, subject: str) -> int:
        """End every login of ``subject``: one INCR kills all families and versioned access tokens."""
        return self.guard.revoke_all(subject)

    def _new_refresh(self, subject: str, family: str) -> tuple[str, str]:
        token = self.issuer.issue_refresh(subject, claims={"fam": family})
        return token, self.verifier.verify_refresh(token)["jti"]  # our own token: read its jti safely

    def _pair(self, subject: str, family: str, version: int, scope: str, refresh_token: str) -> TokenPair:
        access = self.issuer.issue_access(subject, scope=scope, claims={"ver": version, "fam": family})
        return TokenPair(access, refresh_token, int(self.issuer.access_ttl.total_seconds()), scope)
