"""Concurrent refreshes of one token on a REAL redis-server: the script lets exactly one win, GET-then-SET does not.

fakeredis runs in-process under the GIL and hides this race, so these tests use the real server only.
"""

from __future__ import annotations

import threading
from typing import Callable

import pytest
import redis

from authkit.errors import TokenError
from authkit.refresh import NaiveRotation, RefreshFamilies

THREADS = 8
TRIALS = 200

pytestmark = pytest.mark.real_redis


def winners_per_trial(families: RefreshFamilies, rotate: Callable[[str, str], bool]) -> list[int]:
    """For each trial: a fresh family, THREADS threads lined up on a barrier, how many rotations won."""
    counts = []
    for trial in range(TRIALS):
        family = f"race-{trial}"
        families.start("alice", family, "t0")
        barrier, wins, lock = threading.Barrier(THREADS), [], threading.Lock()

        def client(number: int) -> None:
            barrier.wait()
            if rotate(family, f"t1-{number}"):
                with lock:
                    wins.append(number)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        counts.append(len(wins))
    return counts


@pytest.fixture
def families(real_redis: redis.Redis) -> RefreshFamilies:
    families = RefreshFamilies(real_redis)
    families.load_scripts()
    return families


def test_atomic_rotation_has_exactly_one_winner_in_every_trial(families: RefreshFamilies) -> None:
    def rotate(family: str, new: str) -> bool:
        try:
            families.rotate("alice", family, "t0", new)
        except TokenError as refusal:
            assert refusal.reason in ("reused", "revoked")
            return False
        return True

    counts = winners_per_trial(families, rotate)
    assert counts == [1] * TRIALS, {n: counts.count(n) for n in set(counts)}


def test_naive_get_then_set_lets_several_threads_win(families: RefreshFamilies) -> None:
    naive = NaiveRotation(families)
    counts = winners_per_trial(families, lambda family, new: naive.rotate("alice", family, "t0", new))
    assert all(n >= 1 for n in counts), "someone always wins"
    assert sum(n > 1 for n in counts) > 0, "the same harness sees the race: more than one winner"
