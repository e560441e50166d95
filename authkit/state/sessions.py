"""Server-side sessions kept in Redis: the scripts and round trips behind ``SessionStore``.

Keys for one user share the hash tag ``{u:<user>}`` so every operation stays in one Redis Cluster
slot: ``authkit:sess:{u:alice}:<handle>`` (the record, a short string; the handle is the SHA-256 of
the session ID), ``…:index`` (the user's sessions, scored by absolute deadline) and ``…:roles`` (the
user's current roles). A request is one native command, ``GETEX <record> PXAT <expire at>``: Redis
returns the record and moves its expiry in one step, so the key's expiry *is* the session's deadline.
All times come from the application's clock (``time.time``), the one time-machine moves along with
PyJWT and fakeredis. What the deadlines are and what a record holds is ``authkit.state.session_policy``;
what the cookie carries is ``authkit.state.session_ids``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from authkit.state import durability
from authkit.errors import SessionError, StoreUnavailable
from authkit.state.durability import UNAVAILABLE_AT_STARTUP
from authkit.state.redis import connect, fail_closed, is_fake
from authkit.state.session_ids import SECRET_BYTES, USER_ID, SessionIds, session_csrf_token, session_handle
from authkit.state.session_policy import (
    DEFAULT_ABSOLUTE, DEFAULT_IDLE, DEFAULT_ROTATION_GRACE, SLIDE_POLICIES, Session, SessionPolicy, SessionSummary,
    new_record, now_ms, record_fields, refusal, refused, roles_text, to_time,
)

__all__ = [
    "DEFAULT_ABSOLUTE", "DEFAULT_IDLE", "DEFAULT_ROTATION_GRACE", "SECRET_BYTES", "SLIDE_POLICIES", "Session",
    "SessionPolicy", "SessionStore", "SessionSummary", "session_csrf_token", "session_handle",
]

_HANDLE = re.compile(r"[0-9a-f]{64}")  # a SHA-256 hex digest: never "index" or "roles", the user's other keys
_SLIDE_REFUSED = (redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError)

# KEYS: record, index, roles. ARGV: handle, the record before and after its roles, expire at,
# absolute deadline, now, idle ms, roles to seed.
_CREATE = """
redis.call('SET', KEYS[3], ARGV[8], 'NX')
local roles = redis.call('GET', KEYS[3])
redis.call('SET', KEYS[1], ARGV[2] .. roles .. ARGV[3], 'PXAT', ARGV[4])
-- the index remembers a dead session for one more idle window, so a late request hears why it died
local idle = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('(%d', tonumber(ARGV[6]) - idle))
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[2], string.format('%d', tonumber(last[2]) + idle))
return roles
"""

# KEYS: record. ARGV: new expire at, slide when the current one is at most this (0: never, a read).
# One string back, as cheap to parse as GETEX's: "<wrote 0|1><expire at>|<record>", or "" for no record.
_TOUCH = """
local record = redis.call('GET', KEYS[1])
if not record then return '' end
local at = redis.call('PEXPIRETIME', KEYS[1])
-- a retired record (an ID replaced by a rotation) keeps the end of its grace as its expiry: never slide it
if at <= tonumber(ARGV[2]) and string.sub(record, 1, 1) ~= 'R' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
  return '1' .. ARGV[1] .. '|' .. record
end
return '0' .. string.format('%d', at) .. '|' .. record
"""

_FIELDS = "^(%a)|(%d*)|(%d*)|(%d*)|([^|]*)|(%x*)|(.*)$"

# KEYS: old record, new record, index, roles. ARGV: old handle, new handle, new expire at, grace end
# ("" ends the old ID at once), key prefix. Returns the new record, a retired record (another request
# rotated first), or nil.
_ROTATE = """
local record = redis.call('GET', KEYS[1])
if not record then return false end
local state, created, absolute, _, granted, link, label = string.match(record, '""" + _FIELDS + """')
if state == 'R' then return record end
local roles = granted
if state == 'S' then roles = redis.call('GET', KEYS[4]) or '' end
local head = '|' .. created .. '|' .. absolute .. '|'
local new = 'L' .. head .. '|' .. roles .. '|' .. (ARGV[4] ~= '' and ARGV[1] or '') .. '|' .. label
redis.call('SET', KEYS[2], new, 'PXAT', ARGV[3])  -- first write: at maxmemory the script stops here, changing nothing
-- add before removing: an index emptied even for a moment is deleted, and would come back without its expiry
redis.call('ZADD', KEYS[3], absolute, ARGV[2])
if link ~= '' then redis.call('DEL', ARGV[5] .. link) redis.call('ZREM', KEYS[3], '~' .. link) end
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[4] == '' then
  redis.call('DEL', KEYS[1])
else
  local until_ms = math.min(tonumber(ARGV[4]), tonumber(absolute))
  redis.call('SET', KEYS[1], 'R' .. head .. ARGV[4] .. '|' .. granted .. '|' .. ARGV[2] .. '|' .. label,
             'PXAT', string.format('%d', until_ms - 1))
  redis.call('ZADD', KEYS[3], ARGV[4], '~' .. ARGV[1])
end
return new
"""

# KEYS: record, index. ARGV: handle, key prefix. Deletes the record and its linked one (a retired
# predecessor or the live successor): logging out with either ID ends the session.
_DESTROY = """
local record = redis.call('GET', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1], '~' .. ARGV[1])
if not record then return 0 end
local link = select(6, string.match(record, '""" + _FIELDS + """'))
if link ~= '' then redis.call('DEL', ARGV[2] .. link) redis.call('ZREM', KEYS[2], link, '~' .. link) end
return redis.call('DEL', KEYS[1])
"""

# KEYS: index. ARGV: the user's key prefix, the handle to keep (or ""), idle ms. Records share the index's
# hash tag, so the script touches one cluster slot; it runs whole, so a racing login is before or after
# it. Per session it only builds a key name; DEL takes them thousands at a time, then the index goes in
# one DEL (the kept session is put back). Retired IDs ("~" members) die too, the kept session's included.
_DESTROY_ALL = """
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
local live, retired, n, r, prefix, keep = {}, {}, 0, 0, ARGV[1], ARGV[2]
for i = 1, #members do
  local m = members[i]
  if string.byte(m, 1) == 126 then r = r + 1 retired[r] = prefix .. string.sub(m, 2)
  elseif m ~= keep then n = n + 1 live[n] = prefix .. m end
end
local ended = 0
for i = 1, n, 4000 do ended = ended + redis.call('DEL', unpack(live, i, math.min(i + 3999, n))) end
for i = 1, r, 4000 do redis.call('DEL', unpack(retired, i, math.min(i + 3999, r))) end
local score = keep ~= '' and redis.call('ZSCORE', KEYS[1], keep)
redis.call('DEL', KEYS[1])
if score then  -- allowed at maxmemory too: the script has already deleted
  redis.call('ZADD', KEYS[1], score, keep)
  redis.call('PEXPIREAT', KEYS[1], string.format('%d', tonumber(score) + tonumber(ARGV[3])))
end
return ended
"""

# KEYS: roles, index. ARGV: roles, key prefix. Every record of the user keeps only the roles it had that
# remain (a demotion applies at once); live records become "S", so their next request rotates the ID.
_SET_ROLES = """
redis.call('SET', KEYS[1], ARGV[1])
local allowed = {}
for role in string.gmatch(ARGV[1], '%S+') do allowed[role] = true end
for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if string.byte(member, 1) == 126 then member = string.sub(member, 2) end
  local key = ARGV[2] .. member
  local record = redis.call('GET', key)
  if record then
    local state, middle, granted, tail = string.match(record, '^(%a)(|%d*|%d*|%d*|)([^|]*)(|.*)$')
    local kept = {}
    for role in string.gmatch(granted, '%S+') do if allowed[role] then kept[#kept + 1] = role end end
    if state == 'L' then state = 'S' end
    redis.call('SET', key, state .. middle .. table.concat(kept, ' ') .. tail, 'KEEPTTL')
  end
end
"""

# KEYS: index. ARGV: key prefix. Every live or privilege-changed record with its expire time.
_LIST = """
local out = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if string.byte(member, 1) ~= 126 then
    local record = redis.call('GET', ARGV[1] .. member)
    if record then
      out[#out + 1] = member
      out[#out + 1] = record
      out[#out + 1] = redis.call('PEXPIRETIME', ARGV[1] .. member)
    end
  end
end
return out
"""


class SessionStore:
    """Redis-backed sessions: create, validate-and-slide in one round trip, rotate, list, destroy.

    The timeouts, sliding and rotation grace are ``self.policy`` (a ``SessionPolicy``), the IDs' format
    and their key ``self.ids`` (``SessionIds``); this class turns them into keys, scripts and round trips.
    Every worker of a deployment passes the same ``cookie_key``, or none can read another's cookies.
    """

    def __init__(
        self,
        client: redis.Redis | None = None,
        *,
        idle: timedelta = DEFAULT_IDLE,
        absolute: timedelta = DEFAULT_ABSOLUTE,
        slide: str = "always",
        rotation_grace: timedelta = DEFAULT_ROTATION_GRACE,
        prefix: str = "authkit:sess",
        cookie_key: bytes | None = None,
    ) -> None:
        self.ids = ids = SessionIds(cookie_key)  # the server key that seals IDs: generated when not given
        self.cookie_key = ids.key
        self._parse = ids.parse
        self.policy = policy = SessionPolicy(idle, absolute, slide, rotation_grace)
        self.client = client = client if client is not None else connect()
        self.idle, self.absolute, self.slide, self.rotation_grace, self.prefix = idle, absolute, slide, rotation_grace, prefix
        self._idle_ms = policy.idle_ms
        self._tag = f"{prefix}:{{u:"
        durability.cover(client, prefix)
        # fakeredis (2.41) keeps GETEX's PXAT only to the whole second; there the script's PEXPIREAT slides.
        self._native = slide == "always" and not is_fake(client)
        self._scripts = [client.register_script(lua) for lua in (_CREATE, _TOUCH, _ROTATE, _DESTROY, _DESTROY_ALL,
                                                                  _SET_ROLES, _LIST)]
        self._create, self._touch, self._rotate, self._destroy, self._destroy_all, self._set_roles, self._list = self._scripts
        try:  # load now so a request's first EVALSHA is not answered NOSCRIPT (an extra round trip)
            for script in self._scripts:
                client.script_load(script.script)
        except UNAVAILABLE_AT_STARTUP:
            pass  # Redis is down or recovering from lost writes: every call fails closed until it is back

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token a request with this session ID must carry (no round trip: an HMAC of the ID)."""
        return self.ids.csrf_token(session_id)

    # keys --------------------------------------------------------------------------------------
    def key(self, user_id: str, suffix: str) -> str:
        """``<prefix>:{u:<user>}:<suffix>``: the hash tag keeps a user's keys in one cluster slot."""
        return f"{self._tag}{user_id}}}:{suffix}"

    # lifecycle ---------------------------------------------------------------------------------
    def create(self, user_id: str, *, roles: Sequence[str] = (), label: str = "") -> Session:
        """Start a session with a fresh ID (login); ``roles`` seed the user's roles if they have none."""
        if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id):
            raise ValueError(f"user IDs are 1-64 characters of A-Z a-z 0-9 _ -, not {user_id!r}")
        now = now_ms()
        absolute = now + self.policy.absolute_ms
        session_id = self.ids.new_id(user_id, absolute)
        handle = session_handle(session_id)
        before, after = new_record(now, absolute, label)
        args = [handle, before, after, self.policy.expire_at(now, absolute), absolute, now, self._idle_ms,
                roles_text(roles)]
        keys = [self.key(user_id, handle), self.key(user_id, "index"), self.key(user_id, "roles")]
        stored_roles = self._eval(self._create, keys, args)
        return Session(session_id, user_id, label, tuple(stored_roles.split()), now, now, now + self._idle_ms,
                       absolute, now, ids=self.ids)

    def validate(self, session_id: str) -> Session:
        """Check the cookie's session and slide its idle deadline: one Redis round trip.

        If the user's privileges changed since the ID was issued, the ID is rotated too (a second
        round trip, on that request only) and the result has ``rotated=True`` and the new ``id``.
        """
        user_id, absolute, handle = self._parse(session_id)
        now = now_ms()
        if now >= absolute:
            raise self._refusal(user_id, handle, now)
        expire_at = self.policy.expire_at(now, absolute)
        if not self._native:
            return self._touched(session_id, user_id, handle, absolute, now, self.slide, expire_at)
        try:
            record = self.client.execute_command("GETEX", f"{self._tag}{user_id}}}:{handle}", "PXAT", expire_at)
        except _SLIDE_REFUSED:  # a slide refused (read-only replica): serve without sliding, see _touched
            return self._touched(session_id, user_id, handle, absolute, now, "peek", expire_at)
        except redis.RedisError as err:
            raise _unavailable(err) from err
        if record is None:
            raise self._refusal(user_id, handle, now)
        state, created, _, until, roles, _, label = record.split("|", 6)
        if state != "L":
            return self._changed(session_id, user_id, handle, absolute, now, record, True, now, now + self._idle_ms)
        return Session(session_id, user_id, label, tuple(roles.split()), int(created), now, now + self._idle_ms,
                       absolute, now, True, ids=self.ids)

    def peek(self, session_id: str) -> Session:
        """The session and its deadlines without sliding or rotating anything (read-only)."""
        user_id, absolute, handle = self._parse(session_id)
        now = now_ms()
        if now >= absolute:
            raise self._refusal(user_id, handle, now)
        return self._touched(session_id, user_id, handle, absolute, now, "peek", 0, rotate=False)

    def rotate(self, session_id: str) -> str:
        """Give the session a new ID (fixation defence); the old ID stops working at once."""
        user_id, absolute, handle = self._parse(session_id)
        new, _ = self._rotate_id(user_id, handle, absolute, now_ms(), "")
        if new is None:
            raise refusal("unknown")
        return new

    def destroy(self, session_id: str) -> bool:
        """Log out: delete the session now (and an ID it replaced or that replaced it). True if it existed."""
        user_id, _, handle = self._parse(session_id)
        return self.revoke(user_id, handle)

    def revoke(self, user_id: str, handle: str) -> bool:
        """Forced logoff of one of ``user_id``'s sessions, named by its handle. True if it existed."""
        if not isinstance(handle, str) or not _HANDLE.fullmatch(handle):
            return False  # anything else would name another key of the user's (index, roles), not a session
        keys = [self.key(user_id, handle), self.key(user_id, "index")]
        with durability.revoking(self.client):
            return bool(self._eval(self._destroy, keys, (handle, self.key(user_id, ""))))

    def destroy_all(self, user_id: str, *, keep: str | None = None) -> int:
        """Log out everywhere (or everywhere but ``keep``), atomically; return how many live sessions died."""
        keep_handle = ""
        if keep is not None:
            keep_user, _, keep_handle = self._parse(keep)
            if keep_user != user_id:
                raise ValueError("the session to keep belongs to another user")
        keys, args = (self.key(user_id, "index"),), (self.key(user_id, ""), keep_handle, self._idle_ms)
        with durability.revoking(self.client):
            return int(self._eval(self._destroy_all, keys, args))

    def sessions(self, user_id: str) -> list[SessionSummary]:
        """The user's live sessions, oldest first, with created and last-seen times."""
        flat = self._eval(self._list, (self.key(user_id, "index"),), (self.key(user_id, ""),))
        found = []
        for handle, record, expire_at in zip(flat[::3], flat[1::3], flat[2::3]):
            _, created, absolute, _, _, _, label = record_fields(record)
            last, idle_deadline = self.policy.last_seen(int(expire_at), int(absolute))
            found.append(SessionSummary(handle, label, to_time(created), to_time(last), to_time(idle_deadline),
                                        to_time(absolute)))
        return sorted(found, key=lambda s: (s.created, s.label, s.handle))

    def roles(self, user_id: str) -> tuple[str, ...]:
        """The user's current roles, as a new login or the next rotation will see them."""
        with fail_closed("session store"):
            return tuple((self.client.get(self.key(user_id, "roles")) or "").split())

    def set_roles(self, user_id: str, roles: Sequence[str]) -> None:
        """Change the user's roles: a removed role is gone at once; every session's next request rotates its ID."""
        keys = [self.key(user_id, "roles"), self.key(user_id, "index")]
        self._eval(self._set_roles, keys, (roles_text(roles), self.key(user_id, "")))

    # helpers -----------------------------------------------------------------------------------
    def _touched(self, session_id: str, user_id: str, handle: str, absolute: int, now: int, mode: str,
                 expire_at: int, *, rotate: bool = True) -> Session:
        """The script path: ``_TOUCH`` in ``mode``, then the session or the refusal."""
        slide_until = self.policy.slide_until(mode, now, expire_at)
        reply = self._eval(self._touch, (f"{self._tag}{user_id}}}:{handle}",), (expire_at, slide_until))
        if not reply:
            raise self._refusal(user_id, handle, now)
        head, record = reply.split("|", 1)
        wrote = head[0] == "1"
        at = int(head[1:])
        last, idle_deadline = (now, now + self._idle_ms) if wrote else self.policy.last_seen(at, absolute)
        if record[0] != "L":
            return self._changed(session_id, user_id, handle, absolute, now, record, rotate, last, idle_deadline, wrote)
        _, created, _, _, roles, _, label = record.split("|", 6)
        return Session(session_id, user_id, label, tuple(roles.split()), int(created), last, idle_deadline,
                       absolute, now, wrote, ids=self.ids)

    def _changed(self, session_id: str, user_id: str, handle: str, absolute: int, now: int, record: str,
                 rotate: bool, last: int, idle_deadline: int, wrote: bool = True) -> Session:
        """A record that is not plainly live: rotate a privilege-changed one, honour a retired one in its grace."""
        state, created, _, until, roles, _, label = record_fields(record)
        if state == "R" and wrote:  # GETEX slid a retired record: give it back the end of its grace
            self._expire_retired(user_id, handle, int(until), now)
        new = None
        if state == "S" and rotate:
            try:
                new, after = self._rotate_id(user_id, handle, absolute, now, self.policy.grace_end(now))
            except StoreUnavailable as err:
                if not isinstance(err.__cause__, _SLIDE_REFUSED):
                    raise
                new, after = None, record  # Redis refuses the new record (maxmemory): a later request rotates
            if after is None:
                raise refusal("unknown")
            if after is not record:  # the new record (new roles), or the retired one if another request rotated first
                state, created, _, until, roles, _, label = record_fields(after)
        if state == "R" and now >= int(until):
            raise refusal("unknown")  # replaced by a new ID, and the grace is over
        return Session(new or session_id, user_id, label, tuple(roles.split()), int(created), last, idle_deadline,
                       absolute, now, wrote, rotated=new is not None, retired=state == "R", ids=self.ids)

    def _expire_retired(self, user_id: str, handle: str, until: int, now: int) -> None:
        """A retired record lives only to the end of its grace (one more round trip, for a replaced ID only)."""
        key = f"{self._tag}{user_id}}}:{handle}"
        with fail_closed("session store"):
            if now >= until:
                self.client.unlink(key)
            else:
                self.client.pexpireat(key, until - 1)

    def _rotate_id(self, user_id: str, handle: str, absolute: int, now: int, grace_end: str) -> tuple[str | None, str | None]:
        """Move the record to a fresh ID: ``(new ID, new record)``, ``(None, retired record)`` if another
        request rotated it first, ``(None, None)`` if it is gone."""
        fresh = self.ids.new_id(user_id, absolute)
        new_handle = session_handle(fresh)
        keys = [self.key(user_id, h) for h in (handle, new_handle, "index", "roles")]
        expire_at = self.policy.expire_at(now, absolute)
        record = self._eval(self._rotate, keys, (handle, new_handle, expire_at, grace_end, self.key(user_id, "")))
        if record is None or record[0] == "R":
            return None, record
        return fresh, record

    def _eval(self, script: Script, keys: Sequence[str], args: Sequence[str | int]) -> object:
        """EVALSHA ``script``, loading it on NOSCRIPT (after a Redis restart) and trying once more."""
        try:
            try:
                return self.client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
            except NoScriptError:
                self.client.script_load(script.script)
                return self.client.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        except redis.RedisError as err:
            raise _unavailable(err) from err

    def _refusal(self, user_id: str, handle: str, now: int) -> SessionError:
        """Why a session is gone, from the index (one more round trip, on the refusal path only)."""
        with fail_closed("session store"):
            score = self.client.zscore(self.key(user_id, "index"), handle)
        return refused(score, now)


def _unavailable(err: redis.RedisError) -> StoreUnavailable:
    return StoreUnavailable(message=f"the session store is unavailable ({type(err).__name__}: {err})")
