"""Cost of checking one request, per approach: wall time and Redis round trips.

Times each approach's per-request check (the same calls notebook 07 plots) on fakeredis and, when
the binary exists, on a throwaway redis-server, and counts round trips from the server's MONITOR.
Timings vary from machine to machine and run to run: compare the ratios within one run.

    .venv/bin/python bench/cost_per_request.py
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from authkit import GuardedJWT, ServerSession, StatelessJWT
from authkit.approaches import Approach
from authkit.experiments import round_trips_per_check, seconds_per_check
from authkit.plots import table
from authkit.redis import LocalRedisServer

Row = tuple[str, Callable[[redis.Redis | None], Approach], str]


ROWS: list[Row] = [
    ("HS256 verify", lambda client: StatelessJWT(alg="HS256"), "access"),
    ("EdDSA verify", lambda client: StatelessJWT(alg="EdDSA"), "access"),
    ("ES256 verify", lambda client: StatelessJWT(alg="ES256"), "access"),
    ("RS256 verify", lambda client: StatelessJWT(alg="RS256"), "access"),
    ("HS256 verify + jti denylist", lambda client: GuardedJWT("denylist", client=client), "access"),
    ("HS256 verify + denylist + version", lambda client: GuardedJWT("denylist+version", client=client), "access"),
    ("session lookup + slide (always)", lambda client: ServerSession(client=client), "session"),
    ("session lookup, slide past half", lambda client: ServerSession(slide="half", client=client), "session"),
]


def measure(client: redis.Redis | None, *, count_trips: bool) -> list[tuple[str, float, int | str]]:
    """Seconds per check and round trips per check for every row, against ``client``."""
    results = []
    for label, build, kind in ROWS:
        approach = build(client)
        trips: int | str = round_trips_per_check(approach, kind, client) if count_trips and client else "-"
        results.append((label, seconds_per_check(approach, kind, number=500), trips))
    return results


def main() -> None:
    print("fakeredis (in-process):")
    fake = measure(None, count_trips=False)
    base = fake[0][1]
    print(table(["check", "µs/request", "vs HS256", "round trips"],
                [(label, f"{s * 1e6:.0f}", f"×{s / base:.1f}", trips) for label, s, trips in fake]))
    try:
        server = LocalRedisServer()
    except FileNotFoundError as err:
        print(f"\nno real server: {err}")
        return
    with server:
        print(f"\nredis-server on loopback ({server.url}):")
        real = measure(server.client(), count_trips=True)
    print(table(["check", "µs/request", "vs HS256", "round trips"],
                [(label, f"{s * 1e6:.0f}", f"×{s / base:.1f}", trips) for label, s, trips in real]))


if __name__ == "__main__":
    main()
