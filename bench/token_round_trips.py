"""Redis round trips (counted by the server) and time per token operation, on throwaway redis-servers.

Also, measured side by side (interleaved rounds, so load from elsewhere cancels out): what the durability
check costs in steady state, what sealing a successor for the refresh grace costs, and what the
persistence settings that revocation needs cost a write and a read.

Run: .venv/bin/python bench/token_round_trips.py [--repeat N] [--rounds R]
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
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
from authkit.redis import LocalRedisServer, connect, count_round_trips
from authkit.refresh import GRACE
from authkit.revocation import deny_key

ISSUER, AUDIENCE = "https://auth.example", "api"
Prepare = Callable[[], Callable[[], object]]


def build(client: redis.Redis, keys: KeySet, grace: timedelta = timedelta(0)) -> TokenService:
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    families = RefreshFamilies(client, grace=grace)
    families.load_scripts()  # up front: every later call is one EVALSHA
    guard = AccessGuard(verifier, "denylist+version", RevocationStore(client))
    return TokenService(TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE), verifier, families, guard)


def refresh_op(service: TokenService) -> Prepare:
    def prepare() -> Callable[[], object]:
        token = service.login("alice").refresh_token
        return lambda: service.refresh(token)
    return prepare


def verify_op(service: TokenService, guard: AccessGuard | None = None) -> Prepare:
    def prepare() -> Callable[[], object]:
        token = service.login("alice").access_token
        return lambda: (guard or service.guard).check(token)
    return prepare


def on_a_new_connection(service: TokenService) -> Prepare:
    """A guarded verify whose client first drops its connections: as after a restart, or a new worker."""
    def prepare() -> Callable[[], object]:
        token = service.login("alice").access_token

        def call() -> object:
            service.guard.store.redis.connection_pool.disconnect()
            return service.guard.check(token)
        return call
    return prepare


def operations(client: redis.Redis, service: TokenService, unchecked: TokenService) -> dict[str, Prepare]:
    """Each entry prepares fresh state and returns the one call to measure."""
    guards = {name: AccessGuard(service.verifier, name, RevocationStore(client)) for name in STRATEGIES}

    def logout() -> Callable[[], object]:
        claims = service.guard.check(service.login("alice").access_token)
        return lambda: service.logout(claims)

    return {
        "login (new family)": lambda: lambda: service.login("alice"),
        "refresh (rotate)": refresh_op(service),
        **{f"verify: {name}": verify_op(service, guard) for name, guard in guards.items()},
        "verify, new conn.": on_a_new_connection(service),
        "verify, new conn., no check": on_a_new_connection(unchecked),
        "logout (family + denylist)": logout,
        "logout-everywhere": lambda: lambda: service.logout_all("alice"),
    }


def round_trips(client: redis.Redis, prepare: Prepare) -> int:
    """Commands the server received from ``prepare``'s call (HELLO, a new connection's handshake, counts)."""
    call = prepare()
    call()  # warm: connection open, scripts cached
    call = prepare()
    with count_round_trips(client) as log:
        call()
    return log.round_trips


def seconds_per_call(prepare: Prepare, repeat: int) -> float:
    calls = [prepare() for _ in range(repeat)]
    start = time.perf_counter()
    for call in calls:
        call()
    return (time.perf_counter() - start) / repeat


def interleaved(variants: dict[str, Prepare], repeat: int, rounds: int) -> dict[str, float]:
    """Seconds per call of each variant: the least disturbed of ``rounds`` rounds, order reversed every round."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for number in range(rounds):
        for name in list(variants)[:: 1 if number % 2 == 0 else -1]:
            samples[name].append(seconds_per_call(variants[name], repeat))
    return {name: min(times) for name, times in samples.items()}


def denylist_entry_bytes(client: redis.Redis, service: TokenService) -> int:
    """What one revoked token costs the server, as MEMORY USAGE reports it."""
    claims = service.guard.check(service.login("alice").access_token)
    service.guard.revoke(claims)
    return int(client.memory_usage(deny_key(claims)))


def print_pairs(title: str, times: dict[str, float], baseline: str) -> None:
    print(f"\n{title}")
    for name, seconds in times.items():
        print(f"  {name:<44} {seconds * 1e6:>8.1f} µs/op {seconds / times[baseline]:>6.2f} × {baseline}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=300, help="calls timed per operation (per round)")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds for the side-by-side figures")
    args = parser.parse_args()
    keys = KeySet(SigningKey.generate("EdDSA"))
    with LocalRedisServer() as server:
        client = server.client()
        version = client.info("server")["redis_version"]
        service = build(client, keys)
        unchecked = build(connect(server.url, detect_rollback=False), keys)
        ops = operations(client, service, unchecked)
        rows = [(name, round_trips(client, prep), seconds_per_call(prep, args.repeat)) for name, prep in ops.items()]
        baseline = dict((name, t) for name, _, t in rows)["verify: stateless"]
        print(f"redis-server {version} on loopback; {args.repeat} timed calls per operation")
        print(f"{'operation':<30} {'round trips':>11} {'µs/op':>9} {'× stateless verify':>19}")
        for name, trips, seconds in rows:
            print(f"{name:<30} {trips:>11} {seconds * 1e6:>9.0f} {seconds / baseline:>19.1f}")
        entry = denylist_entry_bytes(client, service)
        print(f"\none denylist entry: {entry} bytes (MEMORY USAGE), kept until the token's exp;")
        print(f"1 million tokens revoked within one access-token lifetime ≈ {entry} MB")

        graced = build(client, keys, grace=GRACE)
        print_pairs("steady state, with and without the durability check (no round trip is added):", interleaved({
            "verify denylist+version, no check": verify_op(unchecked),
            "verify denylist+version, checked": verify_op(service),
            "refresh, no check": refresh_op(unchecked),
            "refresh, checked": refresh_op(service),
        }, args.repeat, args.rounds), "verify denylist+version, no check")
        print_pairs(f"refresh with no grace, and with a {GRACE.seconds} s grace (the successor sealed):", interleaved({
            "refresh, grace 0": refresh_op(service),
            f"refresh, grace {GRACE.seconds} s": refresh_op(graced),
        }, args.repeat, args.rounds), "refresh, grace 0")

    settings = {"no persistence": {}, "appendfsync everysec": {"appendonly": True, "appendfsync": "everysec"},
                "appendfsync always": {"appendonly": True, "appendfsync": "always"}}
    servers = {name: LocalRedisServer(**options) for name, options in settings.items()}
    try:
        services = {name: build(server.client(), keys) for name, server in servers.items()}
        variants: dict[str, Prepare] = {}
        for name, each in services.items():
            variants[f"refresh (a write), {name}"] = refresh_op(each)
        for name, each in services.items():
            variants[f"verify (a read), {name}"] = verify_op(each)
        print_pairs("what persistence costs (each server on this machine's /tmp):",
                    interleaved(variants, args.repeat, args.rounds), "refresh (a write), no persistence")
    finally:
        for server in servers.values():
            server.stop()


if __name__ == "__main__":
    main()
