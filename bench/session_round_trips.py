"""Redis round trips per authenticated request: authkit's session store next to common patterns.

Counts from a throwaway redis-server's MONITOR stream what each request costs. The "pattern of …" rows replay, with plain redis-py calls, the commands those
libraries send per request with a Redis backend; they are labelled patterns, not the libraries.
Further rows count Redis writes over a simulated working day (fakeredis, virtual time).

    .venv/bin/python bench/session_round_trips.py
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import redis
import time_machine

from authkit import SessionStore
from authkit.study.measure import Bench, Row
from authkit.state.redis import connect, count_round_trips

NAME = "session_round_trips"
Request = Callable[[], object]
Case = tuple[str, Request, Request | None]  # label, the request, set-up run before counting


def authkit_rows(client: redis.Redis) -> list[Case]:
    """authkit's own operations in steady state, then the one request that follows a script flush."""
    always, half = SessionStore(client), SessionStore(client, slide="half")
    alice, bob, dave = always.create("alice"), half.create("bob"), always.create("dave")
    for _ in range(3):
        always.create("erin")
    return [
        ("authkit validate + slide (always)", lambda: always.validate(alice.id), None),
        ("authkit validate (half, no write due)", lambda: half.validate(bob.id), None),
        ("authkit login (create)", lambda: always.create("carol"), None),
        ("authkit logout (destroy)", lambda: always.destroy(dave.id), None),
        ("authkit log out everywhere (3 sessions)", lambda: always.destroy_all("erin"), None),
        # the script cache emptied (SCRIPT FLUSH), the server kept running: the first EVALSHA is answered NOSCRIPT,
        # the store loads and retries. A real restart costs more on the new connection: HELLO and the durability
        # check's EVAL, and, unless the server runs appendonly with appendfsync always, a purge of authkit's keys
        # (everyone logged out: see authkit.state.durability)
        ("authkit validate (half), first after SCRIPT FLUSH", lambda: half.validate(bob.id), client.script_flush),
    ]


def pattern_rows(client: redis.Redis) -> list[Case]:
    """The per-request commands of other stacks, replayed on a key of their own shape."""
    key, ttl = f"session:{secrets.token_urlsafe(32)}", 1800
    client.set(key, json.dumps({"user": "alice", "roles": ["admin"]}), ex=ttl)

    def flask_session() -> object:  # load, then save the whole record with a fresh expiry
        data = client.get(key)
        return client.set(key, data, ex=ttl)

    def express_connect_redis() -> object:  # load, then touch() the unmodified session
        client.get(key)
        return client.expire(key, ttl)

    def django_cache_backend() -> object:  # load; save() checks the key exists, then writes it
        data = client.get(key)
        client.get(key)
        return client.set(key, data, ex=ttl)

    return [
        ("pattern of Flask-Session (GET + SET)", flask_session, None),
        ("pattern of express-session + connect-redis (GET + EXPIRE)", express_connect_redis, None),
        ("pattern of Django cache sessions, saved each request (GET, GET, SET)", django_cache_backend, None),
    ]


def measure(client: redis.Redis, cases: list[Case]) -> list[tuple[str, int, str]]:
    """Round trips and the command names the server received for each row."""
    measured = []
    for label, request, setup in cases:
        if setup is not None:
            setup()
        with count_round_trips(client) as log:
            request()
        names = " ".join(command.split()[0].strip('"') for command in log.commands)
        measured.append((label, log.round_trips, names))
    return measured


def writes_over_a_day(slide: str, every: timedelta, hours: int = 8) -> tuple[int, int]:
    """Requests made and idle-deadline writes done, one request every ``every``, on virtual time."""
    start = datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False) as clock:
        store = SessionStore(connect(fresh=True), slide=slide, absolute=timedelta(hours=hours + 1))
        session = store.create("alice")
        requests = writes = 0
        while datetime.now(timezone.utc) < start + timedelta(hours=hours):
            clock.shift(every)
            requests += 1
            writes += store.validate(session.id).wrote
    return requests, writes


def rows(bench: Bench) -> list[Row]:
    """Round trips per request (authkit, then the patterns), then Redis writes over a simulated working day."""
    client = bench.client()
    found = [Row(NAME, label, float(trips), "round trips", note=commands)
             for label, trips, commands in measure(client, authkit_rows(client)) + measure(client, pattern_rows(client))]
    for minutes in (1, 2, 5, 10):
        for slide in ("always", "half"):
            made, writes = writes_over_a_day(slide, timedelta(minutes=minutes))
            found.append(Row(NAME, f"slide {slide}, a request every {minutes} min for 8 h", float(writes), "writes",
                             note=f"of {made} requests; idle timeout 30 min; fakeredis, virtual time"))
    return found


if __name__ == "__main__":
    import harness

    harness.main([rows])
