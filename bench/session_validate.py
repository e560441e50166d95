"""CPU per session validate, next to a bare redis-py GETEX, on a throwaway redis-server.

Each figure is client CPU (this process) plus server CPU (``INFO cpu`` of redis-server) per call, as a
ratio to the anchor timed in the same interleaved rounds (``authkit.study.measure.side_by_side``). The anchor
is ``client.getex(key, pxat=…)`` on a string of the session record's size: the least any store can do
to read a record and slide its expiry in one round trip. The EVALSHA row is the floor of the script
the half policy runs: what any one-round-trip design that keeps its features pays in Redis.

    .venv/bin/python bench/session_validate.py [--rounds R]
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from authkit import SessionStore
from authkit.study.measure import Bench, Row, side_by_side
from authkit.state.sessions import _TOUCH

NAME = "session_validate"
GOAL = 1.3
ANCHOR = "redis-py GETEX"
NOTES = {"authkit validate, slide half (no write due)":
         "the half policy runs a script even when no write is due: its floor is the EVALSHA row"}


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


def rows(bench: Bench) -> list[Row]:
    """Each call's client + server CPU as a ratio to the bare GETEX, side by side on the shared server."""
    client = bench.client()
    measured = calls(client)
    compared = side_by_side(measured, rounds=bench.rounds, server=client, progress=bench.progress("validate"))
    return [c.row(NAME, goal=None if c.name.startswith("redis-py") else GOAL, note=NOTES.get(c.name, ""))
            for c in compared]


if __name__ == "__main__":
    import harness

    harness.main([rows])
