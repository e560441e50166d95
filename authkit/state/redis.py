"""One place to get a Redis client: fakeredis in-process by default, a real server on request.

Every client ``connect()`` returns checks each new connection for a server that restarted having lost
writes (``authkit.state.durability``), so revoked sessions and tokens never come back after a crash.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import fakeredis
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from authkit.state import durability
from authkit.state.epoch import FIELDS, FILE_ENV_VAR, EpochConnection, EpochFile
from authkit.errors import StoreUnavailable

ENV_VAR = "AUTHKIT_REDIS_URL"

#: fakeredis speaks the command set of this server version (Debian's redis-server).
EMULATED_VERSION = (7, 0)

#: Reconnect once when a pooled socket turns out dead (a restarted server); never resend after a
#: timeout, because the command may have run: the caller answers 503 and the client retries itself.
RETRY = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))

_shared_fake_server = fakeredis.FakeServer()


def connect(url: str | None = None, *, fresh: bool = False, detect_rollback: bool = True,
            prefix: str = "authkit", epoch_file: str | os.PathLike[str] | None = None,
            epochs: bool = True) -> redis.Redis:
    """A client for ``url``, else ``$AUTHKIT_REDIS_URL``, else an in-process fakeredis.

    fakeredis clients share one in-process server unless ``fresh`` asks for a new one. All clients
    decode replies to ``str``. ``detect_rollback=False`` leaves out the durability checks (a
    ``durability.RollbackDetector`` run once per new connection, and on a real server the revocation
    epoch probed with every command): only to show what they prevent; ``epochs=False`` leaves out the
    second one only. ``prefix`` names the deployment's keys (the marker ``<prefix>:durability`` and what
    a purge deletes); ``epoch_file``, else ``$AUTHKIT_EPOCH_FILE``, is where this host keeps the highest
    epoch its processes saw, so that a process started after Redis lost writes knows it too.
    """
    url = url if url is not None else os.environ.get(ENV_VAR) or None
    if url is None:
        server = fakeredis.FakeServer() if fresh else _shared_fake_server
        hook = durability.RollbackDetector(fake_server=server) if detect_rollback else None
        pool = redis.ConnectionPool(
            connection_class=fakeredis.FakeRedisConnection, server=server, version=EMULATED_VERSION,
            decode_responses=True, retry=RETRY, redis_connect_func=hook,
        )
        return fakeredis.FakeRedis(connection_pool=pool)
    path = epoch_file if epoch_file is not None else os.environ.get(FILE_ENV_VAR) or None
    hook = durability.RollbackDetector(marker=f"{prefix}:durability", patterns=(f"{prefix}:*",),
                                       epoch_file=EpochFile(path) if path else None) if detect_rollback else None
    tcp = url.startswith("redis://")  # TLS and unix sockets keep the connect-time check only
    extra = {"connection_class": EpochConnection} if hook is not None and epochs and tcp else {}
    return redis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=1.0, socket_timeout=2.0, retry=RETRY,
        redis_connect_func=hook, **extra,
    )


def is_fake(client: redis.Redis) -> bool:
    """True for an in-process fakeredis client."""
    return isinstance(client, fakeredis.FakeRedis)


def describe(client: redis.Redis) -> str:
    """A one-line, human description of the backend behind ``client``."""
    if is_fake(client):
        return "fakeredis (in-process, embedded default)"
    kwargs = client.connection_pool.connection_kwargs
    where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    version = client.info("server")["redis_version"]
    return f"redis-server {version} at {where}"


@contextmanager
def fail_closed(store: str) -> Iterator[None]:
    """Turn any Redis failure into ``StoreUnavailable``: the caller answers 503, never accepts."""
    try:
        yield
    except redis.RedisError as err:
        raise StoreUnavailable(message=f"the {store} is unavailable ({type(err).__name__}: {err})") from err


@dataclass
class CommandLog:
    """Commands a real server received from clients (not from inside scripts)."""

    commands: list[str] = field(default_factory=list)
    #: Epoch reads and increments (``authkit.state.epoch``): each travels in the packet of the command it
    #: goes with and comes back with its reply, so it is one more command for the server but no round trip.
    piggybacked: int = 0

    @property
    def round_trips(self) -> int:
        """One command sent by a client is one round trip (pipelines would count as several)."""
        return len(self.commands)


_PROBE_TAILS = (" " + " ".join(FIELDS), ":durability epoch 1")  # the epoch's read, and its increment


@contextmanager
def count_round_trips(client: redis.Redis) -> Iterator[CommandLog]:
    """Record, from the server's MONITOR stream, every command the block sends.

    Commands a Lua script runs inside the server are not round trips and are left out. The watcher
    waits without a socket timeout, however long the block stays silent (a scrypt login on a loaded
    machine); if its stream breaks off anyway, leaving the block raises ``RuntimeError``: a count that
    may be short is never returned. Needs a real server: fakeredis has no MONITOR.
    """
    if is_fake(client):
        raise TypeError("count_round_trips needs a real redis-server (fakeredis has no MONITOR)")
    log = CommandLog()
    token = uuid.uuid4().hex
    armed_marker, end_marker = f"authkit-armed-{token}", f"authkit-end-{token}"
    # The watcher: no durability check, and no socket timeout (the client's 2 s would end a silent wait).
    kwargs = {**client.connection_pool.connection_kwargs, "redis_connect_func": None, "socket_timeout": None}
    watcher = redis.Redis(connection_pool=redis.ConnectionPool(**kwargs))
    armed, ended, finished = threading.Event(), threading.Event(), threading.Event()
    failures: list[Exception] = []

    def listen() -> None:
        try:
            with watcher.monitor() as monitor:
                for entry in monitor.listen():
                    command = entry["command"]
                    if end_marker in command:
                        ended.set()
                        return
                    if armed_marker in command:
                        armed.set()
                    elif armed.is_set() and entry.get("client_type") != "lua":
                        if command.startswith(("HMGET ", "HINCRBY ")) and command.endswith(_PROBE_TAILS):
                            log.piggybacked += 1
                        else:
                            log.commands.append(command)
        except Exception as err:  # the stream broke off: reported when the block ends, never swallowed
            failures.append(err)
        finally:
            finished.set()

    threading.Thread(target=listen, daemon=True, name="authkit-round-trip-count").start()
    while not armed.wait(0.01):
        if finished.is_set():
            watcher.close()
            cause = failures[0] if failures else None
            raise RuntimeError("the MONITOR watcher could not start counting") from cause
        client.echo(armed_marker)
    try:
        yield log
    finally:
        with suppress(redis.RedisError):  # the block's own error, if any, is the one to see
            client.echo(end_marker)
        finished.wait(10)
        watcher.close()
    if not ended.is_set():
        cause = failures[0] if failures else None
        raise RuntimeError(f"the MONITOR watcher was lost after {log.round_trips} commands: the count would be "
                           "short, so there is none") from cause


@dataclass(frozen=True)
class Snapshot:
    """An in-process server's data as an RDB file holds it: each key's DUMP and its expiry (ms, -1: none)."""

    db: int
    entries: tuple[tuple[bytes, bytes, int], ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.entries)


def _raw_fake(client: redis.Redis) -> redis.Redis:
    """A bytes client on the same in-process server and database, with no durability check."""
    if not is_fake(client):
        raise TypeError("snapshot/restore emulate a restart of the in-process fakeredis; for a real server "
                        "use LocalRedisServer.snapshot(), kill() and restart()")
    kwargs = client.connection_pool.connection_kwargs
    return fakeredis.FakeRedis(server=kwargs["server"], db=kwargs.get("db", 0), version=EMULATED_VERSION)


def snapshot(client: redis.Redis) -> Snapshot:
    """What BGSAVE writes, for the embedded fakeredis (which has none): every key of the client's database."""
    raw = _raw_fake(client)
    dumped = ((key, raw.dump(key), int(raw.pexpiretime(key))) for key in raw.scan_iter(count=1000))
    entries = tuple(entry for entry in dumped if entry[1] is not None)  # None: it expired meanwhile
    return Snapshot(client.connection_pool.connection_kwargs.get("db", 0), entries)


def restore(client: redis.Redis, saved: Snapshot) -> None:
    """Restart the in-process server from ``saved``, as redis-server restarts from its RDB file.

    Everything written since the snapshot is lost, keys whose expiry passed meanwhile are dropped,
    every client connection is closed and the server gets a new run id.
    """
    raw = _raw_fake(client)
    raw.flushall()
    now_ms = int(time.time() * 1000)
    for key, payload, expires_ms in saved.entries:
        if expires_ms < 0 or expires_ms > now_ms:
            raw.restore(key, 0 if expires_ms < 0 else expires_ms - now_ms, payload)
    durability.fake_restarted(client.connection_pool.connection_kwargs["server"])
    raw.client_kill_filter(_type="normal", skipme=False)


class LocalRedisServer:
    """A throwaway ``redis-server`` on a free loopback port, in its own temp dir.

    No persistence unless asked: ``save`` takes redis.conf's save points ("" for none, snapshots then come
    only from ``snapshot()``), ``appendonly``/``appendfsync`` the AOF. ``kill()`` (SIGKILL, nothing saved),
    ``restart()`` (same port, same dir: it loads what it finds there), ``pause()``/``resume()``
    (SIGSTOP/SIGCONT) let tests crash and stall it. Used by the tests, the benchmarks and the notebooks.
    """

    def __init__(self, binary: str | None = None, *, save: str = "", appendonly: bool = False,
                 appendfsync: str = "everysec", args: Sequence[str] = ()) -> None:
        self.binary = binary or shutil.which("redis-server")
        if self.binary is None:
            raise FileNotFoundError("redis-server is not installed (Debian: apt-get install redis-server)")
        self._workdir = tempfile.TemporaryDirectory(prefix="authkit-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.arguments = [
            "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self._workdir.name, "--save", save,
            "--appendonly", "yes" if appendonly else "no", "--appendfsync", appendfsync, *args,
        ]
        self._start()

    def _start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, *self.arguments], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        self._wait_until_ready()

    def _wait_until_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        while True:
            try:
                probe.ping()
                probe.close()
                return
            except (redis.ConnectionError, redis.BusyLoadingError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def admin(self) -> redis.Redis:
        """A plain client with no durability check, for operating the server (BGSAVE, INFO, CONFIG)."""
        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_connect_timeout=1.0)

    def client(self) -> redis.Redis:
        """A client of this server, configured like ``connect()``'s."""
        return connect(self.url)

    def snapshot(self, timeout: float = 10.0) -> None:
        """BGSAVE and wait until the RDB file is written (what Debian's save points do on their own)."""
        with self.admin() as admin:
            before = admin.info("persistence")["rdb_saves"]
            admin.bgsave()
            deadline = time.monotonic() + timeout
            while (state := admin.info("persistence"))["rdb_bgsave_in_progress"] or state["rdb_saves"] == before:
                if time.monotonic() > deadline:
                    raise RuntimeError("BGSAVE did not finish")
                time.sleep(0.02)
            if state["rdb_last_bgsave_status"] != "ok":
                raise RuntimeError("BGSAVE failed")

    def kill(self) -> None:
        """``kill -9``: the server dies at once, saving nothing."""
        self.resume()
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> None:
        """Start again on the same port and in the same dir (after ``kill()`` or a crash)."""
        if self.process.poll() is None:
            self.kill()
        self._start()

    def pause(self) -> None:
        """SIGSTOP: the server stops answering, connections stay open (a stall)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: the server carries on with what it had received."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(10)
        self._workdir.cleanup()

    def __enter__(self) -> "LocalRedisServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
