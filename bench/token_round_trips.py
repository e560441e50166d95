"""Redis round trips (counted by the server) and time per token operation, on a throwaway redis-server.

Run: .venv/bin/python bench/token_round_trips.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time
from typing import Callable

import redis

from authkit import (
    STRATEGIES,
    AccessGuard,
    KeySet,
    RefreshFamilies,
    RevocationStore,
    SigningKey,
    TokenIssuer,
    TokenService,
    TokenVerifier,
)
from authkit.redis import LocalRedisServer, count_round_trips
from authkit.revocation import deny_key

ISSUER, AUDIENCE = "https://auth.example", "api"


def build(client: redis.Redis, keys: KeySet) -> TokenService:
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    families = RefreshFamilies(client)
    families.load_scripts()  # up front: every later call is one EVALSHA
    guard = AccessGuard(verifier, "denylist+version", RevocationStore(client))
    return TokenService(TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE), verifier, families, guard)


def operations(client: redis.Redis, service: TokenService) -> dict[str, Callable[[], Callable[[], object]]]:
    """Each entry prepares fresh state and returns the one call to measure."""
    guards = {name: AccessGuard(service.verifier, name, RevocationStore(client)) for name in STRATEGIES}

    def refresh() -> Callable[[], object]:
        token = service.login("alice").refresh_token
        return lambda: service.refresh(token)

    def verify(guard: AccessGuard) -> Callable[[], Callable[[], object]]:
        def prepare() -> Callable[[], object]:
            token = service.login("alice").access_token
            return lambda: guard.check(token)
        return prepare

    def logout() -> Callable[[], object]:
        claims = service.guard.check(service.login("alice").access_token)
        return lambda: service.logout(claims)

    return {
        "login (new family)": lambda: lambda: service.login("alice"),
        "refresh (rotate)": refresh,
        **{f"verify: {name}": verify(guard) for name, guard in guards.items()},
        "logout (family + denylist)": logout,
        "logout-everywhere": lambda: lambda: service.logout_all("alice"),
    }


def round_trips(client: redis.Redis, prepare: Callable[[], Callable[[], object]]) -> int:
    call = prepare()
    call()  # warm: connection open, scripts cached
    call = prepare()
    with count_round_trips(client) as log:
        call()
    return log.round_trips


def seconds_per_call(prepare: Callable[[], Callable[[], object]], repeat: int) -> float:
    calls = [prepare() for _ in range(repeat)]
    start = time.perf_counter()
    for call in calls:
        call()
    return (time.perf_counter() - start) / repeat


def denylist_entry_bytes(client: redis.Redis, service: TokenService) -> int:
    """What one revoked token costs the server, as MEMORY USAGE reports it."""
    claims = service.guard.check(service.login("alice").access_token)
    service.guard.revoke(claims)
    return int(client.memory_usage(deny_key(claims)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="calls timed per operation")
    args = parser.parse_args()
    with LocalRedisServer() as server:
        client = server.client()
        version = client.info("server")["redis_version"]
        service = build(client, KeySet(SigningKey.generate("EdDSA")))
        ops = operations(client, service)
        rows = [(name, round_trips(client, prep), seconds_per_call(prep, args.repeat)) for name, prep in ops.items()]
        baseline = dict((name, t) for name, _, t in rows)["verify: stateless"]
        print(f"redis-server {version} on loopback; {args.repeat} timed calls per operation")
        print(f"{'operation':<30} {'round trips':>11} {'µs/op':>9} {'× stateless verify':>19}")
        for name, trips, seconds in rows:
            print(f"{name:<30} {trips:>11} {seconds * 1e6:>9.0f} {seconds / baseline:>19.1f}")
        entry = denylist_entry_bytes(client, service)
        print(f"\none denylist entry: {entry} bytes (MEMORY USAGE), kept until the token's exp;")
        print(f"1 million tokens revoked within one access-token lifetime ≈ {entry} MB")


if __name__ == "__main__":
    main()
