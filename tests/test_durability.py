"""Revocation survives Redis losing writes: crash experiments on real servers, and the embedded emulation.

Each crash test logs users in (server-side sessions, access tokens under denylist + version, refresh
families), revokes them every way authkit can, crashes the server and restarts it on the same port,
then presents every revoked credential again. Before the durability check, a restart from an RDB
snapshot revived all of them and a restart without persistence revived the access tokens.
"""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import fakeredis
import pytest
import redis
import time_machine

from authkit.state import durability
from authkit.errors import SessionError, StoreUnavailable, TokenError
from authkit.tokens.keys import KeySet, SigningKey
from authkit.state.redis import LocalRedisServer, connect, restore, snapshot
from authkit.state.refresh import RefreshFamilies, TokenService
from authkit.state.revocation import DENYLIST_AND_VERSION, AccessGuard, RevocationStore
from authkit.state.sessions import SessionStore
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from authkit.web.bearer_app import create_app
from tests.jwt_forge import AUDIENCE, ISSUER

Credential = tuple[str, Any]  # ("session" | "access" | "refresh", the credential)


@dataclass
class World:
    """What a deployment runs on one Redis: the session store and the token service."""

    client: redis.Redis
    sessions: SessionStore
    tokens: TokenService


def build(client: redis.Redis, keys: KeySet | None = None) -> World:
    keys = keys or KeySet(SigningKey.generate("EdDSA", kid="k1"))
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    guard = AccessGuard(verifier, DENYLIST_AND_VERSION, RevocationStore(client))
    service = TokenService(TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE), verifier, RefreshFamilies(client),
                           guard)
    return World(client, SessionStore(client), service)


def log_in(world: World) -> dict[str, Any]:
    """Four users on each kind of credential; carol's stay untouched."""
    logins: dict[str, Any] = {}
    for user in ("alice", "bob", "carol", "dave"):
        logins[f"{user} session"] = world.sessions.create(user)
        logins[f"{user} tokens"] = world.tokens.login(user)
    return logins


def revoke(world: World, logins: dict[str, Any]) -> dict[str, Credential]:
    """Every kind of revocation; returns each revoked credential, by what revoked it."""
    sessions, tokens = world.sessions, world.tokens
    sessions.destroy(logins["alice session"].id)  # logout
    sessions.destroy_all("bob")  # log out everywhere
    tokens.logout(tokens.guard.check(logins["alice tokens"].access_token))  # denylist + dead family
    tokens.logout_all("bob")  # token version + every family of bob's
    stolen = logins["dave tokens"].refresh_token
    tokens.refresh(stolen)
    with pytest.raises(TokenError):
        tokens.refresh(stolen)  # a rotated token comes back: the family dies
    return {
        "session after logout": ("session", logins["alice session"].id),
        "session after log-out-everywhere": ("session", logins["bob session"].id),
        "access token on the denylist": ("access", logins["alice tokens"].access_token),
        "refresh token after logout": ("refresh", logins["alice tokens"].refresh_token),
        "access token of an older version": ("access", logins["bob tokens"].access_token),
        "refresh token after log-out-everywhere": ("refresh", logins["bob tokens"].refresh_token),
        "stolen refresh token, its family revoked for reuse": ("refresh", stolen),
    }


def untouched(logins: dict[str, Any]) -> dict[str, Credential]:
    return {
        "carol's session": ("session", logins["carol session"].id),
        "carol's access token": ("access", logins["carol tokens"].access_token),
        "carol's refresh token": ("refresh", logins["carol tokens"].refresh_token),
    }


def verdict(world: World, kind: str, credential: Any) -> str:
    """'accepted', or the refusal's reason; a 503 while authkit recovers is asked again."""
    call = {"session": world.sessions.validate, "access": world.tokens.guard.check,
            "refresh": world.tokens.refresh}[kind]
    for _ in range(3):
        try:
            call(credential)
        except StoreUnavailable:
            continue
        except (TokenError, SessionError) as refusal:
            return refusal.reason
        return "accepted"
    return "unavailable"


def accepted(world: World, credentials: dict[str, Credential]) -> list[str]:
    """The names of the credentials ``world`` accepts."""
    return [name for name, (kind, value) in credentials.items() if verdict(world, kind, value) == "accepted"]


# --- crash experiments on a real redis-server ---------------------------------------------------


@pytest.mark.real_redis
def test_a_restart_from_an_rdb_snapshot_revives_no_revoked_credential(server_factory) -> None:
    server = server_factory()  # snapshots only when asked, like Debian's save points between two saves
    world = build(server.client())
    logins = log_in(world)
    server.snapshot()
    revoked = revoke(world, logins)
    assert accepted(world, revoked) == [], "sanity: refused before the crash"
    server.kill()
    server.restart()  # loads the snapshot: every revocation made after it is gone from Redis
    assert accepted(world, revoked) == []
    assert accepted(world, untouched(logins)) == [], "fail closed: everyone logs in again"
    again = world.tokens.login("alice")
    assert world.tokens.guard.check(again.access_token)["sub"] == "alice"
    assert world.sessions.validate(world.sessions.create("alice").id).user_id == "alice"


@pytest.mark.real_redis
def test_a_restart_without_persistence_revives_no_revoked_credential(server_factory) -> None:
    server = server_factory()
    world = build(server.client())
    logins = log_in(world)
    revoked = revoke(world, logins)
    server.kill()
    server.restart()  # starts empty: the denylist and the versions are gone with everything else
    assert accepted(world, revoked) == []
    assert world.tokens.guard.check(world.tokens.login("bob").access_token)["ver"] == 0


@pytest.mark.real_redis
def test_with_aof_fsync_always_a_crash_logs_nobody_out(server_factory) -> None:
    server = server_factory(appendonly=True, appendfsync="always")
    world = build(server.client())
    logins = log_in(world)
    revoked = revoke(world, logins)
    recoveries = list(durability.detector_of(world.client).recoveries)  # the first use of an empty server
    server.kill()
    server.restart()
    assert accepted(world, revoked) == []
    assert accepted(world, untouched(logins)) == list(untouched(logins))
    assert durability.detector_of(world.client).recoveries == recoveries, "nothing purged after the restart"


@pytest.mark.real_redis
def test_a_failover_to_a_replica_that_missed_writes_revives_nothing(server_factory) -> None:
    primary = server_factory(appendonly=True, appendfsync="always")
    replica = server_factory(appendonly=True, appendfsync="always",
                             args=["--replicaof", "127.0.0.1", str(primary.port)])
    world = build(primary.client())
    logins = log_in(world)
    with primary.admin() as admin:
        assert admin.wait(1, 5000) == 1, "the replica has every login"
    replica.pause()
    with primary.admin() as admin:
        assert admin.client_kill_filter(_type="replica") == 1  # the link drops: the replica misses what follows
    revoked = revoke(world, logins)
    primary.kill()
    replica.resume()
    with replica.admin() as admin:
        admin.replicaof("NO", "ONE")  # what Sentinel does when the primary is gone
    client = replica.client()  # the services now reach the promoted replica
    durability.check_persistence(client, warn=False)  # their start-up check meets the failover first
    promoted = build(client, world.tokens.verifier.keys)
    assert accepted(promoted, revoked) == []


@pytest.mark.real_redis
def test_workers_racing_after_a_restart_purge_once_and_accept_nothing(server_factory) -> None:
    server = server_factory()
    keys = KeySet(SigningKey.generate("EdDSA", kid="k1"))
    workers = [build(server.client(), keys) for _ in range(4)]  # four processes' clients, each with its own pool
    logins = log_in(workers[0])
    revoked = revoke(workers[0], logins)
    _, denylisted = revoked["access token on the denylist"]
    before = sum(len(durability.detector_of(w.client).recoveries) for w in workers)
    server.kill()
    server.restart()
    barrier, outcomes = threading.Barrier(8), []

    def request(world: World) -> None:
        barrier.wait()
        try:
            world.tokens.guard.check(denylisted)
            outcomes.append("accepted")
        except StoreUnavailable:
            outcomes.append("503")
        except TokenError as refusal:
            outcomes.append(refusal.reason)

    threads = [threading.Thread(target=request, args=(workers[n % 4],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 8 and set(outcomes) <= {"503", "revoked"}, outcomes
    assert sum(len(durability.detector_of(w.client).recoveries) for w in workers) == before + 1


@pytest.mark.real_redis
def test_a_refused_config_get_counts_as_not_durable(server_factory) -> None:
    server = server_factory(appendonly=True, appendfsync="always")
    with server.admin() as admin:
        admin.acl_setuser("app", enabled=True, passwords=["+app-secret"], keys=["*"], commands=["+@all", "-config"])
    client = connect(f"redis://app:app-secret@127.0.0.1:{server.port}/0")
    with pytest.warns(durability.PersistenceWarning, match="CONFIG GET is refused"):
        report = durability.check_persistence(client)
    assert report.as_dict()["settings"] == {"config": "refused"}
    world = build(client)
    logins = log_in(world)
    server.kill()
    server.restart()
    with server.admin() as admin:  # ACL users live in memory: the operator sets them up again
        admin.acl_setuser("app", enabled=True, passwords=["+app-secret"], keys=["*"], commands=["+@all", "-config"])
    assert accepted(world, untouched(logins)) == [], "unknown persistence: fail closed"


@pytest.mark.real_redis
def test_a_marker_deleted_without_a_restart_purges_nothing(server_factory) -> None:
    server = server_factory()
    world = build(server.client())
    session = world.sessions.create("alice")
    with server.admin() as admin:
        admin.delete(durability.MARKER)
    world.client.connection_pool.disconnect()  # the next command opens a new connection: it checks
    assert world.sessions.validate(session.id).user_id == "alice"
    assert durability.detector_of(world.client).recoveries[1:] == []


# --- the start-up check ---------------------------------------------------------------------------


@pytest.mark.real_redis
def test_the_startup_check_says_what_to_set(server_factory) -> None:
    server = server_factory(save="3600 1")
    with pytest.warns(durability.PersistenceWarning) as caught:
        report = durability.check_persistence(server.client())
    text = str(caught[0].message)
    assert "appendonly yes" in text and "appendfsync always" in text and "maxmemory-policy noeviction" in text
    machine = report.as_dict()
    assert machine["durable"] is False
    assert (machine["settings"]["appendonly"], machine["settings"]["save"]) == ("no", "3600 1")
    assert machine["required"] == {"appendonly": "yes", "appendfsync": "always", "maxmemory-policy": "noeviction"}


@pytest.mark.real_redis
def test_the_startup_check_is_quiet_when_revocation_is_durable(server_factory) -> None:
    server = server_factory(appendonly=True, appendfsync="always")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = durability.check_persistence(server.client())
    assert report.durable and report.problems == ()


@pytest.mark.real_redis
def test_eviction_of_revocations_is_reported(server_factory) -> None:
    server = server_factory(appendonly=True, appendfsync="always",
                            args=["--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"])
    report = durability.check_persistence(server.client(), warn=False)
    assert [p.split(" ")[0] for p in report.problems] == ["maxmemory-policy"]


def test_the_startup_check_reports_the_embedded_default_without_warning(fake_redis: redis.Redis) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = durability.check_persistence(fake_redis)
    assert not report.durable and report.backend.startswith("fakeredis")


# --- the embedded default: snapshot, writes, restore ---------------------------------------------


@pytest.mark.parametrize(("detect", "revived"), [(False, True), (True, False)])
def test_restoring_a_snapshot_on_the_embedded_default(detect: bool, revived: bool) -> None:
    world = build(connect(fresh=True, detect_rollback=detect))
    logins = log_in(world)
    saved = snapshot(world.client)
    revoked = revoke(world, logins)
    restore(world.client, saved)
    assert accepted(world, revoked) == (list(revoked) if revived else [])
    assert accepted(world, untouched(logins)) == (list(untouched(logins)) if revived else [])


def operator(client: redis.Redis) -> redis.Redis:
    """Another client of the same in-process server, without the durability check."""
    return fakeredis.FakeRedis(server=client.connection_pool.connection_kwargs["server"], decode_responses=True)


def test_a_never_restarted_embedded_server_holds_no_marker(fake_redis: redis.Redis) -> None:
    SessionStore(fake_redis).create("alice")
    fake_redis.connection_pool.disconnect()
    assert fake_redis.exists(durability.MARKER) == 0  # nothing to lose yet: the process knows its whole life
    restore(fake_redis, snapshot(fake_redis))
    with pytest.raises(durability.RollbackDetected):
        fake_redis.ping()
    assert fake_redis.hget(durability.MARKER, "state") == "ok"


def test_the_command_in_flight_during_detection_does_not_run(fake_redis: redis.Redis) -> None:
    fake_redis.ping()  # authkit has used this server: its marker is in the snapshot
    saved = snapshot(fake_redis)
    restore(fake_redis, saved)
    with pytest.raises(durability.RollbackDetected):
        fake_redis.set("authkit:written-after", "1")
    assert fake_redis.get("authkit:written-after") is None
    assert not issubclass(durability.RollbackDetected, (redis.ConnectionError, redis.TimeoutError))


def test_snapshot_keeps_expiry_and_restore_drops_what_expired(fake_redis: redis.Redis) -> None:
    fake_redis.set("authkit:short", "1", px=60_000)
    fake_redis.set("authkit:forever", "1")
    saved = snapshot(fake_redis)
    restore(fake_redis, saved)
    with pytest.raises(durability.RollbackDetected):
        fake_redis.ping()
    assert fake_redis.exists("authkit:short", "authkit:forever") == 0, "the detector purged both"
    plain = connect(fresh=True, detect_rollback=False)
    with time_machine.travel(time.time(), tick=False) as clock:
        plain.set("minute", "1", px=60_000)
        plain.set("second", "1", px=1_000)
        kept = snapshot(plain)
        clock.shift(2)  # the server is down for two seconds
        restore(plain, kept)
        assert (plain.pttl("minute"), plain.exists("second")) == (58_000, 0)


def test_a_purge_in_progress_fails_closed_until_its_lease_runs_out(fake_redis: redis.Redis) -> None:
    fake_redis.ping()
    restore(fake_redis, snapshot(fake_redis))  # a restart: from now on the server holds a marker
    with pytest.raises(durability.RollbackDetected):
        fake_redis.ping()
    fake_redis.set("authkit:session", "1")
    operator(fake_redis).hset(durability.MARKER, mapping={"state": "purging", "lease": str(2**62)})
    fake_redis.connection_pool.disconnect()
    with pytest.raises(durability.RecoveryInProgress):
        fake_redis.get("authkit:session")
    operator(fake_redis).hset(durability.MARKER, "lease", "0")  # the purger died long ago
    with pytest.raises(durability.RollbackDetected):  # this connection takes the purge over
        fake_redis.get("authkit:session")
    assert fake_redis.get("authkit:session") is None


def test_snapshot_needs_the_embedded_default(redis_server) -> None:
    with pytest.raises(TypeError, match="LocalRedisServer"):
        snapshot(connect(redis_server.url))


# --- start-up after a restart: the stores are built, and fail closed -------------------------------

API_KEYS, API_REFRESH_KEYS = KeySet(SigningKey.generate("EdDSA")), KeySet(SigningKey.generate("HS256"))


def bearer_api(client: redis.Redis) -> Any:
    """The bearer API on ``client``, with the same keys every time (as every worker of a deployment)."""
    return create_app(redis_client=client, keys=API_KEYS, refresh_keys=API_REFRESH_KEYS)


BUILDERS = {"session store": SessionStore, "bearer API": bearer_api}


def logged_in(client: redis.Redis) -> tuple[str, dict[str, Any]]:
    """A session ID and a bearer API token response for alice, on ``client``."""
    service = bearer_api(client).extensions["authkit.bearer"]
    return SessionStore(client).create("alice").id, service.login("alice", scope="read").as_json()


def refusals(client: redis.Redis, session_id: str, tokens: dict[str, Any]) -> dict[str, Any]:
    """What a store and an API built now answer to the credentials of before."""
    try:
        SessionStore(client).validate(session_id)
        session = "accepted"
    except (SessionError, StoreUnavailable) as refused:
        session = refused.reason
    api = bearer_api(client).test_client()
    me = api.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    refresh = api.post("/refresh", json={"refresh_token": tokens["refresh_token"]})
    return {"session": session, "/me": me.get_json().get("error_description", "accepted"),
            "/refresh": refresh.get_json().get("error_description", "accepted")}


@pytest.mark.parametrize("first", BUILDERS)
@pytest.mark.parametrize("backend", ["fakeredis", "redis-server"])
def test_built_after_a_restart_that_lost_writes_a_store_starts_and_refuses_what_came_before(
        backend: str, first: str, server_factory) -> None:
    """The first command of a store built at start-up meets the restart (RollbackDetected): no crash."""
    server = server_factory() if backend == "redis-server" else None
    client = server.client() if server else connect(fresh=True)
    session_id, tokens = logged_in(client)
    if server:
        server.kill()
        server.restart()
    else:
        restore(client, snapshot(client))
    BUILDERS[first](client)  # before: RollbackDetected (session store) or StoreUnavailable (bearer API) escaped
    assert durability.detector_of(client).recoveries, "this client purged"
    assert refusals(client, session_id, tokens) == {
        "session": "unknown",
        "/me": "access token refused: revoked",  # issued before the restart
        "/refresh": "refresh token refused: revoked",  # its family was purged (the user's logins index is gone too)
    }


@pytest.mark.parametrize("first", BUILDERS)
def test_built_while_another_worker_purges_a_store_starts_and_answers_503(first: str) -> None:
    client = connect(fresh=True)
    session_id, tokens = logged_in(client)
    restore(client, snapshot(client))
    with pytest.raises(durability.RollbackDetected):
        client.ping()
    operator(client).hset(durability.MARKER, mapping={"state": "purging", "lease": str(2**62)})
    client.connection_pool.disconnect()
    BUILDERS[first](client)  # before: RecoveryInProgress escaped (session store), or StoreUnavailable
    unavailable = "the token store is unreachable"
    assert refusals(client, session_id, tokens) == {"session": "store_unavailable", "/me": unavailable,
                                                    "/refresh": unavailable}
    operator(client).hset(durability.MARKER, "lease", "0")  # the purger died: the next connection takes over
    assert refusals(client, session_id, tokens) == {"session": "unknown", "/me": "access token refused: revoked",
                                                    "/refresh": "refresh token refused: revoked"}
