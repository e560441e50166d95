"""Revocation that survives a Redis restart: detect a server that may have lost writes, and fail closed.

A revocation lives in Redis as a write: a deleted session, a denylist entry, a bumped token version, a
family marked revoked. A server that restarts from an older snapshot (RDB), with no persistence at all,
or after a failover to a replica, has lost the writes it acknowledged last — and the credentials they
revoked work again. Only ``appendonly yes`` with ``appendfsync always`` loses nothing a client was told.

``RollbackDetector`` is a redis-py connection hook (``redis_connect_func``): it runs once on every NEW
connection, so steady-state commands pay nothing. One EVAL compares the server's ``run_id`` (new at
every start) with a marker that authkit keeps in Redis. When the server changed and its persistence
cannot vouch for every acknowledged write, one worker (compare-and-set) purges authkit's keys — every
session, family, denylist entry and version — and records a *not-before* time: ``AccessGuard`` refuses
access tokens issued earlier, with no extra round trip. Everyone logs in again; no revoked credential
comes back. The command in flight is aborted with ``RollbackDetected`` (a ``RedisError`` that redis-py
does not retry, so ``fail_closed`` answers 503): its arguments were computed before the purge.
"""

from __future__ import annotations

import contextlib
import fnmatch
import secrets
import threading
import time
import warnings
import weakref
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import fakeredis
import redis

from authkit.errors import StoreUnavailable
from authkit.state.epoch import EpochConnection, EpochFile, Epochs
from authkit.state.epoch import revoking as revoking_epochs

MARKER = "authkit:durability"  # one hash per database: the run that owns the data, and its not-before
PURGE_PATTERNS = ("authkit:*",)  # every key authkit writes: sessions, families, denylist, versions
LEASE = timedelta(seconds=30)  # a purger that died lets another worker take over after this
#: What revocation needs from the server, as redis.conf lines (``CONFIG SET`` accepts the same pairs).
REQUIRED_SETTINGS = {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}
_NO_REPLID = "0" * 40  # master_replid2 of a server that was never promoted from replica

# KEYS: the marker. ARGV: the server's run id, or '' to read it (and master_replid2) from INFO.
# The steady state is the first return: one EVAL per new connection, nothing per command.
_CHECK = """
local run = ARGV[1]
if run == '' then run = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') end
local m = redis.call('HMGET', KEYS[1], 'run', 'state', 'not_before', 'lease', 'rev', 'durable')
if m[1] == run and m[2] == 'ok' then return {'ok', run, m[3]} end
local replid2 = ''
if ARGV[1] == '' then replid2 = string.match(redis.call('INFO', 'replication'), 'master_replid2:(%x+)') or '' end
return {'changed', run, m[1] or '', m[2] or '', m[3] or '0', m[4] or '0', m[5] or '0', m[6] or '0', replid2}
"""

# KEYS: the marker. ARGV: the revision the caller read, then field, value pairs: a compare-and-set.
_WRITE = """
if (redis.call('HGET', KEYS[1], 'rev') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(ARGV[1]) + 1), unpack(ARGV, 2))
return 1
"""


class RollbackDetected(redis.RedisError):
    """The server restarted and may have lost writes: authkit's keys were purged, this command did not run."""


class RecoveryInProgress(redis.RedisError):
    """Another worker is purging after a restart that may have lost writes: refuse until it is done."""


#: What a store built at start-up treats as "Redis is not there yet": it serves 503s until Redis answers.
UNAVAILABLE_AT_STARTUP = (redis.ConnectionError, RollbackDetected, RecoveryInProgress)


class _MarkerMoved(Exception):
    """Another connection wrote the marker between this one's read and its compare-and-set."""


class PersistenceWarning(UserWarning):
    """The Redis server's settings let a crash bring revoked credentials back."""


@dataclass
class _FakeRun:
    """What a restart changes on an in-process fakeredis server (it has no INFO): its run id."""

    address: str = field(default_factory=lambda: f"fakeredis:{secrets.token_hex(8)}")
    run_id: str = field(default_factory=lambda: secrets.token_hex(20))
    restarted: bool = False


_FAKE_RUNS: weakref.WeakKeyDictionary[fakeredis.FakeServer, _FakeRun] = weakref.WeakKeyDictionary()
# Runs this process has seen, by address: a marker that vanished during a run we saw was deleted by
# hand (FLUSHALL), not lost in a restart — run ids are random per start, so the same id means no restart.
_WITNESSED: dict[str, tuple[str, int]] = {}
_WITNESSED_LOCK = threading.Lock()


def fake_restarted(server: fakeredis.FakeServer) -> None:
    """Give an in-process server a new run id, as a restart gives a real one (see ``authkit.state.redis.restore``)."""
    run = _FAKE_RUNS.setdefault(server, _FakeRun())
    run.run_id, run.restarted = secrets.token_hex(20), True


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Recovery:
    """One purge this detector ran: when, which run it adopted, how many keys it deleted."""

    at_ms: int
    run_id: str
    keys_deleted: int
    not_before: int


class RollbackDetector:
    """A ``redis_connect_func``: checks each new connection's server for lost writes (see module doc).

    ``not_before`` (Unix seconds) is what ``AccessGuard`` compares ``iat`` with; ``recoveries`` lists
    the purges this detector ran.
    """

    def __init__(self, *, fake_server: fakeredis.FakeServer | None = None, marker: str = MARKER,
                 patterns: tuple[str, ...] = PURGE_PATTERNS, lease: timedelta = LEASE,
                 epoch_file: EpochFile | None = None) -> None:
        self.fake_server, self.marker, self.patterns = fake_server, marker, patterns
        self.lease_ms = int(lease.total_seconds() * 1000)
        self._not_before = 0
        self.recoveries: list[Recovery] = []
        self._lock = threading.Lock()
        if fake_server is not None:
            _FAKE_RUNS.setdefault(fake_server, _FakeRun())
        #: The revocation epoch (``authkit.state.epoch``), checked on every command of an ``EpochConnection``.
        self.epochs = Epochs(marker, lambda: self.patterns, file=epoch_file, lease_ms=self.lease_ms)

    @property
    def not_before(self) -> int:
        """Unix second before which access tokens are refused: the later of the two checks' purges."""
        return max(self._not_before, self.epochs.not_before)

    @not_before.setter
    def not_before(self, value: int) -> None:
        self._not_before = value

    def cover(self, prefix: str) -> None:
        """Purge ``<prefix>:*`` too: a store configured with a key prefix of its own."""
        if not any(fnmatch.fnmatchcase(f"{prefix}:key", pattern) for pattern in self.patterns):
            self.patterns = (*self.patterns, f"{prefix}:*")

    def __call__(self, conn: redis.Connection) -> None:
        """Handshake as usual, then check the server; raises a non-retried ``RedisError`` to abort."""
        quiet = getattr(conn, "quiet", None)
        if quiet is not None:
            conn.quiet = True  # the check's own commands carry no epoch probe
        try:
            conn.on_connect()
            for _ in range(3):  # connections opened together race to re-create a deleted marker: look again
                try:
                    return self._check(conn)
                except _MarkerMoved:
                    continue
            raise RecoveryInProgress("the durability marker kept changing while this connection checked it")
        finally:
            if quiet is not None:
                conn.quiet = False

    def _check(self, conn: redis.Connection) -> None:
        fake = _FAKE_RUNS[self.fake_server] if self.fake_server is not None else None
        reply = self._eval(conn, _CHECK, fake.run_id if fake else "")
        address = f"{fake.address if fake else _address(conn)}/{conn.db}"
        if reply[0] == "ok":
            return self._learn(address, reply[1], int(reply[2]))
        run, m_run, m_state, m_not_before, m_lease, m_rev, m_durable, replid2 = reply[1:]
        now = _now_ms()
        if m_run == run and m_state == "purging" and int(m_lease) > now:
            raise RecoveryInProgress("another worker is purging after a restart that may have lost writes")
        if not m_run and fake is not None and not fake.restarted:
            return self._learn(address, run, 0)  # an in-process server never restarted: nothing to lose, no marker
        with _WITNESSED_LOCK:
            witnessed = _WITNESSED.get(address)
        if not m_run and witnessed is not None and witnessed[0] == run:
            # The marker was deleted by hand during a run this process saw: nothing was lost in a restart.
            return self._settle(conn, address, run, m_rev, witnessed[1], _durable(conn, fake))
        durable = _durable(conn, fake)
        if m_run and m_run != run and durable and m_durable == "1" and replid2 in ("", _NO_REPLID):
            return self._settle(conn, address, run, m_rev, int(m_not_before), durable)  # AOF kept every write
        previous_run = bool(m_run and m_run != run) or (witnessed is not None and witnessed[0] != run)
        self._purge(conn, address, run, m_rev, durable, previous_run)

    # -- the cases --------------------------------------------------------------------------------
    def _settle(self, conn: redis.Connection, address: str, run: str, rev: str, not_before: int,
                durable: bool) -> None:
        """Adopt this run without purging (compare-and-set on the marker's revision)."""
        fields = ["run", run, "state", "ok", "not_before", str(not_before), "durable", "1" if durable else "0"]
        if not self._eval(conn, _WRITE, rev, *fields):
            raise _MarkerMoved
        self._learn(address, run, not_before)

    def _purge(self, conn: redis.Connection, address: str, run: str, rev: str, durable: bool,
               previous_run: bool) -> None:
        """Win the compare-and-set, delete authkit's keys, set not-before, abort the command in flight."""
        start = _now_ms()
        claim = ["run", run, "state", "purging", "lease", str(start + self.lease_ms)]
        if not self._eval(conn, _WRITE, rev, *claim):
            raise RecoveryInProgress("another worker is purging after a restart that may have lost writes")
        deleted = self._delete_keys(conn)
        not_before = start // 1000 + 1  # the next whole second: iat has one-second resolution
        time.sleep(max(0, not_before * 1000 - _now_ms()) / 1000)  # no token is issued before it
        done = ["state", "ok", "not_before", str(not_before), "durable", "1" if durable else "0"]
        if not self._eval(conn, _WRITE, str(int(rev) + 1), *done):
            raise RecoveryInProgress("another worker took over the purge")
        self._learn(address, run, not_before)
        with self._lock:
            self.recoveries.append(Recovery(start, run, deleted, not_before))
        if previous_run or deleted:
            raise RollbackDetected(
                f"the Redis server restarted without durable persistence: {deleted} authkit keys purged, "
                f"tokens issued before {not_before} refused; retry"
            )

    def _delete_keys(self, conn: redis.Connection) -> int:
        deleted = 0
        for pattern in self.patterns:
            cursor = "0"
            while True:
                conn.send_command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
                cursor, keys = conn.read_response()
                doomed = [key for key in keys if key != self.marker]
                if doomed:
                    conn.send_command("UNLINK", *doomed)
                    deleted += int(conn.read_response())
                if str(cursor) == "0":
                    break
        return deleted

    def _learn(self, address: str, run: str, not_before: int) -> None:
        with _WITNESSED_LOCK:
            _WITNESSED[address] = (run, not_before)
        with self._lock:
            self.not_before = not_before

    def _eval(self, conn: redis.Connection, script: str, *args: str) -> Any:
        conn.send_command("EVAL", script, 1, self.marker, *args)
        return conn.read_response()


def _address(conn: redis.Connection) -> str:
    return getattr(conn, "path", None) or f"{conn.host}:{conn.port}"


def _config(conn: redis.Connection) -> dict[str, str] | None:
    """The persistence settings, read on this connection; None if CONFIG GET is refused."""
    conn.send_command("CONFIG", "GET", "appendonly", "appendfsync")
    try:
        reply = conn.read_response()
    except redis.ResponseError:
        return None
    pairs = reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2])
    return {str(name): str(value) for name, value in pairs}


def _durable(conn: redis.Connection, fake: _FakeRun | None) -> bool:
    """True only for AOF with an fsync before every reply; a refused CONFIG GET is not durable."""
    if fake is not None:
        return False  # in-process: a restore is a restart from a snapshot
    settings = _config(conn)
    return settings is not None and settings.get("appendonly") == "yes" and settings.get("appendfsync") == "always"


def detector_of(client: redis.Redis) -> RollbackDetector | None:
    """The ``RollbackDetector`` hooked into ``client``'s connections, if any."""
    pool = getattr(client, "connection_pool", None)  # a RedisCluster has one pool per node: not covered
    hook = pool.connection_kwargs.get("redis_connect_func") if pool is not None else None
    return hook if isinstance(hook, RollbackDetector) else None


def cover(client: redis.Redis, prefix: str) -> None:
    """A store built with its own key prefix: make the purge after lost writes cover it (no-op unchecked)."""
    detector = detector_of(client)
    if detector is not None:
        detector.cover(prefix)


def revoking(client: redis.Redis) -> contextlib.AbstractContextManager[None]:
    """Wrap the command that writes a revocation: it carries the epoch's increment behind it.

    ``HINCRBY epoch 1`` travels in the same packet, right after the write, so it costs no round trip,
    and a Redis that loses the revocation loses the increment too (it loses writes as a suffix): its
    epoch falls below what this process saw, and is remembered here and in the host's file.
    """
    detector = detector_of(client)
    return revoking_epochs(detector.epochs if detector is not None and _checks_epochs(client) else None)


def _checks_epochs(client: redis.Redis) -> bool:
    pool = getattr(client, "connection_pool", None)
    return pool is not None and issubclass(pool.connection_class, EpochConnection)


def not_before(client: redis.Redis) -> int:
    """Unix second before which access tokens are refused (0: no lost writes detected; no detector)."""
    detector = detector_of(client)
    return detector.not_before if detector is not None else 0


@dataclass(frozen=True)
class PersistenceReport:
    """What a server's settings mean for revocation; ``as_dict()`` is the machine-readable form."""

    backend: str
    settings: dict[str, str]
    problems: tuple[str, ...]

    @property
    def durable(self) -> bool:
        """True when a crash cannot bring a revoked credential back."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: backend, durable, settings as read, problems, the settings revocation needs."""
        return {"backend": self.backend, "durable": self.durable, "settings": dict(self.settings),
                "problems": list(self.problems), "required": dict(REQUIRED_SETTINGS)}

    def __str__(self) -> str:
        if self.durable:
            return f"{self.backend}: persistence keeps every revocation ({_lines(self.settings)})"
        needed = "\n".join(f"    {name} {value}" for name, value in REQUIRED_SETTINGS.items())
        return (f"{self.backend}: a crash can bring revoked credentials back; authkit will log everyone out "
                f"after such a restart instead.\n  " + "\n  ".join(self.problems)
                + f"\n  To keep logins across restarts, set in redis.conf:\n{needed}")


def _lines(settings: dict[str, str]) -> str:
    return ", ".join(f"{name} {value}" for name, value in settings.items())


def check_persistence(client: redis.Redis, *, warn: bool = True) -> PersistenceReport:
    """Start-up check: read the server's persistence and eviction settings and judge them for revocation.

    For a real server whose settings fall short, warns (``PersistenceWarning``) with the settings to
    use; the embedded fakeredis is reported, not warned about. Call it before building the stores: it
    opens the client's first connection, so a restart detected now is handled before any request.
    """
    if isinstance(client, fakeredis.FakeRedis):
        return PersistenceReport("fakeredis (in-process)", {"persistence": "none"}, (
            "nothing survives the process; authkit.state.redis.restore() replays a snapshot as a restart would",))
    report = _server_report(client)
    if warn and not report.durable:
        warnings.warn(str(report), PersistenceWarning, stacklevel=2)
    return report


def _server_report(client: redis.Redis) -> PersistenceReport:
    deadline = time.monotonic() + LEASE.total_seconds()
    while True:  # a restart detected by this first connection aborts its command; a purge elsewhere, wait
        try:
            info = client.info("replication")
            settings = client.config_get("appendonly", "appendfsync", "save", "maxmemory", "maxmemory-policy")
            break
        except RollbackDetected:
            continue
        except RecoveryInProgress as err:
            if time.monotonic() > deadline:
                raise StoreUnavailable(message=f"the Redis server is being recovered ({err})") from err
            time.sleep(0.1)
        except redis.ResponseError as err:
            return PersistenceReport(_backend(client), {"config": "refused"}, (
                f"CONFIG GET is refused ({err}): persistence unknown, treated as not durable",))
        except redis.RedisError as err:
            raise StoreUnavailable(message=f"cannot check the Redis server's persistence ({err})") from err
    settings = {**settings, "role": info.get("role", "?")}
    problems = []
    if settings.get("appendonly") != "yes":
        problems.append(f"appendonly is {settings.get('appendonly')!r}: writes since the last snapshot "
                        f"(save {settings.get('save')!r}) are lost in a crash")
    elif settings.get("appendfsync") != "always":
        problems.append(f"appendfsync is {settings.get('appendfsync')!r}: up to a second of acknowledged "
                        "writes is lost in a crash")
    if settings.get("maxmemory", "0") != "0" and settings.get("maxmemory-policy") != "noeviction":
        problems.append(f"maxmemory-policy is {settings.get('maxmemory-policy')!r}: a full server evicts "
                        "denylist entries and versions")
    if info.get("connected_slaves", 0):
        problems.append("replication is asynchronous: a failover loses the last writes (authkit logs everyone "
                        "out when a promoted replica answers)")
    return PersistenceReport(_backend(client), settings, tuple(problems))


def _backend(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    return f"redis-server at {where}"
