"""Cost of checking one request, per approach: CPU as a ratio to an HS256 verify, and Redis round trips.

The same measurement as notebook 07's figure 5 (``authkit.study.experiments.request_costs``): every check
timed in the same interleaved rounds as the anchor, CPU of this process plus redis-server's, round
trips counted by the server (MONITOR).

    .venv/bin/python bench/cost_per_request.py
"""

from __future__ import annotations

from authkit.study.experiments import request_costs
from authkit.study.measure import Bench, Row

NAME = "cost_per_request"


def rows(bench: Bench) -> list[Row]:
    """A ratio row per check (the HS256 verify is the anchor), then a round-trip row per check."""
    costs = request_costs(bench.client(), rounds=bench.rounds, progress=bench.progress("8 checks"))
    ratios = [c.cost.row(NAME) for c in costs if c.cost is not None]
    trips = [Row(NAME, c.label, float(c.round_trips), "round trips", note="per check, counted by redis-server")
             for c in costs if c.round_trips is not None]
    return ratios + trips


if __name__ == "__main__":
    import harness

    harness.main([rows])
