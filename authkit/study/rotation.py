"""Key rotation through virtual time: the real issuer, verifier and key sets, and which tokens verified when.

``simulate_rotation`` rotates the access key on day 1 and the refresh key on day 2 while three users
hold tokens: alice comes back every day (refreshing once her access token has expired), bob comes
back once, on day 13, with the refresh token of his first login, and carol never comes back. With
their own refresh key set, each key retires as soon as the tokens it signed have expired, and nobody
is logged out. With one shared key set, ``KeySet.retire`` refuses to retire the access key until the
refresh tokens it signed have expired; forcing it (``force_retire=True``) logs everyone out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import time_machine

from authkit.errors import KeyRetirementError, TokenError
from authkit.tokens.jwk import b64url_decode
from authkit.tokens.jws import read_header
from authkit.tokens.keys import KeySet, SigningKey
from authkit.tokens.issuer import ACCESS_TTL, REFRESH_TTL, TokenIssuer, TokenVerifier

START = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)  # virtual time zero
ISSUER, AUDIENCE = "https://auth.example", "https://api.example"
USERS = ("alice", "bob", "carol")
CACHE = timedelta(hours=1)  # a new access key is published this long before it signs (verifiers' JWKS caches)
CHECK_EVERY = timedelta(hours=6)


@dataclass(frozen=True)
class Check:
    """At ``at`` after the start, ``user``'s ``kind`` token signed by ``kid``: "accepted" or why it was refused.

    ``live`` says whether the token was still within its lifetime (before its ``exp``) at that moment.
    """

    at: timedelta
    user: str
    kind: str
    kid: str
    outcome: str
    live: bool


@dataclass(frozen=True)
class KeyEvent:
    """At ``at``, the ``role`` key set "added", "promoted", "retired" ``kid`` (or "retire refused", with why)."""

    at: timedelta
    role: str
    kid: str
    action: str
    detail: str = ""


@dataclass
class RotationTimeline:
    """What ``simulate_rotation`` recorded, in time order."""

    checks: list[Check] = field(default_factory=list)
    key_events: list[KeyEvent] = field(default_factory=list)

    def logged_out(self) -> list[Check]:
        """Checks that refused a token still within its lifetime: its holder was turned away."""
        return [check for check in self.checks if check.live and check.outcome != "accepted"]


class _Rotation:
    """One run: the key sets, issuer and verifier, the tokens each user holds, and the record."""

    def __init__(self, *, own_refresh_keys: bool, force_retire: bool, access_ttl: timedelta,
                 refresh_ttl: timedelta) -> None:
        self.access = KeySet(SigningKey.generate("EdDSA", kid="access-1"))
        self.refresh = KeySet(SigningKey.generate("HS256", kid="refresh-1")) if own_refresh_keys else self.access
        self.issuer = TokenIssuer(self.access, refresh_keys=self.refresh, issuer=ISSUER, audience=AUDIENCE,
                                  access_ttl=access_ttl, refresh_ttl=refresh_ttl)
        self.verifier = TokenVerifier(self.access, refresh_keys=self.refresh, issuer=ISSUER, audience=AUDIENCE)
        self.force_retire, self.access_ttl = force_retire, access_ttl
        self.held: dict[str, dict[str, str]] = {}
        self.pending: list[tuple[KeySet, str, str]] = []  # retirements refused, tried again at every check
        self.timeline = RotationTimeline()
        self.now = timedelta(0)

    def login(self, user: str) -> None:
        self.held[user] = {"access": self.issuer.issue_access(user), "refresh": self.issuer.issue_refresh(user)}

    def come_back(self, user: str) -> None:
        """Keep a valid access token; else refresh. A refused refresh leaves the user logged out."""
        try:
            self.verifier.verify_access(self.held[user]["access"])
        except TokenError:
            try:
                self.verifier.verify_refresh(self.held[user]["refresh"])
            except TokenError:
                return
            self.login(user)

    def add(self, keys: KeySet, role: str, key: SigningKey, *, make_current: bool) -> None:
        keys.add(key, make_current=make_current)
        kid = key.kid
        self.timeline.key_events.append(KeyEvent(self.now, role, kid, "promoted" if make_current else "added"))

    def promote(self, keys: KeySet, role: str, kid: str) -> None:
        keys.promote(kid)
        self.timeline.key_events.append(KeyEvent(self.now, role, kid, "promoted"))

    def retire(self, keys: KeySet, role: str, kid: str) -> bool:
        try:
            keys.retire(kid, force=self.force_retire)
        except KeyRetirementError as err:
            self.timeline.key_events.append(KeyEvent(self.now, role, kid, "retire refused", str(err)))
            return False
        self.timeline.key_events.append(KeyEvent(self.now, role, kid, "retired"))
        return True

    def retire_when_due(self, keys: KeySet, role: str, kid: str) -> None:
        """Retire now, or, if tokens the key signed are still valid, at the first check after they expire."""
        if not self.retire(keys, role, kid):
            self.pending.append((keys, role, kid))

    def check(self) -> None:
        """Retry refused retirements, then ask the verifier about every token every user holds."""
        self.pending = [entry for entry in self.pending if not self._due(*entry) or not self.retire(*entry)]
        for user, tokens in self.held.items():
            for kind, token in tokens.items():
                try:
                    (self.verifier.verify_access if kind == "access" else self.verifier.verify_refresh)(token)
                    outcome = "accepted"
                except TokenError as err:
                    outcome = err.reason
                live = (START + self.now).timestamp() < _unverified_claims(token)["exp"]
                self.timeline.checks.append(Check(self.now, user, kind, read_header(token)["kid"], outcome, live))

    def _due(self, keys: KeySet, role: str, kid: str) -> bool:
        until = keys.live_until(kid)
        return until is None or (START + self.now).timestamp() >= until

    def agenda(self, days: int) -> list[tuple[timedelta, int, Callable[[], object]]]:
        """Every action with its time (and an order for actions at the same time): users, keys, checks."""
        day = timedelta(days=1)
        retire_access = day + CACHE + self.access_ttl  # the last token access-1 signed has just expired
        actions: list[tuple[timedelta, int, Callable[[], object]]] = [
            (day, 1, lambda: self.add(self.access, "access", SigningKey.generate("EdDSA", kid="access-2"),
                                      make_current=False)),
            (day + CACHE, 1, lambda: self.promote(self.access, "access", "access-2")),
            (retire_access, 1, lambda: self.retire_when_due(self.access, "access", "access-1")),
            (13 * day, 0, lambda: self.come_back("bob")),
        ]
        if self.refresh is not self.access:  # refresh keys are never published: the new one signs at once
            actions += [
                (2 * day, 1, lambda: self.add(self.refresh, "refresh", SigningKey.generate("HS256", kid="refresh-2"),
                                              make_current=True)),
                (2 * day, 1, lambda: self.retire_when_due(self.refresh, "refresh", "refresh-1")),
            ]
        actions += [(n * day, 0, lambda: self.come_back("alice")) for n in range(1, days + 1)]
        checks = int(days * day / CHECK_EVERY)
        actions += [(n * CHECK_EVERY, 2, self.check) for n in range(checks + 1)]
        return sorted(actions, key=lambda action: (action[0], action[1]))


def _unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token this simulation issued itself (so reading them unverified is safe)."""
    return json.loads(b64url_decode(token.split(".")[1]))


def simulate_rotation(
    *,
    own_refresh_keys: bool = True,
    force_retire: bool = False,
    access_ttl: timedelta = ACCESS_TTL,
    refresh_ttl: timedelta = REFRESH_TTL,
    days: int = 17,
) -> RotationTimeline:
    """Rotate both keys over ``days`` of virtual time, checking every user's tokens every 6 hours."""
    run = _Rotation(own_refresh_keys=own_refresh_keys, force_retire=force_retire, access_ttl=access_ttl,
                    refresh_ttl=refresh_ttl)
    with time_machine.travel(START, tick=False) as traveller:
        for user in USERS:
            run.login(user)
        for at, _, action in run.agenda(days):
            run.now = at
            traveller.move_to(START + at)
            action()
    return run.timeline
