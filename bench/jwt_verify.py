"""CPU of one access-token verify, against a bare ``jwt.decode`` with the same key, algorithm and claim checks.

Both sides run interleaved: each round times ``number`` calls of one, then ``number`` of the other (the
order alternating between rounds), with ``time.process_time``, so load from other processes cancels
out; the figure is the median over rounds of the per-round ratio.

    .venv/bin/python bench/jwt_verify.py [--rounds R] [--number N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, NamedTuple

import jwt

from authkit import KeySet, SigningKey, TokenIssuer, TokenVerifier
from authkit.keys import ALGORITHMS
from authkit.tokens import REQUIRED_CLAIMS

ISSUER, AUDIENCE = "https://auth.example", "https://api.example"
#: Each row: the algorithm authkit verifies, and the one the bare PyJWT anchor verifies with the same key
#: (PyJWT knows Ed25519 keys only under "EdDSA": same curve, same signature bytes).
CASES = (("HS256", "HS256"), ("EdDSA", "EdDSA"), ("Ed25519", "EdDSA"), ("ES256", "ES256"))


class Row(NamedTuple):
    """One algorithm: CPU µs per call of each side and the median per-round ratio authkit / bare."""

    alg: str
    bare_us: float
    authkit_us: float
    ratio: float


def _pair(alg: str, anchor_alg: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """The bare PyJWT call and authkit's verify, each on a fresh valid token signed by one key."""
    key = SigningKey.generate(alg, kid="bench")
    keys = KeySet(key)
    token = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE).issue_access("alice", scope="read")
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    claims = verifier.verify_access(token)
    anchor = jwt.encode(claims, key.signing_material, algorithm=anchor_alg, headers={"kid": "bench", "typ": "at+jwt"})
    material, options = key.verifying_material, {"require": list(REQUIRED_CLAIMS)}

    def bare() -> object:
        return jwt.decode(anchor, material, algorithms=[anchor_alg], audience=AUDIENCE, issuer=ISSUER, leeway=0,
                          options=options)

    return bare, lambda: verifier.verify_access(token)


def _seconds(call: Callable[[], object], number: int) -> float:
    start = time.process_time()
    for _ in range(number):
        call()
    return time.process_time() - start


def measure(*, rounds: int = 21, number: int = 300) -> list[Row]:
    """One row per algorithm this authkit supports, timed interleaved in this process."""
    rows = []
    for alg, anchor_alg in CASES:
        if alg not in ALGORITHMS:
            continue
        bare, verify = _pair(alg, anchor_alg)
        bare_times, verify_times, ratios = [], [], []
        for round_ in range(rounds):
            first, second = (bare, verify) if round_ % 2 == 0 else (verify, bare)
            a, b = _seconds(first, number), _seconds(second, number)
            b_time, v_time = (a, b) if first is bare else (b, a)
            bare_times.append(b_time)
            verify_times.append(v_time)
            ratios.append(v_time / b_time)
        rows.append(Row(alg, statistics.median(bare_times) / number * 1e6,
                        statistics.median(verify_times) / number * 1e6, statistics.median(ratios)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--number", type=int, default=300)
    args = parser.parse_args()
    print(f"{'alg':<8} {'bare jwt.decode µs':>18} {'authkit verify µs':>18} {'ratio':>7}")
    for row in measure(rounds=args.rounds, number=args.number):
        print(f"{row.alg:<8} {row.bare_us:>18.1f} {row.authkit_us:>18.1f} {'×' + format(row.ratio, '.2f'):>7}")


if __name__ == "__main__":
    main()
