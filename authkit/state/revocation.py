"""Revoking access tokens before they expire: a jti denylist, a per-user token version, or both.

A strategy that reads the denylist also reads, in the same ``MGET``, the revoked marker of the refresh
family a token names in ``fam``: logging out, or a reuse that revokes the family, refuses every access
token the family issued, those handed out again within the refresh grace included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import redis

from authkit.state import durability
from authkit.errors import TokenError
from authkit.state.redis import fail_closed

KEY_PREFIX = "authkit"


def user_tag(subject: str) -> str:
    """The Redis Cluster hash tag ``{subject}``: every key of one user lands in one slot."""
    if not isinstance(subject, str) or not subject or "{" in subject or "}" in subject:
        raise ValueError(f"a subject is a non-empty string without braces, not {subject!r}")
    return "{" + subject + "}"


def version_key(subject: str, *, prefix: str = KEY_PREFIX) -> str:
    """Where the user's token version lives; logout-everywhere increments it."""
    return f"{prefix}:ver:{user_tag(subject)}"


def family_revoked_key(subject: str, family: str, *, prefix: str = KEY_PREFIX) -> str:
    """The marker of a revoked refresh family: while it lives, the family's access tokens are refused."""
    return f"{prefix}:rtgone:{user_tag(subject)}:{family}"


def deny_key(claims: dict[str, Any], *, prefix: str = KEY_PREFIX) -> str:
    """The denylist entry of one token: issuer and ``jti`` name it, the user's tag places it."""
    return f"{prefix}:deny:{user_tag(claims['sub'])}:{claims['iss']}:{claims['jti']}"


class _Verifier(Protocol):
    leeway: timedelta  # how long after exp it still accepts a token: the denylist must outlive that

    def verify_access(self, token: str | bytes) -> dict[str, Any]: ...


class RevocationStore:
    """The Redis side of revocation: denylist entries that expire with their token, and versions."""

    def __init__(self, client: redis.Redis, *, prefix: str = KEY_PREFIX) -> None:
        self.redis, self.prefix = client, prefix
        durability.cover(client, prefix)

    def deny(self, claims: dict[str, Any], *, leeway: timedelta = timedelta(0)) -> bool:
        """Denylist this token until ``exp`` + ``leeway`` (as long as a verifier still accepts it); False after."""
        expires_ms = int(claims["exp"]) * 1000 + int(leeway.total_seconds() * 1000)
        if expires_ms <= int(time.time() * 1000):
            return False
        with fail_closed("token store"):
            with durability.revoking(self.redis):
                self.redis.set(deny_key(claims, prefix=self.prefix), "1", pxat=expires_ms)
        return True

    def bump_version(self, subject: str) -> int:
        """Logout-everywhere: every token carrying an older version is refused from now on."""
        with fail_closed("token store"), durability.revoking(self.redis):
            return int(self.redis.incr(version_key(subject, prefix=self.prefix)))

    def version(self, subject: str) -> int:
        """The user's current token version (0 until the first logout-everywhere)."""
        with fail_closed("token store"):
            return int(self.redis.get(version_key(subject, prefix=self.prefix)) or 0)

    def read(self, keys: list[str]) -> list[str | None]:
        """One MGET: a single round trip, also on Redis Cluster because the keys share a tag."""
        with fail_closed("token store"):
            return self.redis.mget(keys)


@dataclass(frozen=True)
class Strategy:
    """What a verifier asks Redis about each access token: the denylist, the version, both or nothing."""

    name: str
    denylist: bool
    version: bool

    @property
    def round_trips(self) -> int:
        """Redis round trips per verified request: 0 when stateless, else exactly 1."""
        return int(self.denylist or self.version)


STATELESS = Strategy("stateless", denylist=False, version=False)
DENYLIST = Strategy("denylist", denylist=True, version=False)
VERSION = Strategy("version", denylist=False, version=True)
DENYLIST_AND_VERSION = Strategy("denylist+version", denylist=True, version=True)
STRATEGIES = {s.name: s for s in (STATELESS, DENYLIST, VERSION, DENYLIST_AND_VERSION)}


class AccessGuard:
    """Verifies an access token, then asks Redis whether it was revoked, as the strategy says."""

    def __init__(
        self, verifier: _Verifier, strategy: Strategy | str = STATELESS, store: RevocationStore | None = None
    ) -> None:
        if isinstance(strategy, str):
            if strategy not in STRATEGIES:
                raise ValueError(f"unknown strategy {strategy!r}; choose one of {sorted(STRATEGIES)}")
            strategy = STRATEGIES[strategy]
        if strategy.round_trips and store is None:
            raise ValueError(f"strategy {strategy.name!r} needs a RevocationStore")
        self.verifier, self.strategy, self.store = verifier, strategy, store

    def check(self, token: str | bytes) -> dict[str, Any]:
        """The claims of a valid, unrevoked access token; ``TokenError`` (or ``StoreUnavailable``) if not.

        A guarded strategy also refuses tokens issued before the store last lost writes (no extra round
        trip: ``authkit.state.durability`` learns that time when a connection opens).
        """
        claims = self.verifier.verify_access(token)
        if self.strategy.round_trips:
            self._check_state(claims)
        return claims

    def revoke(self, claims: dict[str, Any]) -> bool:
        """Logout of one token: denylist it if this strategy reads the denylist; False if it cannot."""
        if not self.strategy.denylist:
            return False
        assert self.store is not None
        # The verifier accepts the token until exp + leeway: an entry dropped at exp would revive it.
        return self.store.deny(claims, leeway=self.verifier.leeway)

    def revoke_all(self, subject: str) -> int:
        """Logout-everywhere: bump the user's version (refresh families always read it); the new version."""
        if self.store is None:
            raise ValueError("logout-everywhere needs a RevocationStore")
        return self.store.bump_version(subject)

    def _check_state(self, claims: dict[str, Any]) -> None:
        assert self.store is not None
        prefix = self.store.prefix
        family = claims.get("fam") if self.strategy.denylist else None
        try:
            keys = [deny_key(claims, prefix=prefix)] if self.strategy.denylist else []
            if isinstance(family, str):
                keys.append(family_revoked_key(claims["sub"], family, prefix=prefix))
            if self.strategy.version:
                keys.append(version_key(claims["sub"], prefix=prefix))
        except KeyError as err:
            raise TokenError("missing_claim", f"revocation needs claim {err.args[0]!r}") from err
        except ValueError as err:
            raise TokenError("malformed", str(err)) from err
        values = self.store.read(keys)
        # Read after the round trip: a connection opened by it may just have detected lost writes.
        if claims["iat"] < durability.not_before(self.store.redis):
            raise TokenError("revoked", "issued before the token store lost writes in a restart: log in again")
        if self.strategy.denylist and values[0] is not None:
            raise TokenError("revoked", "this token was revoked (logout)")
        if isinstance(family, str) and values[1] is not None:
            raise TokenError("revoked", "this token's login was ended (logout, or a reused refresh token)")
        if self.strategy.version:
            carried, current = claims.get("ver"), int(values[-1] or 0)
            if type(carried) is not int:
                raise TokenError("missing_claim", "the token carries no integer 'ver' claim")
            if carried != current:
                raise TokenError("revoked", f"token version {carried} is older than the user's {current}")
