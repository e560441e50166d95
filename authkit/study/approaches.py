"""The ways of keeping a user logged in, each wired to authkit's real code with one small interface.

Each approach can log a user in, serve the user's own request (the real path: verify, refresh,
slide), log out, log out everywhere, change the user's permissions, and *probe* a credential:
answer "would this be accepted now?" without changing any state. ``authkit.study.timeline`` drives them
through time; ``check`` is also what a cost-per-request benchmark times.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import redis

from authkit.errors import AuthkitError, TokenError
from authkit.tokens.keys import KeySet, SigningKey
from authkit.state.redis import connect
from authkit.state.refresh import RefreshFamilies, TokenService
from authkit.state.revocation import STRATEGIES, AccessGuard, RevocationStore
from authkit.state.sessions import DEFAULT_ABSOLUTE, DEFAULT_IDLE, DEFAULT_ROTATION_GRACE, SessionStore
from authkit.tokens.issuer import ACCESS_TTL, REFRESH_TTL, TokenIssuer, TokenVerifier

ISSUER, AUDIENCE = "https://auth.example", "https://api.example"
Held = dict[str, str]  # what the user's client holds: credential kind -> value
Info = dict[str, Any]  # what one request did: "wrote", "idle_deadline", "absolute_deadline"


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:g} min"


class Approach:
    """One way of keeping a user logged in, as the simulator drives it."""

    name = "approach"

    def login(self, user: str) -> Held:
        """A fresh login: the credentials the user's client now holds."""
        raise NotImplementedError

    def request(self, held: Held) -> tuple[Held, Info]:
        """The user's own request through the real path; ``AuthkitError`` if refused."""
        raise NotImplementedError

    def check(self, kind: str, value: str) -> Any:
        """What a server runs on every request presenting this credential (may write, e.g. a slide)."""
        raise NotImplementedError

    def logout(self, held: Held) -> None:
        """The user logs out with the credentials ``held``: revoke what this approach can."""
        raise NotImplementedError

    def logout_everywhere(self, user: str) -> None:
        """End every login of ``user`` (also what a password change does first)."""
        raise NotImplementedError

    def change_permissions(self, user: str) -> None:
        """An admin changes ``user``'s roles: what this approach does about issued credentials."""
        raise NotImplementedError

    def peek(self, kind: str, value: str) -> None:
        """Raise ``AuthkitError`` if the credential would be refused now; change nothing."""
        raise NotImplementedError

    def state(self, held: Held) -> Info:
        """What the server holds about this login (deadlines), read without changing it."""
        return {}

    def probe(self, kind: str, value: str) -> bool:
        """True if ``value`` would be accepted now (read-only)."""
        try:
            self.peek(kind, value)
        except AuthkitError:
            return False
        return True


class _Tokens(Approach):
    """Access tokens from a real ``TokenIssuer``, checked by a real ``AccessGuard``."""

    def __init__(self, strategy: str, *, access_ttl: timedelta, alg: str, client: redis.Redis | None,
                 refresh_ttl: timedelta = REFRESH_TTL) -> None:
        keys = KeySet(SigningKey.generate(alg))
        self.issuer = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE, access_ttl=access_ttl, refresh_ttl=refresh_ttl)
        self.verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
        self.strategy = STRATEGIES[strategy]
        self.store = RevocationStore(client if client is not None else connect(fresh=True))
        self.guard = AccessGuard(self.verifier, self.strategy, self.store)

    def login(self, user: str) -> Held:
        claims = {"ver": self.store.version(user)} if self.strategy.version else None
        return {"access": self.issuer.issue_access(user, claims=claims)}

    def check(self, kind: str, value: str) -> Any:
        return self.guard.check(value)

    def request(self, held: Held) -> tuple[Held, Info]:
        self.check("access", held["access"])
        return held, {}

    def peek(self, kind: str, value: str) -> None:
        self.guard.check(value)  # reads the denylist and the version, writes nothing

    def logout(self, held: Held) -> None:
        """Revoke what this strategy can; stateless: nothing, the client just forgets its copy."""
        try:
            claims = self.verifier.verify_access(held["access"])
        except TokenError:
            return  # already expired: nothing left to revoke
        if self.strategy.denylist:
            self.guard.revoke(claims)
        elif self.strategy.version:
            self.guard.revoke_all(claims["sub"])  # a version cannot end one login alone: it ends them all

    def logout_everywhere(self, user: str) -> None:
        self.guard.revoke_all(user)  # a guard that never reads the version does not notice

    def change_permissions(self, user: str) -> None:
        self.guard.revoke_all(user)  # tokens carry the old scope: only a version bump refuses them


class StatelessJWT(_Tokens):
    """Access tokens only, verified by signature and ``exp``: logout cannot stop a copy."""

    def __init__(self, access_ttl: timedelta = ACCESS_TTL, *, alg: str = "HS256") -> None:
        super().__init__("stateless", access_ttl=access_ttl, alg=alg, client=None)
        self.name = f"stateless JWT ({_minutes(access_ttl)})"


class GuardedJWT(_Tokens):
    """Access tokens checked against Redis too: a ``jti`` denylist, the user's token version, or both."""

    def __init__(self, strategy: str = "denylist", access_ttl: timedelta = ACCESS_TTL, *, alg: str = "HS256",
                 client: redis.Redis | None = None) -> None:
        if strategy == "stateless":
            raise ValueError("use StatelessJWT for the stateless strategy")
        super().__init__(strategy, access_ttl=access_ttl, alg=alg, client=client)
        what = {"denylist": "jti denylist", "version": "token version"}.get(strategy, strategy)
        self.name = f"JWT + {what} ({_minutes(access_ttl)})"


class RefreshRotation(_Tokens):
    """Short access tokens renewed by rotating refresh tokens (``TokenService``); logout ends the family."""

    def __init__(self, access_ttl: timedelta = timedelta(minutes=5), *, refresh_ttl: timedelta = REFRESH_TTL,
                 alg: str = "HS256", client: redis.Redis | None = None) -> None:
        super().__init__("stateless", access_ttl=access_ttl, alg=alg, client=client, refresh_ttl=refresh_ttl)
        self.families = RefreshFamilies(self.store.redis, idle=refresh_ttl, absolute=max(refresh_ttl, timedelta(days=30)))
        self.service = TokenService(self.issuer, self.verifier, self.families, self.guard)
        self.name = f"access {_minutes(access_ttl)} + refresh rotation"

    def login(self, user: str) -> Held:
        pair = self.service.login(user)
        return {"access": pair.access_token, "refresh": pair.refresh_token}

    def request(self, held: Held) -> tuple[Held, Info]:
        """Use the access token; once it has expired, rotate the refresh token (a Redis write) first."""
        try:
            self.guard.check(held["access"])
            return held, {}
        except TokenError as err:
            if err.reason != "expired":
                raise
        pair = self.service.refresh(held["refresh"])
        self.guard.check(pair.access_token)
        return {"access": pair.access_token, "refresh": pair.refresh_token}, {"wrote": True}

    def peek(self, kind: str, value: str) -> None:
        """An access token: the guard. A refresh token: would the family rotate it? Read, never rotate."""
        if kind == "access":
            self.guard.check(value)
            return
        claims = self.verifier.verify_refresh(value)
        family = self.families.state(claims["sub"], claims["fam"])
        now_ms = int(time.time() * 1000)
        idle_ms = int(self.families.idle.total_seconds() * 1000)
        # The same conditions as the rotation script's, in the same order (authkit/state/refresh.py, _ROTATE).
        if not family:
            raise TokenError("expired", "the family has expired")
        if family["state"] != "active" or family["ver"] != str(self.store.version(claims["sub"])):
            raise TokenError("revoked", "the family was revoked")
        if now_ms >= int(family["abs"]) or now_ms >= int(family["seen"]) + idle_ms:
            raise TokenError("expired", "the family has expired")
        if family["cur"] != claims["jti"]:
            raise TokenError("reused", "an older token of the family: presenting it would revoke the family")

    def logout(self, held: Held) -> None:
        self.service.logout(self.verifier.verify_refresh(held["refresh"]))  # names the family, even once access expired

    def logout_everywhere(self, user: str) -> None:
        self.service.logout_all(user)


class ServerSession(Approach):
    """A random session ID in a cookie, the state in Redis (``SessionStore``): validate-and-slide per request."""

    def __init__(self, idle: timedelta = DEFAULT_IDLE, absolute: timedelta = DEFAULT_ABSOLUTE, *,
                 slide: str = "always", rotation_grace: timedelta = DEFAULT_ROTATION_GRACE,
                 client: redis.Redis | None = None) -> None:
        self.store = SessionStore(client if client is not None else connect(fresh=True), idle=idle,
                                  absolute=absolute, slide=slide, rotation_grace=rotation_grace)
        self.name = f"server-side session (idle {_minutes(idle)})"

    def login(self, user: str) -> Held:
        return {"session": self.store.create(user, roles=("member",)).id}

    def check(self, kind: str, value: str) -> Any:
        return self.store.validate(value)

    def request(self, held: Held) -> tuple[Held, Info]:
        session = self.store.validate(held["session"])
        info = {"wrote": session.wrote or session.rotated, "idle_deadline": session.idle_deadline,
                "absolute_deadline": session.absolute_deadline}
        return {"session": session.id}, info  # a new ID if privileges changed (rotation)

    def peek(self, kind: str, value: str) -> None:
        self.store.peek(value)  # never slides: probing must not keep the session alive

    def state(self, held: Held) -> Info:
        session = self.store.peek(held["session"])
        return {"idle_deadline": session.idle_deadline, "absolute_deadline": session.absolute_deadline}

    def logout(self, held: Held) -> None:
        self.store.destroy(held["session"])

    def logout_everywhere(self, user: str) -> None:
        self.store.destroy_all(user)

    def change_permissions(self, user: str) -> None:
        self.store.set_roles(user, ("member", "admin"))  # each session's next request rotates its ID
