"""Redis round trips per token operation, counted by the server, and what three choices cost, side by side.

The side-by-side figures (``authkit.study.measure.side_by_side``: interleaved rounds, so load from elsewhere
cancels out): the durability check in steady state, sealing a successor for the refresh grace, and the
persistence settings that revocation needs, for a write and a read (one throwaway server per setting).

    .venv/bin/python bench/token_round_trips.py [--rounds R]
"""

from __future__ import annotations

import contextlib
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
from authkit.study.measure import Bench, Row, side_by_side
from authkit.state.redis import LocalRedisServer, connect, count_round_trips
from authkit.state.refresh import GRACE
from authkit.state.revocation import deny_key

NAME = "token_round_trips"
ISSUER, AUDIENCE = "https://auth.example", "api"
TRIPS_NOTES = {"verify, new conn.": "HELLO, the durability check's EVAL, MGET: once per new connection",
               "refresh, repeat within the grace": "the same EVALSHA: the sealed successor, counted",
               "list logins": "one EVALSHA: the user's index, each family's hash",
               "verify, new conn., no check": "HELLO, MGET",
               "logout (family + denylist)": "one EVALSHA for the family, one SET for the denylist"}
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


def repeat_op(service: TokenService) -> Prepare:
    def prepare() -> Callable[[], object]:
        token = service.login("alice").refresh_token
        service.refresh(token)  # rotated: presenting it again is a repeat
        return lambda: service.refresh(token)
    return prepare


def operations(client: redis.Redis, service: TokenService, unchecked: TokenService,
               graced: TokenService) -> dict[str, Prepare]:
    """Each entry prepares fresh state and returns the one call to measure."""
    guards = {name: AccessGuard(service.verifier, name, RevocationStore(client)) for name in STRATEGIES}

    def logout() -> Callable[[], object]:
        claims = service.guard.check(service.login("alice").access_token)
        return lambda: service.logout(claims)

    return {
        "login (new family)": lambda: lambda: service.login("alice"),
        "refresh (rotate)": refresh_op(service),
        "refresh, repeat within the grace": repeat_op(graced),
        **{f"verify: {name}": verify_op(service, guard) for name, guard in guards.items()},
        "verify, new conn.": on_a_new_connection(service),
        "verify, new conn., no check": on_a_new_connection(unchecked),
        "logout (family + denylist)": logout,
        "logout-everywhere": lambda: lambda: service.logout_all("alice"),
        "list logins": lambda: (service.login("alice"), lambda: service.logins("alice"))[1],
    }


def round_trips(client: redis.Redis, prepare: Prepare) -> int:
    """Commands the server received from ``prepare``'s call (HELLO, a new connection's handshake, counts)."""
    call = prepare()
    call()  # warm: connection open, scripts cached
    call = prepare()
    with count_round_trips(client) as log:
        call()
    return log.round_trips


def chained_refresh(service: TokenService) -> Callable[[], object]:
    """A refresh that can be called again and again: each call rotates the token the previous one returned."""
    current = [service.login("alice").refresh_token]

    def call() -> object:
        current[0] = service.refresh(current[0]).refresh_token
        return current[0]
    return call


def checked_verify(service: TokenService) -> Callable[[], object]:
    """A guarded verify of one live access token."""
    token = service.login("alice").access_token
    return lambda: service.guard.check(token)


def denylist_entry_bytes(client: redis.Redis, service: TokenService) -> int:
    """What one revoked token costs the server, as MEMORY USAGE reports it."""
    claims = service.guard.check(service.login("alice").access_token)
    service.guard.revoke(claims)
    return int(client.memory_usage(deny_key(claims)))


def rows(bench: Bench) -> list[Row]:
    """Round trips per operation (counted by the server), a denylist entry's size, then three side-by-side costs."""
    client = bench.client()
    keys = KeySet(SigningKey.generate("EdDSA"))
    service = build(client, keys)
    unchecked = build(connect(bench.server.url, detect_rollback=False), keys)
    graced = build(client, keys, grace=GRACE)
    found = [Row(NAME, name, float(round_trips(client, prepare)), "round trips", note=TRIPS_NOTES.get(name, ""))
             for name, prepare in operations(client, service, unchecked, graced).items()]
    found.append(Row(NAME, "one denylist entry", float(denylist_entry_bytes(client, service)), "bytes",
                     note="MEMORY USAGE; kept until the token's exp: a million revoked tokens ≈ that many MB"))
    compared = side_by_side({"verify denylist+version, no durability check": checked_verify(unchecked),
                             "verify denylist+version, with the durability check": checked_verify(service)},
                            rounds=bench.rounds, server=client, progress=bench.progress("durability check"))
    compared += side_by_side({"refresh, no grace": chained_refresh(service),
                              f"refresh, {GRACE.seconds} s grace (successor sealed)": chained_refresh(graced)},
                             rounds=bench.rounds, server=client, progress=bench.progress("refresh grace"))
    found += [c.row(NAME) for c in compared]
    settings = {"no persistence": {}, "appendfsync everysec": {"appendonly": True, "appendfsync": "everysec"},
                "appendfsync always": {"appendonly": True, "appendfsync": "always"}}
    with contextlib.ExitStack() as stack:
        services = {name: build(stack.enter_context(LocalRedisServer(**options)).client(), keys)
                    for name, options in settings.items()}
        for operation, call in (("refresh (a write)", chained_refresh), ("verify (a read)", checked_verify)):
            compared = side_by_side({f"{operation}, {name}": call(each) for name, each in services.items()},
                                    rounds=bench.rounds, clock="wall", progress=bench.progress(operation))
            found += [c.row(NAME, note="wall time: an fsync is waited for, not computed") for c in compared]
    return found


if __name__ == "__main__":
    import harness

    harness.main([rows])
