"""Server-side sessions in Redis: random IDs stored hashed, idle and absolute timeouts, one round trip.

Keys for one user share the hash tag ``{u:<user>}`` so every operation stays in one Redis Cluster
slot: ``authkit:sess:{u:alice}:<sha256 of the ID>`` (the record), ``…:index`` (the user's sessions,
scored by absolute deadline) and ``…:user`` (roles and a privilege generation). The cookie carries
``<user>.<secret>``: the user part only routes to the slot; the 256-bit secret is what authenticates.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import redis

from authkit.errors import SessionError
from authkit.redis import connect, fail_closed

DEFAULT_IDLE = timedelta(minutes=30)
DEFAULT_ABSOLUTE = timedelta(hours=8)
SLIDE_POLICIES = ("always", "half")  # "half": extend only once half the idle window has passed
SECRET_BYTES = 32  # 256 bits from the CSPRNG; OWASP asks for at least 64 bits of entropy
_USER = r"[A-Za-z0-9_-]{1,64}"
_REFUSALS = {
    "malformed": "the cookie is not a session ID",
    "unknown": "no such session: never issued, logged out, revoked or replaced by a new ID",
    "idle_timeout": "the session expired after too long without a request",
    "absolute_timeout": "the session reached its maximum lifetime; log in again",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SESSION_ID = re.compile(rf"(?P<user>{_USER})\.[A-Za-z0-9_-]{{43}}")
_HANDLE = re.compile(r"[0-9a-f]{64}")  # a SHA-256 hex digest: never "index" or "user", the user's other keys

_NOW = """local function s(n) return string.format('%d', n) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: record, index, user. ARGV: handle, idle ms, absolute ms, csrf, label, roles, user.
_CREATE = _NOW + """
local absolute = now + tonumber(ARGV[3])
redis.call('HSETNX', KEYS[3], 'roles', ARGV[6])
local gen = redis.call('HGET', KEYS[3], 'gen') or '0'
redis.call('HSET', KEYS[1], 'user', ARGV[7], 'created', s(now), 'last_seen', s(now), 'idle', ARGV[2],
           'absolute', s(absolute), 'gen', gen, 'csrf', ARGV[4], 'label', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], s(math.min(now + tonumber(ARGV[2]), absolute)))
-- the index remembers a dead session for one more idle window, so a late request hears why it died
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', s(now - tonumber(ARGV[2])))
redis.call('ZADD', KEYS[2], s(absolute), ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], s(tonumber(last[2]) + tonumber(ARGV[2])))
return {s(now), redis.call('HGET', KEYS[3], 'roles')}
"""

# KEYS: record, index, user. ARGV: handle, "touch" or "peek", "half" or "always".
_TOUCH = _NOW + """
local rec = redis.call('HMGET', KEYS[1], 'user', 'created', 'last_seen', 'idle', 'absolute', 'gen', 'csrf', 'label')
if not rec[1] then
  local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if not score then return {'unknown'} end
  if now >= tonumber(score) then return {'absolute_timeout'} end
  return {'idle_timeout'}
end
local last, idle, absolute = tonumber(rec[3]), tonumber(rec[4]), tonumber(rec[5])
local expired = (now >= absolute and 'absolute_timeout') or (now >= last + idle and 'idle_timeout')
if expired then
  if ARGV[2] == 'touch' then redis.call('DEL', KEYS[1]) end
  return {expired}
end
local wrote = '0'
if ARGV[2] == 'touch' and (ARGV[3] == 'always' or now - last >= idle / 2) then
  last = now
  redis.call('HSET', KEYS[1], 'last_seen', s(now))
  redis.call('PEXPIREAT', KEYS[1], s(math.min(now + idle, absolute)))
  wrote = '1'
end
local user = redis.call('HMGET', KEYS[3], 'roles', 'gen')
return {'ok', s(now), rec[1], rec[2], s(last), rec[4], rec[5], rec[6], rec[7], rec[8],
        user[1] or '', user[2] or '0', wrote}
"""

# KEYS: old record, new record, index, user. ARGV: old handle, new handle, new csrf.
_ROTATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'csrf', ARGV[3], 'gen', redis.call('HGET', KEYS[4], 'gen') or '0')
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if score then redis.call('ZADD', KEYS[3], score, ARGV[2]) end
return 1
"""

# KEYS: record, index. ARGV: handle.
_DESTROY = """
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
"""

# KEYS: index. ARGV: the user's record-key prefix, the handle to keep (or ""). Records share the index's
# hash tag, so the script touches one cluster slot; it runs whole, so a racing login is before or after it.
_DESTROY_ALL = """
local ended = 0
for _, handle in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if handle ~= ARGV[2] then
    ended = ended + redis.call('DEL', ARGV[1] .. handle)
    redis.call('ZREM', KEYS[1], handle)
  end
end
return ended
"""


@dataclass(frozen=True)
class Session:
    """A live session as one request sees it; ``id`` is the raw cookie value (never stored)."""

    id: str = field(repr=False)
    user_id: str
    label: str
    roles: tuple[str, ...]
    created: datetime
    last_seen: datetime
    idle_deadline: datetime
    absolute_deadline: datetime
    checked_at: datetime
    csrf_token: str = field(repr=False)
    wrote: bool = False  # this request extended the idle deadline (a write to Redis)
    rotated: bool = False  # privileges changed: ``id`` is new and the old one is dead

    @property
    def handle(self) -> str:
        """The SHA-256 of the ID: names the session in listings and keys without revealing it."""
        return session_handle(self.id)

    @property
    def expires_at(self) -> datetime:
        """When the session dies if no request comes first: the earlier of the two deadlines."""
        return min(self.idle_deadline, self.absolute_deadline)


@dataclass(frozen=True)
class SessionSummary:
    """One of a user's sessions as a device list shows it (no ID, no CSRF token)."""

    handle: str = field(repr=False)
    label: str
    created: datetime
    last_seen: datetime
    idle_deadline: datetime
    absolute_deadline: datetime


def session_handle(session_id: str) -> str:
    """SHA-256 hex of a session ID: what Redis stores instead of the ID itself."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionStore:
    """Redis-backed sessions: create, validate-and-slide in one round trip, rotate, list, destroy."""

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        idle: timedelta = DEFAULT_IDLE,
        absolute: timedelta = DEFAULT_ABSOLUTE,
        slide: str = "always",
        prefix: str = "authkit:sess",
    ) -> None:
        if slide not in SLIDE_POLICIES:
            raise ValueError(f"slide must be one of {SLIDE_POLICIES}, not {slide!r}")
        self.client = client if client is not None else connect()
        self.idle, self.absolute, self.slide, self.prefix = idle, absolute, slide, prefix
        self._idle_ms, self._absolute_ms = _milliseconds(idle, "idle"), _milliseconds(absolute, "absolute")
        self._create, self._touch, self._rotate, self._destroy, self._destroy_all = (
            self.client.register_script(lua) for lua in (_CREATE, _TOUCH, _ROTATE, _DESTROY, _DESTROY_ALL)
        )
        try:  # load now so a request's first EVALSHA is not answered NOSCRIPT (an extra round trip)
            for script in (self._create, self._touch, self._rotate, self._destroy, self._destroy_all):
                self.client.script_load(script.script)
        except redis.ConnectionError:
            pass  # Redis is down: every call fails closed until it returns, and redis-py loads on NOSCRIPT

    # keys --------------------------------------------------------------------------------------
    def key(self, user_id: str, suffix: str) -> str:
        """``<prefix>:{u:<user>}:<suffix>``: the hash tag keeps a user's keys in one cluster slot."""
        return f"{self.prefix}:{{u:{user_id}}}:{suffix}"

    def _keys(self, user_id: str, handle: str) -> list[str]:
        return [self.key(user_id, handle), self.key(user_id, "index"), self.key(user_id, "user")]

    # lifecycle ---------------------------------------------------------------------------------
    def create(self, user_id: str, *, roles: Sequence[str] = (), label: str = "") -> Session:
        """Start a session with a fresh ID (login); ``roles`` seed the user's record if it has none."""
        if not re.fullmatch(_USER, user_id):
            raise ValueError(f"user IDs are 1-64 characters of A-Z a-z 0-9 _ -, not {user_id!r}")
        session_id, csrf = _new_secrets(user_id)
        handle = session_handle(session_id)
        args = [handle, self._idle_ms, self._absolute_ms, csrf, label, _roles_text(roles), user_id]
        with fail_closed("session store"):
            now, stored_roles = self._create(keys=self._keys(user_id, handle), args=args)
        start = _time(now)
        return Session(
            id=session_id, user_id=user_id, label=label, roles=tuple(stored_roles.split()), created=start,
            last_seen=start, idle_deadline=start + timedelta(milliseconds=self._idle_ms),
            absolute_deadline=start + timedelta(milliseconds=self._absolute_ms), checked_at=start, csrf_token=csrf,
        )

    def validate(self, session_id: str) -> Session:
        """Check the cookie's session and slide its idle deadline: one Redis round trip (EVALSHA).

        If the user's privileges changed since the ID was issued, the ID is rotated too (a second
        round trip, on that request only) and the result has ``rotated=True`` and the new ``id``.
        """
        session, privileges_changed = self._check(session_id, "touch")
        if not privileges_changed:
            return session
        new_id, csrf = self._rotate_id(session_id)
        return replace(session, id=new_id, csrf_token=csrf, rotated=True)

    def peek(self, session_id: str) -> Session:
        """The session and its deadlines without sliding them (read-only; for timelines and plots)."""
        return self._check(session_id, "peek")[0]

    def rotate(self, session_id: str) -> str:
        """Give the session a new ID (fixation defence); the old ID stops working at once."""
        return self._rotate_id(session_id)[0]

    def destroy(self, session_id: str) -> bool:
        """Log out: delete the session now. True if it existed."""
        return self.revoke(*_parse(session_id))

    def revoke(self, user_id: str, handle: str) -> bool:
        """Forced logoff of one of ``user_id``'s sessions, named by its handle. True if it existed."""
        if not isinstance(handle, str) or not _HANDLE.fullmatch(handle):
            return False  # anything else would name another key of the user's (index, roles), not a session
        with fail_closed("session store"):
            return bool(self._destroy(keys=self._keys(user_id, handle)[:2], args=[handle]))

    def destroy_all(self, user_id: str, *, keep: str | None = None) -> int:
        """Log out everywhere (or everywhere but ``keep``), atomically; return how many live sessions died."""
        keep_handle = ""
        if keep is not None:
            keep_user, keep_handle = _parse(keep)
            if keep_user != user_id:
                raise ValueError("the session to keep belongs to another user")
        with fail_closed("session store"):
            return int(self._destroy_all(keys=[self.key(user_id, "index")], args=[self.key(user_id, ""), keep_handle]))

    def sessions(self, user_id: str) -> list[SessionSummary]:
        """The user's live sessions, oldest first, with created and last-seen times."""
        with fail_closed("session store"):
            handles = self.client.zrange(self.key(user_id, "index"), 0, -1)
            with self.client.pipeline(transaction=False) as pipe:
                for handle in handles:
                    pipe.hmget(self.key(user_id, handle), "created", "last_seen", "idle", "absolute", "label")
                records = pipe.execute()
        found = [
            SessionSummary(handle, label, _time(created), _time(last), _time(int(last) + int(idle)), _time(absolute))
            for handle, (created, last, idle, absolute, label) in zip(handles, records)
            if created is not None
        ]
        return sorted(found, key=lambda s: (s.created, s.label, s.handle))

    def roles(self, user_id: str) -> tuple[str, ...]:
        """The user's current roles, as the next request will see them."""
        with fail_closed("session store"):
            return tuple((self.client.hget(self.key(user_id, "user"), "roles") or "").split())

    def set_roles(self, user_id: str, roles: Sequence[str]) -> None:
        """Change the user's roles: applies on each session's next request, which also rotates its ID."""
        text = _roles_text(roles)
        with fail_closed("session store"), self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(user_id, "user"), "roles", text)
            pipe.hincrby(self.key(user_id, "user"), "gen", 1)
            pipe.execute()

    # helpers -----------------------------------------------------------------------------------
    def _check(self, session_id: str, mode: str) -> tuple[Session, bool]:
        user_id, handle = _parse(session_id)
        with fail_closed("session store"):
            reply = self._touch(keys=self._keys(user_id, handle), args=[handle, mode, self.slide])
        if reply[0] != "ok":
            raise SessionError(reply[0], _REFUSALS[reply[0]])
        now, user, created, last, idle, absolute, gen, csrf, label, roles, user_gen, wrote = reply[1:]
        session = Session(
            id=session_id, user_id=user, label=label, roles=tuple(roles.split()),
            created=_time(created), last_seen=_time(last), idle_deadline=_time(int(last) + int(idle)),
            absolute_deadline=_time(absolute), checked_at=_time(now), csrf_token=csrf, wrote=wrote == "1",
        )
        return session, gen != user_gen

    def _rotate_id(self, session_id: str) -> tuple[str, str]:
        user_id, handle = _parse(session_id)
        new_id, csrf = _new_secrets(user_id)
        new_handle = session_handle(new_id)
        keys = [self.key(user_id, h) for h in (handle, new_handle, "index", "user")]
        with fail_closed("session store"):
            moved = self._rotate(keys=keys, args=[handle, new_handle, csrf])
        if not moved:
            raise SessionError("unknown", _REFUSALS["unknown"])
        return new_id, csrf


def _new_secrets(user_id: str) -> tuple[str, str]:
    """A fresh session ID for ``user_id`` and a fresh CSRF token, each 256 bits from the CSPRNG."""
    return f"{user_id}.{secrets.token_urlsafe(SECRET_BYTES)}", secrets.token_urlsafe(SECRET_BYTES)


def _parse(session_id: str) -> tuple[str, str]:
    match = _SESSION_ID.fullmatch(session_id) if isinstance(session_id, str) else None
    if match is None:
        raise SessionError("malformed", _REFUSALS["malformed"])
    return match["user"], session_handle(session_id)


def _roles_text(roles: Sequence[str]) -> str:
    if isinstance(roles, str) or any(not role or any(c.isspace() for c in role) for role in roles):
        raise ValueError(f"roles are a sequence of non-empty words without spaces, not {roles!r}")
    return " ".join(roles)


def _milliseconds(value: timedelta, name: str) -> int:
    ms = value // timedelta(milliseconds=1)
    if ms < 1:
        raise ValueError(f"{name} timeout must be at least 1 ms, not {value!r}")
    return ms


def _time(ms: str | int) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(ms))
