"""CPU of one access-token verify, against a bare ``jwt.decode`` with the same key, algorithm and claim checks.

Both sides are timed side by side (``authkit.study.measure.side_by_side``: interleaved rounds, CPU time), so
load from other processes cancels out; the figure is the median over rounds of the per-round ratio.

    .venv/bin/python bench/jwt_verify.py [--rounds R]
"""

from __future__ import annotations

from typing import Callable

import jwt

from authkit import KeySet, SigningKey, TokenIssuer, TokenVerifier
from authkit.tokens.keys import ALGORITHMS
from authkit.study.measure import Bench, Row, side_by_side
from authkit.tokens.issuer import REQUIRED_CLAIMS

NAME = "jwt_verify"
GOAL = 1.10  # verify may cost at most 10 % more than the bare library call it wraps
ISSUER, AUDIENCE = "https://auth.example", "https://api.example"
#: Each row: the algorithm authkit verifies, and the one the bare PyJWT anchor verifies with the same key
#: (PyJWT knows Ed25519 keys only under "EdDSA": same curve, same signature bytes).
CASES = (("HS256", "HS256"), ("EdDSA", "EdDSA"), ("Ed25519", "EdDSA"), ("ES256", "ES256"))


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


def rows(bench: Bench) -> list[Row]:
    """One ratio per algorithm this authkit supports: verify_access ÷ the bare ``jwt.decode``, side by side."""
    found = []
    for alg, anchor_alg in CASES:
        if alg not in ALGORITHMS:
            continue
        bare, verify = _pair(alg, anchor_alg)
        compared = side_by_side({f"jwt.decode, {anchor_alg}": bare, f"TokenVerifier.verify_access, {alg}": verify},
                                rounds=bench.rounds, progress=bench.progress(alg))
        found += [c.row(NAME, goal=GOAL, note="same key, algorithm and claim checks; CPU of this process")
                  for c in compared]
    return found


if __name__ == "__main__":
    import harness

    harness.main([rows])
