"""Costs measured side by side: each figure a ratio to its bare anchor, both timed in the same rounds.

The machine a benchmark runs on is shared, so a time measured alone says as much about the
neighbours as about the code. ``side_by_side`` times the anchor and every candidate in alternating
rounds (the order reversed every other round) and reports, per candidate, the median over rounds of
(candidate ÷ anchor) *within the same round*: load that comes and goes hits both sides of a ratio.

The clock is CPU time, not wall time: this process's (``time.process_time``) plus, when a Redis
client is given, the server's own (``INFO cpu``). Wall time also counts the moments a process waits
for a core a neighbour holds; CPU time counts only the work done. What a request waits for across a
network is its round trips times the network's RTT: ``round_trips`` counts those exactly instead.

Every benchmark of ``make bench`` returns its figures as ``Row`` objects (see ``bench/README.md``).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import redis

from authkit.state.redis import LocalRedisServer, count_round_trips

RATIO = "×"  # the unit of a figure that is a ratio to its anchor
Call = Callable[[], object]


@dataclass(frozen=True)
class Row:
    """One figure of a benchmark, as ``make bench`` prints, plots and saves it."""

    bench: str  # the benchmark that measured it, e.g. "jwt_verify"
    name: str  # what was measured, e.g. "TokenVerifier.verify_access, HS256"
    value: float  # the figure: a median ratio, or an absolute count or time
    unit: str = RATIO  # RATIO: ``value`` is ``name`` ÷ ``anchor``; else the unit ("round trips", "µs")
    anchor: str = ""  # what a ratio is relative to, e.g. "jwt.decode, same key, alg and options"
    goal: float | None = None  # the figure meets its goal when value <= goal
    low: float | None = None  # for a timed ratio: the interquartile range of the per-round ratios
    high: float | None = None
    clock: str = ""  # "cpu" or "wall" for a timed figure, "" for a count
    note: str = ""  # what a reader needs besides: medians in µs, rounds, what a count includes

    @property
    def met(self) -> bool | None:
        """True or False against the goal; None when the row has none."""
        return None if self.goal is None else self.value <= self.goal

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-ready fields, with ``met`` added."""
        return {**asdict(self), "met": self.met}


@dataclass(frozen=True)
class Comparison:
    """One candidate against the anchor, over every round of one ``side_by_side`` run."""

    name: str
    anchor: str
    ratios: tuple[float, ...]  # candidate ÷ anchor, one per round, both timed in that round
    seconds: float  # median seconds per call of the candidate (process + server on ``clock="cpu"``)
    anchor_seconds: float  # the same for the anchor
    server_seconds: float = 0.0  # the part of ``seconds`` spent in redis-server (median)
    clock: str = "cpu"

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios."""
        return statistics.median(self.ratios)

    @property
    def quartiles(self) -> tuple[float, float]:
        """The first and third quartiles of the per-round ratios."""
        if len(self.ratios) < 2:
            return self.ratio, self.ratio
        low, _, high = statistics.quantiles(self.ratios, n=4, method="inclusive")
        return low, high

    def row(self, bench: str, *, goal: float | None = None, note: str = "") -> Row:
        """This comparison as a ``Row`` of ``bench``; the note gets the medians in µs and the rounds."""
        server = f", of which redis-server {self.server_seconds * 1e6:.1f}" if self.server_seconds else ""
        measured = (f"{self.seconds * 1e6:.1f} µs{server} vs {self.anchor_seconds * 1e6:.1f} µs per call, "
                    f"median of {len(self.ratios)} rounds")
        low, high = self.quartiles
        return Row(bench, self.name, self.ratio, RATIO, self.anchor, goal, low, high, self.clock,
                   f"{note}; {measured}" if note else measured)


@dataclass
class Bench:
    """What ``make bench`` hands each benchmark: a throwaway real Redis, the effort, and progress lines."""

    server: LocalRedisServer
    rounds: int = 15

    def client(self) -> redis.Redis:
        """A new client of the shared server (``decode_responses=True``, like ``authkit.state.redis.connect``)."""
        return self.server.client()

    def say(self, message: str) -> None:
        """One progress line, shown at once."""
        print(f"  {message}", flush=True)

    def progress(self, label: str) -> Callable[[int], None]:
        """A ``side_by_side`` progress callback: "label: round n/N", rewritten in place on a terminal."""
        live = sys.stdout.isatty()

        def show(done: int) -> None:
            if live:
                print(f"\r  {label}: round {done}/{self.rounds}", end="\n" if done == self.rounds else "", flush=True)
            elif done == self.rounds:
                print(f"  {label}: {done} rounds", flush=True)

        return show


def server_cpu_seconds(client: redis.Redis) -> float:
    """CPU seconds the Redis server behind ``client`` has used so far, by its own count (``INFO cpu``)."""
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def round_trips(call: Call, client: redis.Redis) -> int:
    """Commands the real server at ``client`` received for one ``call``, after one warm-up call."""
    call()  # opens the connection, loads any Lua script: count a steady-state call
    with count_round_trips(client) as log:
        call()
    return log.round_trips


def calls_per_batch(call: Call, target: float) -> int:
    """How many calls of ``call`` take at least ``target`` seconds of wall time (1, 2, 5, 10, 20, …)."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            count = number * factor
            start = time.perf_counter()
            for _ in range(count):
                call()
            if time.perf_counter() - start >= target:
                return count
        number *= 10


def side_by_side(
    calls: Mapping[str, Call],
    *,
    anchor: str | None = None,
    rounds: int = 15,
    target: float = 0.02,
    server: redis.Redis | None = None,
    clock: str = "cpu",
    timer: Callable[[], float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Comparison]:
    """Time every call in ``rounds`` interleaved rounds; each candidate's cost as a ratio to ``anchor``'s.

    ``anchor`` names one of ``calls`` (default: the first). Each call runs in batches sized to take
    about ``target`` seconds; rounds alternate the order of the batches. ``clock="cpu"`` counts this
    process's CPU time, plus the server's when ``server`` is given; ``clock="wall"`` counts elapsed time.
    ``timer`` replaces the clock (a test's counter); ``progress`` is called after each round with its number.
    """
    if clock not in ("cpu", "wall"):
        raise ValueError(f"clock must be 'cpu' or 'wall', not {clock!r}")
    names = list(calls)
    anchor = names[0] if anchor is None else anchor
    if anchor not in calls or len(names) < 2:
        raise ValueError("side_by_side needs the anchor and at least one candidate among the calls")
    read = timer or (time.process_time if clock == "cpu" else time.perf_counter)
    in_server = server is not None and clock == "cpu" and timer is None
    numbers = {name: calls_per_batch(call, target) if timer is None else 1 for name, call in calls.items()}
    per_call: dict[str, list[float]] = {name: [] for name in names}
    on_server: dict[str, list[float]] = {name: [] for name in names}
    for done in range(rounds):
        for name in (names if done % 2 == 0 else names[::-1]):
            call, count = calls[name], numbers[name]
            server_before = server_cpu_seconds(server) if in_server else 0.0
            enabled = gc.isenabled()
            gc.disable()  # as timeit does: a collection triggered by one batch must not bill the next
            try:
                start = read()
                for _ in range(count):
                    call()
                spent = read() - start
            finally:
                if enabled:
                    gc.enable()
            server_spent = server_cpu_seconds(server) - server_before if in_server else 0.0
            per_call[name].append((spent + server_spent) / count)
            on_server[name].append(server_spent / count)
        if progress is not None:
            progress(done + 1)
    base = per_call[anchor]
    return [
        Comparison(name, anchor, tuple(c / a if a > 0 else float("inf") for c, a in zip(per_call[name], base)),
                   statistics.median(per_call[name]), statistics.median(base), statistics.median(on_server[name]),
                   clock)
        for name in names if name != anchor
    ]
