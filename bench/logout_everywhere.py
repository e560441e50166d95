"""How long log-out-everywhere blocks Redis, per session, measured by the server itself.

Gives one user N sessions on a throwaway redis-server, resets the server's statistics, runs
``destroy_all`` (one EVALSHA), and reads the microseconds the server spent in it from ``INFO
commandstats``: while a script runs, Redis serves nobody else. Best of several runs, since another
process on the machine can only make a run slower. The floor row deletes the same records with a
plain ``ZRANGE`` and ``DEL`` from the client: what deleting one key per session costs by itself.

    .venv/bin/python bench/logout_everywhere.py
"""

from __future__ import annotations

import redis

from authkit import SessionStore
from authkit.redis import LocalRedisServer

Row = tuple[str, int, float, float]  # variant, sessions, µs in Redis, µs per session


def script_microseconds(client: redis.Redis, store: SessionStore, sessions: int, *, keep: bool) -> float:
    """Server µs of one log-out-everywhere over ``sessions`` sessions (plus one kept when ``keep``)."""
    client.flushall()
    for _ in range(sessions):
        store.create("alice")
    kept = store.create("alice").id if keep else None
    client.config_resetstat()
    store.destroy_all("alice", keep=kept)
    return float(client.info("commandstats")["cmdstat_evalsha"]["usec"])


def floor_microseconds(client: redis.Redis, store: SessionStore, sessions: int) -> float:
    """Server µs of the least any one-key-per-session store does: ZRANGE the index, then DEL every record.

    Sent as two plain commands by the client (not atomic, so not a usable log-out-everywhere): the floor
    the script is compared with.
    """
    client.flushall()
    for _ in range(sessions):
        store.create("alice")
    index = store.key("alice", "index")
    client.config_resetstat()
    handles = client.zrange(index, 0, -1)
    client.delete(*(store.key("alice", handle) for handle in handles), index)
    stats = client.info("commandstats")
    return float(stats["cmdstat_zrange"]["usec"] + stats["cmdstat_del"]["usec"])


def rows(sizes: tuple[int, ...] = (100, 1000, 5000), repeats: int = 5) -> list[Row]:
    """Best-of-``repeats`` server time per size: "everywhere", "everywhere but this one", and the floor."""
    measured = []
    with LocalRedisServer() as server:
        client = server.client()
        store = SessionStore(client)
        for size in sizes:
            for variant, run in (
                ("everywhere", lambda: script_microseconds(client, store, size, keep=False)),
                ("everywhere but this one", lambda: script_microseconds(client, store, size, keep=True)),
                ("floor: client ZRANGE + DEL", lambda: floor_microseconds(client, store, size)),
            ):
                best = min(run() for _ in range(repeats))
                measured.append((variant, size, best, best / size))
    return measured


def main() -> None:
    print("Log-out-everywhere: time spent inside redis-server (INFO commandstats), best of 5\n")
    print(f"{'variant':<26}  {'sessions':>8}  {'µs in Redis':>11}  {'µs per session':>14}")
    for variant, size, total, per in rows():
        print(f"{variant:<26}  {size:>8}  {total:>11.0f}  {per:>14.3f}")


if __name__ == "__main__":
    main()
