"""Races on purpose: the same call from several threads released together by a barrier."""

from __future__ import annotations

import threading
from typing import Callable

from authkit.errors import AuthkitError


def at_once(call: Callable[[], object], threads: int, refused: type[AuthkitError]) -> list[object]:
    """``threads`` threads lined up on a barrier make the same call; each result, or the reason it was refused."""
    barrier, results = threading.Barrier(threads), [None] * threads

    def client(number: int) -> None:
        barrier.wait()
        try:
            results[number] = call()
        except refused as refusal:
            results[number] = refusal.reason

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    return results
