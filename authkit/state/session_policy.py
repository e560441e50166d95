"""What a session is, apart from where it is kept: timeouts, sliding, rotation grace and the record's fields.

``SessionPolicy`` turns the clock into deadlines: a request at ``now`` moves the idle deadline to
``now + idle``, never past the absolute one (``created + absolute``), and Redis drops a key one
millisecond after its expire time, so a key expires at ``deadline - 1``. The record a session keeps
is one short string, ``state|created|absolute|until|roles|link|label``: ``state`` is ``L`` (live),
``S`` (the user's privileges changed: the next request rotates the ID) or ``R`` (retired: an ID
replaced by a rotation, honoured until ``until`` with the roles it already had). ``link`` is the
retired predecessor of a live record, or the successor of a retired one. The Redis side (scripts,
keys, round trips) is ``authkit.state.sessions``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from authkit.errors import SessionError
from authkit.state.session_ids import SessionIds, session_handle

DEFAULT_IDLE = timedelta(minutes=30)
DEFAULT_ABSOLUTE = timedelta(hours=8)
#: How long an ID replaced by a privilege-change rotation still serves requests already in flight.
DEFAULT_ROTATION_GRACE = timedelta(seconds=10)
SLIDE_POLICIES = ("always", "half")  # "half": extend only once half the idle window has passed
REFUSALS = {
    "malformed": "the cookie is not a session ID",
    "unknown": "no such session: never issued, logged out, revoked or replaced by a new ID",
    "idle_timeout": "the session expired after too long without a request",
    "absolute_timeout": "the session reached its maximum lifetime; log in again",
}


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """The lifetimes of a session and how a request moves them; every time in ms since the epoch."""

    idle: timedelta = DEFAULT_IDLE
    absolute: timedelta = DEFAULT_ABSOLUTE
    slide: str = "always"
    rotation_grace: timedelta = DEFAULT_ROTATION_GRACE
    idle_ms: int = field(init=False, repr=False)
    absolute_ms: int = field(init=False, repr=False)
    grace_ms: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.slide not in SLIDE_POLICIES:
            raise ValueError(f"slide must be one of {SLIDE_POLICIES}, not {self.slide!r}")
        if not timedelta(0) <= self.rotation_grace <= timedelta(minutes=1):
            raise ValueError(f"rotation_grace must be between 0 and 1 minute, not {self.rotation_grace!r}")
        object.__setattr__(self, "idle_ms", milliseconds(self.idle, "idle"))
        object.__setattr__(self, "absolute_ms", milliseconds(self.absolute, "absolute"))
        object.__setattr__(self, "grace_ms", self.rotation_grace // timedelta(milliseconds=1))

    def expire_at(self, now: int, absolute: int) -> int:
        """The key's expire time after a request at ``now``: the earlier deadline, minus Redis's millisecond."""
        idle_deadline = now + self.idle_ms
        return (idle_deadline if idle_deadline < absolute else absolute) - 1

    def slide_until(self, mode: str, now: int, expire_at: int) -> int:
        """Slide only when the key's current expire time is at most this (0: never, a read)."""
        if mode == "peek":
            return 0
        if mode == "half":  # slide once now - last_seen >= idle / 2 (last_seen = expire at + 1 - idle), if it moves
            return min(now + (self.idle_ms - 2) // 2, expire_at - 1)
        return expire_at  # "always", as GETEX does

    def last_seen(self, expire_at: int, absolute: int) -> tuple[int, int]:
        """``(last_seen, idle deadline)`` read back from a key's expire time.

        In the last idle window before the absolute deadline the key expires at the absolute deadline,
        which hides the idle one: both are then reported at their earliest, ``absolute - idle`` and ``absolute``.
        """
        deadline = expire_at + 1
        return deadline - self.idle_ms, deadline

    def grace_end(self, now: int) -> str:
        """Until when a rotated-away ID still serves requests in flight (as the rotation script takes it)."""
        return str(now + self.grace_ms)


@dataclass(frozen=True, slots=True)
class Session:
    """A session as one request sees it; ``id`` is the raw cookie value (never stored). Times in ms since the epoch.

    After a privilege change the first request rotates the ID (``rotated``: ``id`` is the new one and
    ``roles`` the new roles). Requests still carrying the old ID during the grace are ``retired``: they
    get only the roles the old ID had that the user still has, so a promotion never reaches them.
    """

    id: str = field(repr=False)
    user_id: str
    label: str
    roles: tuple[str, ...]
    created_ms: int
    last_seen_ms: int
    idle_deadline_ms: int
    absolute_deadline_ms: int
    checked_at_ms: int
    wrote: bool = False  # this request extended the idle deadline (a write to Redis)
    rotated: bool = False  # privileges changed: ``id`` is new, the old one is retired
    retired: bool = False  # the ID was replaced by a rotation and is honoured only during the grace
    ids: SessionIds | None = field(default=None, repr=False, compare=False)  # the store's key: for csrf_token

    @property
    def handle(self) -> str:
        """The SHA-256 of the ID: names the session in listings and keys without revealing it."""
        return session_handle(self.id)

    @property
    def csrf_token(self) -> str:
        """The CSRF token bound to this session's ID: an HMAC under the issuing store's key."""
        if self.ids is None:
            raise ValueError("this Session was not made by a store: there is no key to derive its CSRF token")
        return self.ids.csrf_token(self.id)

    @property
    def created(self) -> datetime:
        """When the user logged in."""
        return to_time(self.created_ms)

    @property
    def last_seen(self) -> datetime:
        """The last request that slid the idle deadline."""
        return to_time(self.last_seen_ms)

    @property
    def idle_deadline(self) -> datetime:
        """``last_seen + idle``: the session dies then unless a request comes first."""
        return to_time(self.idle_deadline_ms)

    @property
    def absolute_deadline(self) -> datetime:
        """``created + absolute``: the session dies then whatever happens."""
        return to_time(self.absolute_deadline_ms)

    @property
    def checked_at(self) -> datetime:
        """When this request was checked."""
        return to_time(self.checked_at_ms)

    @property
    def expires_at(self) -> datetime:
        """When the session dies if no request comes first: the earlier of the two deadlines."""
        return to_time(min(self.idle_deadline_ms, self.absolute_deadline_ms))


@dataclass(frozen=True)
class SessionSummary:
    """One of a user's sessions as a device list shows it (no ID, no CSRF token)."""

    handle: str = field(repr=False)
    label: str
    created: datetime
    last_seen: datetime
    idle_deadline: datetime
    absolute_deadline: datetime


def new_record(now: int, absolute: int, label: str) -> tuple[str, str]:
    """A live record at login, split where the user's roles go (the create script puts them in)."""
    return f"L|{now}|{absolute}||", f"||{label}"


def record_fields(record: str) -> list[str]:
    """``[state, created, absolute, until, roles, link, label]`` of a stored record."""
    return record.split("|", 6)


def refused(score: float | str | None, now: int) -> SessionError:
    """Why a session is gone, from its score in the user's index (its absolute deadline) or its absence."""
    if score is None:
        return refusal("unknown")
    return refusal("absolute_timeout" if now >= float(score) else "idle_timeout")


def refusal(reason: str) -> SessionError:
    """The ``SessionError`` for one of ``REFUSALS``."""
    return SessionError(reason, REFUSALS[reason])


def roles_text(roles: Sequence[str]) -> str:
    """Roles as the record keeps them: words joined by spaces."""
    if isinstance(roles, str) or any(not role or any(c.isspace() or c == "|" for c in role) for role in roles):
        raise ValueError(f"roles are a sequence of non-empty words without spaces or '|', not {roles!r}")
    return " ".join(roles)


def milliseconds(value: timedelta, name: str) -> int:
    """A timeout in whole ms, at least 1."""
    ms = value // timedelta(milliseconds=1)
    if ms < 1:
        raise ValueError(f"{name} timeout must be at least 1 ms, not {value!r}")
    return ms


def now_ms() -> int:
    """The application's clock in ms (``time.time``: the clock time-machine moves)."""
    return time.time_ns() // 1_000_000


def to_time(ms: str | int) -> datetime:
    """A ms timestamp as an aware UTC datetime, exactly (whole seconds, then the ms as microseconds)."""
    seconds, millis = divmod(int(ms), 1000)
    return datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=millis * 1000)
