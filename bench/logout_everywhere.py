"""How long log-out-everywhere blocks Redis, per session, measured by the server itself.

Gives one user N sessions on the bench's throwaway redis-server (emptied first), resets the server's
statistics, runs ``destroy_all`` (one EVALSHA), and reads the microseconds the server spent in it from ``INFO
commandstats``: while a script runs, Redis serves nobody else. Best of several runs, since another
process on the machine can only make a run slower. The floor row deletes the same records with a
plain ``ZRANGE`` and ``DEL`` from the client: what deleting one key per session costs by itself.

    .venv/bin/python bench/logout_everywhere.py
"""

from __future__ import annotations

import redis

from authkit import SessionStore
from authkit.study.measure import Bench, Row

NAME = "logout_everywhere"
GOAL = 0.3  # µs of Redis time per session ended
FLOOR = "floor: client ZRANGE + DEL"
SIZES = (100, 1000, 5000)  # sessions of one user


def clear(client: redis.Redis) -> None:
    """Every key but the durability marker: a FLUSHALL would lower the revocation epoch, which is a rollback."""
    keys = [key for key in client.scan_iter("*") if not key.endswith(":durability")]
    if keys:
        client.delete(*keys)


def script_microseconds(client: redis.Redis, store: SessionStore, sessions: int, *, keep: bool) -> float:
    """Server µs of one log-out-everywhere over ``sessions`` sessions (plus one kept when ``keep``)."""
    clear(client)
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
    clear(client)
    for _ in range(sessions):
        store.create("alice")
    index = store.key("alice", "index")
    client.config_resetstat()
    handles = client.zrange(index, 0, -1)
    client.delete(*(store.key("alice", handle) for handle in handles), index)
    stats = client.info("commandstats")
    return float(stats["cmdstat_zrange"]["usec"] + stats["cmdstat_del"]["usec"])


def rows(bench: Bench) -> list[Row]:
    """Best-of-5 server µs per session for each size (fewer with fewer rounds): everywhere, all but one, the floor."""
    repeats = min(5, bench.rounds)
    client = bench.client()
    store = SessionStore(client)
    found = []
    for size in SIZES:
        bench.say(f"{size} sessions")
        for variant, run in (
            ("everywhere", lambda: script_microseconds(client, store, size, keep=False)),
            ("everywhere but this one", lambda: script_microseconds(client, store, size, keep=True)),
            (FLOOR, lambda: floor_microseconds(client, store, size)),
        ):
            best = min(run() for _ in range(repeats))
            label = f"{FLOOR}, {size} sessions" if variant == FLOOR else f"log out {variant}, {size} sessions"
            found.append(Row(NAME, label, round(best / size, 3), "µs per session",
                             goal=None if variant == FLOOR else GOAL, clock="cpu",
                             note=f"{best:.0f} µs inside redis-server (INFO commandstats), best of {repeats}"))
    return found


if __name__ == "__main__":
    import harness

    harness.main([rows])
