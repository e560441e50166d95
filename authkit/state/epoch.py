"""A revocation epoch: what the services have seen, so that Redis cannot make them forget a revocation.

Every revocation, once written, increments a counter in Redis (``HINCRBY <prefix>:durability epoch 1``).
Redis loses writes only as a suffix (a stale snapshot, a dropped AOF, a replica that lagged, a flush), so
a lost revocation takes its increment with it: the counter goes back below what the services saw.
Each process remembers the highest epoch it has seen (in memory, and in a small file shared by the
processes of a host, outside Redis's data), and every command sent on a checked connection carries, in
the same packet, an ``HMGET`` of the counter: no extra round trip. A counter below the mark means Redis
lost writes, whatever Redis says about itself: one worker purges authkit's keys and publishes a
*not-before* time; every process refuses until it is done. Nobody is asked about run IDs or settings.
"""

from __future__ import annotations

import fcntl
import os
import contextvars
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import redis

FIELDS = ("epoch", "epoch_not_before", "epoch_lease")  # in the durability marker hash
FILE_ENV_VAR = "AUTHKIT_EPOCH_FILE"
#: Set inside ``revoking()``: the next command that succeeds carries the epoch's increment behind it.
_BUMP: contextvars.ContextVar[Epochs | None] = contextvars.ContextVar("authkit_epoch_bump", default=None)


@contextmanager
def revoking(epochs: Epochs | None) -> Iterator[None]:
    """The block writes a revocation: its command carries ``HINCRBY epoch 1`` behind it, in the same packet."""
    token = _BUMP.set(epochs)
    try:
        yield
    finally:
        _BUMP.reset(token)

# KEYS: the marker. ARGV: the mark this process saw, now (ms), the lease (ms). Claims the purge, unless
# another worker already repaired the counter (then nothing to do) or is purging (then wait).
_CLAIM = """
local epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
if epoch >= tonumber(ARGV[1]) then return 'repaired' end
if tonumber(redis.call('HGET', KEYS[1], 'epoch_lease') or '0') > tonumber(ARGV[2]) then return 'busy' end
redis.call('HSET', KEYS[1], 'epoch_lease', tostring(tonumber(ARGV[2]) + tonumber(ARGV[3])))
return 'claimed'
"""


class EpochFile:
    """The highest epoch the processes of this host have seen, in a file Redis cannot roll back."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: int | None = None
        self._value = 0

    def read(self) -> int:
        """The mark in the file (0 if none); re-read only when the file changed (one ``stat``)."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0
        if stamp != self._stamp:
            text = self.path.read_text().strip()
            self._stamp, self._value = stamp, int(text) if text.isdigit() else 0
        return self._value

    def raise_to(self, epoch: int) -> None:
        """Keep the larger of the file's mark and ``epoch`` (under a lock: workers write concurrently)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read().strip()
            if epoch > (int(text) if text.isdigit() else 0):
                handle.seek(0)
                handle.truncate()
                handle.write(f"{epoch}\n")
                handle.flush()


class Epochs:
    """One deployment's epoch: the mark this process saw, the file that keeps it, the purge it runs."""

    def __init__(self, marker: str, patterns: Callable[[], tuple[str, ...]], *, file: EpochFile | None = None,
                 lease_ms: int = 30_000) -> None:
        self.marker, self.patterns, self.file, self.lease_ms = marker, patterns, file, lease_ms
        self.mark = 0
        self.not_before = 0  # Unix seconds, published by the worker that purged
        self.purges: list[tuple[int, int, int]] = []  # (mark, keys deleted, not-before) of this process's purges
        self._lock = threading.Lock()

    def probe(self) -> tuple[str, ...]:
        """The command that travels in front of each checked command."""
        return ("HMGET", self.marker, *FIELDS)

    def bump(self) -> tuple[str, ...]:
        """The command that travels behind a revocation's write: executed after it, lost with it."""
        return ("HINCRBY", self.marker, "epoch", "1")

    def seen(self) -> int:
        """The highest epoch this process, or another on this host, has seen."""
        return max(self.mark, self.file.read() if self.file else 0)

    def learn(self, epoch: int, *, write: bool = False) -> None:
        """Raise the mark (and the file's, after a revocation this process made)."""
        with self._lock:
            self.mark = max(self.mark, epoch)
        if write and self.file is not None:
            self.file.raise_to(epoch)

    def observe(self, conn: redis.Connection, reply: Any, seen: int | None = None) -> None:
        """Judge one probe's reply; purges and raises (after the caller drained its reply) when Redis went back.

        ``seen`` is the mark as it was when the probe was sent: a reply to a probe that Redis ran before
        another thread's revocation may arrive after that thread raised the mark, and is no rollback."""
        from authkit.state.durability import RecoveryInProgress, RollbackDetected

        epoch, not_before, lease = (int(value or 0) for value in reply)
        if not_before > self.not_before:
            self.not_before = not_before
        if lease > _now_ms():
            raise RecoveryInProgress("another worker is purging after Redis lost revocations")
        seen = self.seen() if seen is None else seen
        if epoch >= seen:
            self.learn(epoch)
            return
        side = redis.Connection(host=conn.host, port=conn.port, db=conn.db, username=conn.username,
                                password=conn.password, socket_timeout=30, decode_responses=True)
        try:  # a connection of its own: ``conn`` may still hold a pipeline's replies
            outcome = self._run(side, "EVAL", _CLAIM, 1, self.marker, seen, _now_ms(), self.lease_ms)
            if outcome == "busy":
                raise RecoveryInProgress("another worker is purging after Redis lost revocations")
            if outcome == "repaired":
                raise RollbackDetected("Redis lost revocations; another worker purged authkit's keys: retry")
            start = _now_ms()
            deleted = purge_keys(side, self.patterns(), keep=self.marker)
            self._run(side, "HSET", self.marker, "epoch", seen + 1, "epoch_not_before", start // 1000 + 1,
                      "epoch_lease", 0)
        finally:
            side.disconnect()
        not_before = start // 1000 + 1  # the next whole second: iat has one-second resolution
        time.sleep(max(0, not_before * 1000 - _now_ms()) / 1000)  # no token is issued before it
        self.learn(seen + 1, write=True)
        self.not_before = max(self.not_before, not_before)
        self.purges.append((seen, deleted, not_before))
        raise RollbackDetected(f"Redis's revocation epoch is {epoch}, below the {seen} this host saw: it lost "
                               f"writes; {deleted} authkit keys purged, tokens issued before {not_before} refused")

    @staticmethod
    def _run(conn: redis.Connection, *args: Any) -> Any:
        conn.send_command(*args)
        return conn.read_response()


class EpochConnection(redis.Connection):
    """A connection that sends the epoch probe in front of every command, in the same packet."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = 0
        self._trailing = False  # an epoch increment follows the command's reply
        self._seen_at_send = 0
        self.quiet = False  # the durability hook's own commands, and a purge, travel without a probe

    def _epochs(self) -> Epochs | None:
        return getattr(self.redis_connect_func, "epochs", None)

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        epochs = self._epochs()
        if epochs is None or self.quiet:
            return super().send_packed_command(command, check_health)
        chunks = [command.encode() if isinstance(command, str) else command] \
            if isinstance(command, (str, bytes)) else list(command)
        # Not behind a health check's PING, nor behind SCRIPT LOAD (a NOSCRIPT retry): behind the write.
        bump = _BUMP.get() is epochs and check_health and b"\r\nSCRIPT\r\n" not in bytes(chunks[0][:32])
        tail = self._command_packer.pack(*epochs.bump()) if bump else []
        self._seen_at_send = epochs.seen()  # what any reply to this probe must at least show
        super().send_packed_command([*self._command_packer.pack(*epochs.probe()), *chunks, *tail], check_health)
        self._pending += 1
        self._trailing = bump

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        if not self._pending:
            return super().read_response(*args, **kwargs)
        self._pending = 0
        try:
            probe = super().read_response()
            try:
                response: Any = super().read_response(*args, **kwargs)
            except redis.ResponseError as err:
                response = err
            bumped = None
            if self._trailing:
                try:
                    bumped = int(super().read_response())
                except redis.ResponseError:  # at maxmemory Redis refuses the increment (it may grow memory)
                    _BUMP.set(None)  # yet ran the revocation, which only deletes: serve it; the epoch misses it
            self._trailing = False
            epochs = self._epochs()
            if epochs is not None:
                epochs.observe(self, [_text(value) for value in probe], self._seen_at_send)
                if bumped is not None:
                    if isinstance(response, redis.ResponseError):
                        _BUMP.set(epochs)  # the write did not happen (NOSCRIPT): the retry carries it
                    else:
                        _BUMP.set(None)
                    epochs.learn(bumped, write=True)
        except Exception:
            self.disconnect()  # replies may be left unread (a pipeline's): the socket is out of step
            raise
        if isinstance(response, redis.ResponseError):
            raise response
        return response

    def disconnect(self, *args: Any) -> None:
        self._pending, self._trailing = 0, False
        super().disconnect(*args)


def purge_keys(conn: redis.Connection, patterns: tuple[str, ...], *, keep: str) -> int:
    """SCAN and UNLINK every key matching ``patterns`` but ``keep``, on this connection; how many went."""
    deleted = 0
    for pattern in patterns:
        cursor = "0"
        while True:
            conn.send_command("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            cursor, keys = conn.read_response()
            doomed = [key for key in keys if _text(key) != keep]
            if doomed:
                conn.send_command("UNLINK", *doomed)
                deleted += int(conn.read_response())
            if _text(cursor) == "0":
                break
    return deleted


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


def _now_ms() -> int:
    return int(time.time() * 1000)
