"""CPU per session validate, next to a bare redis-py GETEX, on a throwaway redis-server.

Each row's cost is client CPU (this process) plus server CPU (``INFO cpu`` of redis-server) per call,
measured in small batches that take turns in a shuffled order, so that load from other processes
falls on every row alike; the µs are the median batch's, the ratio the median over rounds of each
round's ratio to the anchor's batch. The anchor is ``client.getex(key,
pxat=…)`` on a string of the session record's size: the least any store can do to read a record and
slide its expiry in one round trip.

    .venv/bin/python bench/session_validate.py
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

import redis

from authkit import SessionStore
from authkit.redis import LocalRedisServer
from authkit.sessions import _TOUCH

Row = tuple[str, float, float, float]  # label, client µs, server µs, ratio of client + server to the anchor
ANCHOR = "redis-py GETEX (anchor)"


def server_cpu(client: redis.Redis) -> float:
    """Seconds of CPU the server has used (user + system)."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def calls(client: redis.Redis) -> dict[str, Callable[[], object]]:
    """The measured calls: the bare GETEX anchor, then authkit's validate under each slide policy."""
    always, half = SessionStore(client), SessionStore(client, slide="half")
    alice, bob = always.create("alice", roles=("admin", "transfer"), label="laptop"), half.create("bob", label="phone")
    anchor = "bench:{u:carol}:" + "0" * 64
    client.set(anchor, "L|1767690000000|1767718800000||admin transfer||laptop")
    far = int(time.time() * 1000) + 3_600_000
    touch = client.script_load(_TOUCH)
    return {
        ANCHOR: lambda: client.getex(anchor, pxat=far),
        "redis-py EVALSHA of the half policy's script (its floor)": lambda: client.evalsha(touch, 1, anchor, far, 0),
        "authkit validate, slide always": lambda: always.validate(alice.id),
        "authkit validate, slide half (no write due)": lambda: half.validate(bob.id),
    }


def measure(client: redis.Redis, *, rounds: int = 60, batch: int = 200, seed: int = 0) -> list[Row]:
    """Median client and server µs per call for each row, batches interleaved in a shuffled order."""
    measured = calls(client)
    for call in measured.values():  # warm up: scripts loaded, connections open
        for _ in range(50):
            call()
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in measured}
    order = list(measured)
    shuffle = random.Random(seed).shuffle
    for _ in range(rounds):
        shuffle(order)
        for label in order:
            call = measured[label]
            server_before, client_before = server_cpu(client), time.process_time()
            for _ in range(batch):
                call()
            client_after = time.process_time()
            server_after = server_cpu(client)
            samples[label].append(((client_after - client_before) / batch, (server_after - server_before) / batch))
    anchor = [c + s for c, s in samples[ANCHOR]]  # each round's ratio pairs batches run moments apart
    return [(label, statistics.median(c for c, _ in pairs) * 1e6, statistics.median(s for _, s in pairs) * 1e6,
             statistics.median((c + s) / a for (c, s), a in zip(pairs, anchor))) for label, pairs in samples.items()]


def rows() -> list[Row]:
    """The table, measured on a fresh throwaway redis-server (for a benchmark harness)."""
    with LocalRedisServer() as server:
        return measure(server.client())


def main() -> None:
    print("CPU per call (client + server), median of interleaved batches, on a throwaway redis-server\n")
    table = rows()
    width = max(len(label) for label, *_ in table)
    print(f"{'call':<{width}}  {'client µs':>9}  {'server µs':>9}  {'× GETEX':>7}")
    for label, client_us, server_us, ratio in table:
        print(f"{label:<{width}}  {client_us:>9.1f}  {server_us:>9.1f}  {ratio:>7.2f}")


if __name__ == "__main__":
    main()
