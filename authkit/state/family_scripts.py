"""The Lua scripts behind refresh-token families: each decision is one script, so one round trip, never interleaved.

Two clocks, each for what it times. Lifetimes of days (idle, absolute) use the service's clock, passed in
as ``now`` like the JWT checks', where a skew of seconds between services is immaterial. The grace, a
few seconds, uses Redis's own clock (``TIME`` inside the script): every service shares it, so a service
whose clock is off by more than the grace can neither revoke a family by mistake nor stretch the grace.
"""

from __future__ import annotations

# KEYS: family hash, user's version, user's index of families.
# ARGV: first jti, now ms, idle ms, deadline ms, scope, family id, family key base, device, max logins
# (0: no limit), hold ms (how long a revoked family's marker outlives it), revoked-marker key base.
# Opens the family, indexes it, forgets the families that must have ended, and with a limit walks the
# rest (at most the limit and those ended since) to end the oldest live ones beyond it; returns the version.
START_SCRIPT = """
local ver = redis.call('GET', KEYS[2]) or '0'
local now, idle, deadline = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'state', 'active', 'cur', ARGV[1], 'prev', '', 'prev_until', 0, 'rep', 0,
           'seen', now, 'abs', deadline, 'ver', ver, 'scope', ARGV[5], 'created', now, 'device', ARGV[8])
redis.call('PEXPIREAT', KEYS[1], math.min(now + idle, deadline))
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')  -- ties broken by arrival: oldest first
redis.call('ZADD', KEYS[3], math.max(now, tonumber(last[2] or now - 1) + 1), ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', 2 * now - deadline)  -- started a lifetime ago: over
local limit = tonumber(ARGV[9])
if limit > 0 then  -- without a limit, no walk: a login stays O(log n)
  local live = {}
  for _, fam in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local f = redis.call('HMGET', ARGV[7] .. fam, 'state', 'ver', 'seen', 'abs')
    if f[1] == 'active' and f[2] == ver and now < tonumber(f[4]) and now < tonumber(f[3]) + idle then
      table.insert(live, fam)
    else
      redis.call('ZREM', KEYS[3], fam)
    end
  end
  for i = 1, #live - limit do  -- oldest first (ZRANGE is by start time)
    redis.call('HSET', ARGV[7] .. live[i], 'state', 'revoked')
    redis.call('DEL', ARGV[7] .. live[i] .. ':next')
    redis.call('SET', ARGV[11] .. live[i], 'limit', 'PX', ARGV[10])
    redis.call('ZREM', KEYS[3], live[i])
  end
end
if redis.call('PTTL', KEYS[3]) < deadline - now then redis.call('PEXPIREAT', KEYS[3], deadline) end
return ver
"""

# KEYS: family hash, user's version, the family's sealed successor, the family's revoked marker.
# ARGV: presented jti, new jti, new token sealed (or ''), now ms, idle ms, grace ms, repeats allowed,
# hold ms. Exactly one caller moves `cur`; a caller that presents the token just rotated, within the
# grace by Redis's clock and at most `repeats` times, gets the successor it sealed ('again').
ROTATE_SCRIPT = """
local f = redis.call('HMGET', KEYS[1], 'state', 'cur', 'prev', 'prev_until', 'seen', 'abs', 'ver', 'scope', 'rep')
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
local t = redis.call('TIME')
local redis_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == f[2] then
  redis.call('HSET', KEYS[1], 'cur', ARGV[2], 'prev', f[2], 'prev_until', redis_now + grace, 'seen', now, 'rep', 0)
  redis.call('DEL', KEYS[3])
  if grace > 0 and ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'PX', grace) end
  redis.call('PEXPIREAT', KEYS[1], math.min(now + idle, tonumber(f[6])))
  return {'ok', f[7], f[8]}
end
if ARGV[1] == f[3] and grace > 0 and redis_now < tonumber(f[4]) and tonumber(f[9] or 0) < tonumber(ARGV[7]) then
  local sealed = redis.call('GET', KEYS[3])
  if sealed then
    redis.call('HINCRBY', KEYS[1], 'rep', 1)
    return {'again', f[7], f[8], sealed}
  end
end
redis.call('HSET', KEYS[1], 'state', 'revoked')
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[4], 'reused', 'PX', ARGV[8])
return {'reused'}
"""

# KEYS: family hash, its sealed successor, its revoked marker. ARGV: hold ms. Marks the family revoked (a
# tombstone until it would have expired) and sets the marker that refuses its access tokens; returns
# 1 if it was active, 2 if already revoked, 0 if gone.
REVOKE_SCRIPT = """
local state = redis.call('HGET', KEYS[1], 'state')
redis.call('SET', KEYS[3], 'logout', 'PX', ARGV[1])
if not state then return 0 end
redis.call('HSET', KEYS[1], 'state', 'revoked')
redis.call('DEL', KEYS[2])
if state == 'active' then return 1 end
return 2
"""

# KEYS: user's version, user's index. ARGV: now ms, idle ms, family key base.
# The user's live families, oldest first: id, created, last used, device, deadline; drops the others.
LIST_SCRIPT = """
local ver = redis.call('GET', KEYS[1]) or '0'
local now, idle = tonumber(ARGV[1]), tonumber(ARGV[2])
local found = {}
for _, fam in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local f = redis.call('HMGET', ARGV[3] .. fam, 'state', 'ver', 'seen', 'abs', 'created', 'device')
  if f[1] == 'active' and f[2] == ver and now < tonumber(f[4]) and now < tonumber(f[3]) + idle then
    table.insert(found, {fam, f[5], f[3], f[6] or '', math.min(tonumber(f[3]) + idle, tonumber(f[4]))})
  else
    redis.call('ZREM', KEYS[2], fam)
  end
end
return found
"""
