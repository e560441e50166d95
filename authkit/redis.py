"""One place to get a Redis client: fakeredis in-process by default, a real server on request."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import fakeredis
import redis

from authkit.errors import StoreUnavailable

ENV_VAR = "AUTHKIT_REDIS_URL"

#: fakeredis speaks the command set of this server version (Debian's redis-server).
EMULATED_VERSION = (7, 0)

_shared_fake_server = fakeredis.FakeServer()


def connect(url: str | None = None, *, fresh: bool = False) -> redis.Redis:
    """A client for ``url``, else ``$AUTHKIT_REDIS_URL``, else an in-process fakeredis.

    fakeredis clients share one in-process server unless ``fresh`` asks for a new one.
    All clients decode replies to ``str``.
    """
    url = url if url is not None else os.environ.get(ENV_VAR) or None
    if url is None:
        server = fakeredis.FakeServer() if fresh else _shared_fake_server
        return fakeredis.FakeRedis(
            server=server, version=EMULATED_VERSION, decode_responses=True
        )
    return redis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=1.0, socket_timeout=2.0
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

    @property
    def round_trips(self) -> int:
        """One command sent by a client is one round trip (pipelines would count as several)."""
        return len(self.commands)


@contextmanager
def count_round_trips(client: redis.Redis) -> Iterator[CommandLog]:
    """Record, from the server's MONITOR stream, every command the block sends.

    Commands a Lua script runs inside the server are not round trips and are left
    out. Needs a real server: fakeredis has no MONITOR.
    """
    if is_fake(client):
        raise TypeError("count_round_trips needs a real redis-server (fakeredis has no MONITOR)")
    log = CommandLog()
    token = uuid.uuid4().hex
    armed_marker, end_marker = f"authkit-armed-{token}", f"authkit-end-{token}"
    watcher = redis.Redis(connection_pool=redis.ConnectionPool(**client.connection_pool.connection_kwargs))
    armed, finished = threading.Event(), threading.Event()

    def listen() -> None:
        with watcher.monitor() as monitor:
            for entry in monitor.listen():
                command = entry["command"]
                if end_marker in command:
                    break
                if armed_marker in command:
                    armed.set()
                elif armed.is_set() and entry.get("client_type") != "lua":
                    log.commands.append(command)
        finished.set()

    threading.Thread(target=listen, daemon=True).start()
    while not armed.wait(0.01):
        client.echo(armed_marker)
    try:
        yield log
    finally:
        client.echo(end_marker)
        finished.wait(5)
        watcher.close()


class LocalRedisServer:
    """A throwaway ``redis-server`` on a free loopback port: temp dir, no persistence.

    Used by the tests, the benchmarks and the notebooks that want a real server.
    """

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or shutil.which("redis-server")
        if self.binary is None:
            raise FileNotFoundError("redis-server is not installed (Debian: apt-get install redis-server)")
        self._workdir = tempfile.TemporaryDirectory(prefix="authkit-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self._workdir.name],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
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
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def client(self) -> redis.Redis:
        """A client of this server, configured like ``connect()``'s."""
        return connect(self.url)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if self.process.poll() is None:
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
