"""The login throttle's check next to a bare INCR + PEXPIRE pipeline on two keys, on a throwaway redis-server.

The anchor is the least a per-account and per-address counter can cost: one pipeline of INCR and
PEXPIRE on each key (one round trip, four commands). authkit's check is one EVALSHA over both
counters (one round trip, one command) that also computes the growing delay.

    .venv/bin/python bench/login_throttle.py [--rounds R]
"""

from __future__ import annotations

import itertools

import redis

from authkit.login.throttle import LoginThrottle
from authkit.study.measure import Bench, Row, round_trips, side_by_side

NAME = "login_throttle"
GOAL = 1.3
ANCHOR = "redis-py pipeline: INCR + PEXPIRE on two keys"


def calls(client: redis.Redis) -> dict[str, object]:
    """The anchor, and authkit's check (spread over many names and addresses, so none is ever delayed)."""
    throttle = LoginThrottle(client)
    names = itertools.count()

    def bare() -> object:
        pipe = client.pipeline(transaction=False)
        n = next(names) % 100_000
        for key in (f"bench:{{login}}:a:{n}", f"bench:{{login}}:c:{n}"):
            pipe.incr(key)
            pipe.pexpire(key, 3_600_000)
        return pipe.execute()

    def check() -> object:
        n = next(names) % 100_000
        return throttle.attempt(f"user{n}", f"198.51.{n // 256 % 256}.{n % 256}")

    return {ANCHOR: bare, "authkit LoginThrottle.attempt (account + address)": check}


def rows(bench: Bench) -> list[Row]:
    """CPU (client + server) ratio to the bare pipeline, and the round trips the server counts."""
    client = bench.client()
    measured = calls(client)
    compared = side_by_side(measured, rounds=bench.rounds, server=client, progress=bench.progress("throttle"))
    found = [c.row(NAME, goal=None if c.name == ANCHOR else GOAL) for c in compared]
    found.append(Row(NAME, "authkit LoginThrottle.attempt", float(round_trips(measured[
        "authkit LoginThrottle.attempt (account + address)"], client)), "round trips",
        note="commands counted by redis-server (MONITOR) per attempt; the anchor sends 4"))
    return found


if __name__ == "__main__":
    import harness

    harness.main([rows])
