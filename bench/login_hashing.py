"""Logins per second per core: Argon2id at OWASP's figures vs scrypt at the course's former default, side by side.

One login is one password check (``PasswordHasher.verify`` of a stored string): the CPU of this
process per check, timed in interleaved rounds, turned into checks per CPU second. Memory per check
is the algorithm's own: 19 MiB for Argon2id (m = 19456 KiB, t = 2, p = 1), 128 MiB for scrypt
(N = 2**17, r = 8, p = 1).

    .venv/bin/python bench/login_hashing.py [--rounds R]
"""

from __future__ import annotations

import time

from authkit.login.hashing import PasswordHasher
from authkit.login.passwords import ScryptCost
from authkit.study.measure import Bench, Row

NAME = "login_hashing"
PASSWORD = "a long passphrase nobody guesses"
CHOICES = {"Argon2id m=19 MiB, t=2, p=1 (OWASP; the default)": PasswordHasher(),
           "scrypt N=2**17, r=8, p=1 (the former default)": PasswordHasher(ScryptCost())}


def rows(bench: Bench) -> list[Row]:
    """Checks per CPU second of each choice, measured in alternating rounds; and their ratio."""
    stored = {name: hasher.hash(PASSWORD) for name, hasher in CHOICES.items()}
    spent = {name: [] for name in CHOICES}
    rounds = max(3, bench.rounds // 3)
    for _ in range(rounds):
        for name, hasher in CHOICES.items():
            start = time.process_time()
            assert hasher.verify(PASSWORD, stored[name])
            spent[name].append(time.process_time() - start)
    medians = {name: sorted(times)[len(times) // 2] for name, times in spent.items()}
    found = [Row(NAME, name, round(1 / medians[name], 2), "logins/s per core", clock="cpu",
                 note=f"median of {rounds} checks: {medians[name] * 1000:.0f} ms CPU each") for name in CHOICES]
    argon, scrypt = (medians[name] for name in CHOICES)
    found.append(Row(NAME, "Argon2id logins per core ÷ scrypt's", round(scrypt / argon, 2), "times",
                     note="the issue expects at least 5"))
    return found


if __name__ == "__main__":
    import harness

    harness.main([rows])
