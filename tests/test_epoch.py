"""Faults that Redis does not report: the revocation epoch brings back no revoked credential.

Each case logs users in, revokes them every way authkit can (see ``tests.test_durability.revoke``),
injects a fault on a real ``redis-server`` and presents the revoked credentials again: through the
process that saw the revocations and, where the fault comes with a restart, through a process started
afterwards that knows only the host's epoch file. ``epochs=False`` is the check by run ID alone (before).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import redis

from authkit.state import durability
from authkit.state.redis import LocalRedisServer, connect
from authkit.tokens.keys import KeySet, SigningKey
from authkit.state.refresh import RefreshFamilies, TokenService
from authkit.state.revocation import DENYLIST_AND_VERSION, AccessGuard, RevocationStore
from authkit.state.sessions import SessionStore
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from tests.jwt_forge import AUDIENCE, ISSUER
from tests.test_durability import World, accepted, build, log_in, revoke

DEBUG = ["--enable-debug-command", "yes"]


def client_of(server: LocalRedisServer, epochs: bool, file: Path, **options: Any) -> redis.Redis:
    return connect(server.url, epochs=epochs, epoch_file=file, **options)


def world_on(client: redis.Redis, keys: KeySet, prefix: str | None) -> World:
    """``tests.test_durability.build``, every store under ``prefix`` when one is given."""
    if prefix is None:
        return build(client, keys)
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    guard = AccessGuard(verifier, DENYLIST_AND_VERSION, RevocationStore(client, prefix=prefix))
    service = TokenService(TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE), verifier,
                           RefreshFamilies(client, prefix=prefix), guard)
    return World(client, SessionStore(client, prefix=f"{prefix}:sess"), service)


def revived(server: LocalRedisServer, fault: Callable[[], Any], epochs: bool, file: Path, *,
            before: Callable[[], Any] = lambda: None, new_process: bool = True, prefix: str | None = None) -> list[str]:
    """The revoked credentials accepted after ``fault``, by the old process or a new one.

    ``before`` runs after the logins, before the revocations (a backup, a setting changed at runtime).
    """
    keys = KeySet(SigningKey.generate("EdDSA", kid="k1"))
    world = world_on(client_of(server, epochs, file), keys, prefix)
    logins = log_in(world)
    before()
    revoked = revoke(world, logins)
    assert accepted(world, revoked) == [], "sanity: refused before the fault"
    fault()
    found = set(accepted(world, revoked))
    if new_process:
        found |= set(accepted(world_on(client_of(server, epochs, file), keys, prefix), revoked))
    return sorted(found)


def aof_dir(server: LocalRedisServer) -> Path:
    return Path(server.arguments[server.arguments.index("--dir") + 1])


CASES = ["appendonly off at runtime", "old backup", "stale replica on the old port", "FLUSHALL", "FLUSHDB",
         "DEBUG LOADAOF", "DEBUG RELOAD NOSAVE", "marker deleted", "custom prefix"]


def run_case(case: str, servers: Callable[..., LocalRedisServer], epochs: bool, tmp_path: Path) -> list[str]:
    file = tmp_path / "epoch"
    always = {"appendonly": True, "appendfsync": "always"}
    if case == "appendonly off at runtime":
        server = servers(**always)

        def fault() -> None:
            server.kill()
            server.restart()
        return _with_before_revoke(server, fault, epochs, file, lambda: server.admin().config_set("appendonly", "no"))
    if case == "old backup":
        server = servers(**always)
        backup = tmp_path / "backup"
        return _with_before_revoke(server, lambda: _restore(server, backup), epochs, file,
                                   lambda: shutil.copytree(aof_dir(server), backup))
    if case == "stale replica on the old port":
        primary = servers(**always)
        replica = servers(**always, args=["--replicaof", "127.0.0.1", str(primary.port)])

        def cut_off() -> None:
            with primary.admin() as admin:
                admin.wait(1, 5000)
            with replica.admin() as admin:
                admin.replicaof("NO", "ONE")  # promoted early: it misses every revocation that follows

        def fault() -> None:
            primary.kill()
            replica.kill()  # its data, brought up where the services look for Redis
            shutil.rmtree(aof_dir(primary))
            shutil.copytree(aof_dir(replica), aof_dir(primary))
            primary.restart()
        return _with_before_revoke(primary, fault, epochs, file, cut_off)
    if case in ("FLUSHALL", "FLUSHDB"):
        server = servers(**always)
        return revived(server, lambda: server.admin().execute_command(case), epochs, file)
    if case == "DEBUG LOADAOF":
        server = servers(**always, args=DEBUG)
        return _with_before_revoke(server, lambda: server.admin().execute_command("DEBUG", "LOADAOF"), epochs, file,
                                   lambda: server.admin().config_set("appendonly", "no"), new_process=False)
    if case == "DEBUG RELOAD NOSAVE":
        server = servers(args=DEBUG)
        return _with_before_revoke(server, lambda: server.admin().execute_command("DEBUG", "RELOAD", "NOSAVE"),
                                   epochs, file, server.snapshot, new_process=False)
    if case == "marker deleted":
        server = servers()
        return revived(server, lambda: server.admin().delete("authkit:durability"), epochs, file)
    if case == "custom prefix":
        server = servers()

        def fault() -> None:
            server.kill()
            server.restart()
        return _with_before_revoke(server, fault, epochs, file, server.snapshot, prefix="myapp")
    raise AssertionError(case)


def _restore(server: LocalRedisServer, backup: Path) -> None:
    server.kill()
    shutil.rmtree(aof_dir(server))
    shutil.copytree(backup, aof_dir(server))
    server.restart()


def _with_before_revoke(server: LocalRedisServer, fault: Callable[[], Any], epochs: bool, file: Path,
                        before: Callable[[], Any], **options: Any) -> list[str]:
    return revived(server, fault, epochs, file, before=before, **options)


@pytest.mark.real_redis
@pytest.mark.parametrize("case", CASES)
def test_no_revoked_credential_comes_back_after_the_fault(case: str, server_factory, tmp_path: Path) -> None:
    assert run_case(case, server_factory, True, tmp_path) == []


#: Revived by the run-ID check alone (the code before the epoch): every case above but these revived some.
BEFORE_NONE = {"marker deleted", "custom prefix"}  # in one process; the prefix: cover() fixed the purge too


#: Whether the run-ID check alone notices this one depends on timing (whether a pooled connection
#: reconnects before the restart): what it shows "before" is not stable, so it is not asserted.
BEFORE_VARIES = ("stale replica on the old port",)


@pytest.mark.real_redis
@pytest.mark.parametrize("case", [case for case in CASES if case not in BEFORE_VARIES])
def test_the_run_id_check_alone_let_revoked_credentials_back(case: str, server_factory, tmp_path: Path) -> None:
    found = run_case(case, server_factory, False, tmp_path)
    print(f"{case}: {len(found)} revived without the epoch: {found}")
    assert (found == []) == (case in BEFORE_NONE), found


@pytest.mark.real_redis
def test_the_bearer_api_writes_under_its_prefix_and_the_purge_covers_it(server_factory) -> None:
    from authkit.web.bearer_app import create_app

    server = server_factory()
    client = connect(server.url)
    api = create_app({"KEY_PREFIX": "myapi"}, redis_client=client).test_client()
    service = api.application.extensions["authkit.bearer"]
    tokens = service.login("alice", scope="read")
    with server.admin() as admin:
        assert admin.keys("myapi:rt:*") and not admin.keys("authkit:rt:*")
    assert "myapi:*" in durability.detector_of(client).patterns
    server.snapshot()
    service.logout(service.guard.check(tokens.access_token))
    server.kill()
    server.restart()
    for _ in range(4):  # 503 while the restart is detected and the keys purged (each check may meet it once)
        refreshed = api.post("/refresh", json={"refresh_token": tokens.refresh_token})
        if refreshed.status_code != 503:
            break
    assert refreshed.get_json()["error"] == "invalid_grant", refreshed.get_json()  # its family was purged
