"""``make bench``: every benchmark on one throwaway redis-server, side by side; a table, a figure, a JSON file.

A benchmark is a module of this folder with a function ``rows(bench: authkit.study.measure.Bench) ->
list[authkit.study.measure.Row]``; it is plugged in by adding its module name to ``BENCHMARKS`` (one line).
Every timed figure is a ratio to a bare anchor measured in the same interleaved rounds
(``authkit.study.measure.side_by_side``); counts are counted by the server. The run writes
``build/bench/results.json`` (every row, with the machine's load) and ``build/bench/ratios.png``.
See README.md beside this file for the row format.

    .venv/bin/python bench/harness.py [--rounds N] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from authkit.study import plots
from authkit.study.measure import RATIO, Bench, Row
from authkit.state.redis import LocalRedisServer

#: The benchmarks ``make bench`` runs, in this order: module names in bench/, each with ``rows(bench)``.
BENCHMARKS = (
    "jwt_verify",
    "session_validate",
    "cookie_vs_flask_session",
    "bearer_request_cost",
    "logout_everywhere",
    "cost_per_request",
    "token_round_trips",
    "session_round_trips",
    "login_hashing",
    "login_throttle",
)
OUT = Path(__file__).resolve().parents[1] / "build" / "bench"
Benchmark = Callable[[Bench], list[Row]]


def value_text(row: Row) -> str:
    """The figure as printed: ``×1.23`` for a ratio, else the number and its unit."""
    return f"×{row.value:.2f}" if row.unit == RATIO else f"{row.value:g} {row.unit}"


def print_rows(rows: Sequence[Row]) -> None:
    """The rows as an aligned table: figure, anchor, goal, whether met, quartiles, note."""
    def goal(row: Row) -> str:
        if row.goal is None:
            return ""
        return f"≤ {'×' if row.unit == RATIO else ''}{row.goal:g}  {'met' if row.met else 'NOT MET'}"

    def spread(row: Row) -> str:
        return "" if row.low is None else f"{row.low:.2f}–{row.high:.2f}"

    print(plots.table(["benchmark", "measured", "figure", "vs anchor", "goal", "IQR", "clock", "note"],
                      [(r.bench, r.name, value_text(r), r.anchor, goal(r), spread(r), r.clock, r.note) for r in rows]))


def run(benchmarks: Sequence[tuple[str, Benchmark]], rounds: int) -> tuple[list[Row], dict[str, object]]:
    """Run each benchmark against one throwaway redis-server; return the rows and what the run was on."""
    rows: list[Row] = []
    with LocalRedisServer() as server:
        bench = Bench(server, rounds)
        context: dict[str, object] = {
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "redis_server": bench.client().info("server")["redis_version"], "rounds": rounds,
            "load_average_before": os.getloadavg(),
        }
        for number, (name, measure) in enumerate(benchmarks, start=1):
            print(f"== [{number}/{len(benchmarks)}] {name}", flush=True)
            start = time.perf_counter()
            found = measure(bench)
            print(f"   {len(found)} rows in {time.perf_counter() - start:.0f} s", flush=True)
            rows += found
    context["load_average_after"] = os.getloadavg()
    return rows, context


def save(rows: Sequence[Row], context: dict[str, object], out: Path) -> tuple[Path, Path]:
    """Write the machine-readable results and the ratio figure; return both paths."""
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.json"
    results.write_text(json.dumps({**context, "rows": [r.as_dict() for r in rows]}, indent=2, ensure_ascii=False) + "\n")
    figure = out / "ratios.png"
    plots.bench_ratios(rows, out)
    return results, figure


def main(benchmarks: Sequence[Benchmark] | None = None, argv: Sequence[str] | None = None) -> int:
    """Run the listed benchmarks (default: all of ``BENCHMARKS``, saving the results) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per comparison (default 15)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"run only these of {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for results.json and ratios.png")
    args = parser.parse_args(argv)
    if benchmarks is not None:
        chosen = [(Path(sys.argv[0]).stem if f.__module__ == "__main__" else f.__module__, f) for f in benchmarks]
    else:
        unknown = sorted(set(args.only or ()) - set(BENCHMARKS))
        if unknown:
            parser.error(f"unknown benchmark {unknown}; choose from {list(BENCHMARKS)}")
        chosen = [(name, importlib.import_module(name).rows) for name in BENCHMARKS if not args.only or name in args.only]
    try:
        rows, context = run(chosen, args.rounds)
    except FileNotFoundError as err:
        print(f"make bench needs a real redis-server: {err}", file=sys.stderr)
        return 1
    print()
    print_rows(rows)
    if benchmarks is None:
        results, figure = save(rows, context, args.out)
        print(f"\nwrote {results} and {figure}")
    missed = [r for r in rows if r.met is False]
    print(f"\n{sum(r.met is True for r in rows)} goals met, {len(missed)} not met"
          + "".join(f"\n  not met: {r.bench}: {r.name} {value_text(r)} (goal ≤ {r.goal:g})" for r in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
