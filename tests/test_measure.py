"""Side-by-side measurement: interleaved rounds, per-round ratios, server CPU and round trips, and the bench harness."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from authkit.study.measure import RATIO, Bench, Row, calls_per_batch, round_trips, server_cpu_seconds, side_by_side

ROOT = Path(__file__).resolve().parents[1]


class Ticks:
    """A clock that moves only when the code under test says so: each call costs a known number of ticks."""

    def __init__(self) -> None:
        self.now = 0.0
        self.order: list[str] = []

    def __call__(self) -> float:
        return self.now

    def costing(self, name: str, ticks: float):
        def call() -> None:
            self.order.append(name)
            self.now += ticks
        return call


def test_each_ratio_is_taken_within_a_round_and_the_order_alternates() -> None:
    ticks = Ticks()
    calls = {"bare": ticks.costing("bare", 2.0), "double": ticks.costing("double", 4.0),
             "half": ticks.costing("half", 1.0)}
    compared = side_by_side(calls, rounds=4, timer=ticks)
    assert [(c.name, c.anchor, c.ratios) for c in compared] == [
        ("double", "bare", (2.0, 2.0, 2.0, 2.0)),
        ("half", "bare", (0.5, 0.5, 0.5, 0.5)),
    ]
    assert ticks.order == ["bare", "double", "half", "half", "double", "bare"] * 2
    assert compared[0].seconds == 4.0 and compared[0].anchor_seconds == 2.0


def test_load_that_comes_and_goes_cancels_in_the_per_round_ratio() -> None:
    """A neighbour slows one round down threefold: each ratio is still exact, the mean of times is not."""
    ticks = Ticks()
    slow = {"round": 0}

    def loaded(name: str, cost: float):
        def call() -> None:
            ticks.order.append(name)
            ticks.now += cost * (3.0 if slow["round"] == 1 else 1.0)
        return call

    compared = side_by_side({"a": loaded("a", 1.0), "b": loaded("b", 1.5)}, rounds=3, timer=ticks,
                            progress=lambda n: slow.update(round=n))
    assert compared[0].ratios == (1.5, 1.5, 1.5)


def test_the_anchor_is_named_or_first() -> None:
    ticks = Ticks()
    calls = {"a": ticks.costing("a", 1.0), "b": ticks.costing("b", 3.0)}
    assert side_by_side(calls, anchor="b", rounds=1, timer=ticks)[0].ratios == (1 / 3,)
    with pytest.raises(ValueError, match="anchor"):
        side_by_side(calls, anchor="c", rounds=1, timer=ticks)
    with pytest.raises(ValueError, match="anchor"):
        side_by_side({"a": calls["a"]}, rounds=1, timer=ticks)
    with pytest.raises(ValueError, match="clock"):
        side_by_side(calls, clock="sundial")


def test_quartiles_and_the_row_a_comparison_makes() -> None:
    ticks = Ticks()
    growing = iter([1.0, 2.0, 3.0, 4.0, 5.0])
    calls = {"a": ticks.costing("a", 1.0), "b": lambda: setattr(ticks, "now", ticks.now + next(growing))}
    (compared,) = side_by_side(calls, rounds=5, timer=ticks)
    assert compared.ratios == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert compared.ratio == 3.0 and compared.quartiles == (2.0, 4.0)
    row = compared.row("demo", goal=2.5, note="made up")
    assert (row.bench, row.name, row.anchor, row.value, row.unit, row.low, row.high) == ("demo", "b", "a", 3.0, RATIO, 2.0, 4.0)
    assert row.met is False and row.note.startswith("made up; ") and "median of 5 rounds" in row.note
    assert json.loads(json.dumps(row.as_dict()))["met"] is False
    assert Row("demo", "count", 1.0, unit="round trips").met is None


def test_a_batch_is_sized_to_take_at_least_the_target() -> None:
    assert calls_per_batch(lambda: time.sleep(0.006), 0.005) == 1
    count = calls_per_batch(lambda: sum(range(100)), 0.05)
    assert count > 1 and str(count).rstrip("0") in {"1", "2", "5"}


def test_the_server_counts_its_own_cpu_and_round_trips(real_redis: redis.Redis) -> None:
    before = server_cpu_seconds(real_redis)
    for _ in range(200):
        real_redis.set("k", "v")
    assert server_cpu_seconds(real_redis) > before
    assert round_trips(lambda: real_redis.get("k"), real_redis) == 1
    assert round_trips(lambda: real_redis.mget("k", "k"), real_redis) == 1
    assert round_trips(lambda: None, real_redis) == 0


def test_cpu_on_a_real_server_includes_the_servers_share(real_redis: redis.Redis) -> None:
    compared = side_by_side({"nothing": lambda: None, "get": lambda: real_redis.get("k")}, rounds=2,
                            target=0.002, server=real_redis)
    assert compared[0].server_seconds > 0 and compared[0].seconds > compared[0].server_seconds


def load_harness():
    spec = importlib.util.spec_from_file_location("harness", ROOT / "bench" / "harness.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_harness_runs_a_plugged_in_benchmark_and_saves_rows_and_figure(redis_server, tmp_path: Path,
                                                                           capsys) -> None:
    harness = load_harness()

    def rows(bench: Bench) -> list[Row]:
        client = bench.client()
        compared = side_by_side({"PING": client.ping, "two PINGs": lambda: (client.ping(), client.ping())},
                                rounds=bench.rounds, target=0.002, server=client)
        return [compared[0].row("demo", goal=100.0),
                Row("demo", "two PINGs", float(round_trips(lambda: (client.ping(), client.ping()), client)), "round trips")]

    found, context = harness.run([("demo", rows)], rounds=2)
    results, figure = harness.save(found, context, tmp_path)
    saved = json.loads(results.read_text())
    assert [(r["name"], r["unit"], r["met"]) for r in saved["rows"]] == [("two PINGs", "×", True),
                                                                           ("two PINGs", "round trips", None)]
    assert saved["rows"][1]["value"] == 2.0 and saved["rounds"] == 2 and "load_average_before" in saved
    assert figure.read_bytes()[:4] == b"\x89PNG"
    harness.print_rows(found)
    assert "≤ ×100  met" in capsys.readouterr().out


def test_every_listed_benchmark_exists_and_offers_rows() -> None:
    harness = load_harness()
    for name in harness.BENCHMARKS:
        source = (ROOT / "bench" / f"{name}.py").read_text()
        assert "\ndef rows(bench: Bench) -> list[Row]:" in source, name


def test_make_bench_runs_every_benchmark_and_counts_the_round_trips(redis_server, tmp_path: Path) -> None:
    """The whole of ``make bench`` at one round: every benchmark gives rows; the counts are the contract's."""
    subprocess.run([sys.executable, str(ROOT / "bench" / "harness.py"), "--rounds", "1", "--out", str(tmp_path)],
                   cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    saved = json.loads((tmp_path / "results.json").read_text())["rows"]
    harness = load_harness()
    assert {row["bench"] for row in saved} == set(harness.BENCHMARKS)
    trips = {(row["bench"], row["name"]): row["value"] for row in saved if row["unit"] == "round trips"}
    assert trips[("cookie_vs_flask_session", "authkit cookie app, GET /me")] == 1
    assert trips[("cookie_vs_flask_session", "Flask-Session (redis), GET /me")] == 2
    assert trips[("session_round_trips", "authkit validate + slide (always)")] == 1
    assert {name: value for (bench, name), value in trips.items() if bench == "token_round_trips"} == {
        "login (new family)": 1,
        "refresh (rotate)": 1,
        "verify: stateless": 0,
        "verify: denylist": 1,
        "verify: version": 1,
        "verify: denylist+version": 1,
        "verify, new conn.": 3,  # HELLO, the durability check's EVAL, MGET
        "verify, new conn., no check": 2,
        "logout (family + denylist)": 2,
        "logout-everywhere": 1,
        "refresh, repeat within the grace": 1,
        "list logins": 1,
    }
    assert any(row["name"] == "one denylist entry" and row["value"] > 0 for row in saved)
    assert all(row["value"] > 0 for row in saved if row["unit"] == "×"), "every ratio was measured"
    assert (tmp_path / "ratios.png").read_bytes()[:4] == b"\x89PNG"
