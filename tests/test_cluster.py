"""The same store code on a real 3-node Redis Cluster: every operation stays inside one user's hash slot."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterator

import pytest
import redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from authkit.errors import SessionError, TokenError
from authkit.state.refresh import RefreshFamilies, TokenService
from authkit.state.revocation import DENYLIST_AND_VERSION, AccessGuard, RevocationStore
from authkit.state.sessions import SessionStore
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from tests.conftest import IN_CI

USERS = ("alice", "bob", "carol", "dave", "erin", "frank")


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisCluster]:
    """Three masters from Debian's redis-server, joined with redis-cli; stopped and removed afterwards."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        reason = "redis-server and redis-cli are needed for the cluster tests"
        if IN_CI:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    ports = _cluster_ports(3)
    workdir = tempfile.TemporaryDirectory(prefix="authkit-cluster-")
    nodes = []
    for port in ports:
        folder = os.path.join(workdir.name, str(port))
        os.mkdir(folder)
        nodes.append(subprocess.Popen(
            [server, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no", "--dir", folder],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        ))
    try:
        for port, node in zip(ports, nodes):
            _wait_for_ping(port, node)
        subprocess.run([cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        _wait_until_ok(ports[0])
        client = RedisCluster(host="127.0.0.1", port=ports[0], decode_responses=True)
        yield client
        client.close()
    finally:
        for node in nodes:
            node.terminate()
            node.wait(10)
        workdir.cleanup()


def _cluster_ports(count: int) -> list[int]:
    """Free ports whose cluster-bus twin (port + 10000, where Redis puts its cluster bus) is free and valid too."""
    ports: list[int] = []
    rng = random.Random()
    while len(ports) < count:
        port = rng.randrange(20000, 55000)
        if port not in ports and _is_free(port) and _is_free(port + 10000):
            ports.append(port)
    return ports


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_for_ping(port: int, node: subprocess.Popen) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2).ping()
            return
        except redis.ConnectionError:
            if node.poll() is not None:
                raise RuntimeError(f"cluster node on port {port} exited with code {node.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _wait_until_ok(port: int) -> None:
    deadline = time.monotonic() + 20
    while redis.Redis(host="127.0.0.1", port=port, decode_responses=True).cluster("info").get("cluster_state") != "ok":
        if time.monotonic() > deadline:
            raise RuntimeError("the cluster never reached state ok")
        time.sleep(0.1)


def test_users_land_on_different_nodes(cluster: RedisCluster) -> None:
    store = SessionStore(cluster)
    owners = {cluster.get_node_from_key(store.key(user, "index")).name for user in USERS}
    assert len(owners) >= 2, "the test users must spread over several nodes, or the test proves nothing"


def test_session_lifecycle_on_a_cluster(cluster: RedisCluster) -> None:
    store = SessionStore(cluster)
    for user in USERS:
        laptop, phone = store.create(user, roles=["reader"], label="laptop"), store.create(user, label="phone")
        assert store.validate(laptop.id).user_id == user
        rotated = store.rotate(laptop.id)
        with pytest.raises(SessionError):
            store.validate(laptop.id)
        store.set_roles(user, ["reader", "writer"])
        renewed = store.validate(rotated)
        assert renewed.rotated and renewed.roles == ("reader", "writer")
        assert [s.label for s in store.sessions(user)] == ["laptop", "phone"]
        assert store.destroy_all(user, keep=renewed.id) == 1
        with pytest.raises(SessionError):
            store.validate(phone.id)
        assert store.destroy(renewed.id) is True
        assert store.sessions(user) == []
        slots = {key_slot(key.encode()) for key in cluster.keys(f"*{{u:{user}}}*")}
        assert len(slots) <= 1


def test_refresh_and_revocation_on_a_cluster(cluster: RedisCluster, issuer: TokenIssuer, verifier: TokenVerifier) -> None:
    guard = AccessGuard(verifier, DENYLIST_AND_VERSION, RevocationStore(cluster))
    service = TokenService(issuer, verifier, RefreshFamilies(cluster), guard)
    for user in USERS:
        first = service.login(user)
        second = service.refresh(first.refresh_token)
        assert guard.check(second.access_token)["sub"] == user
        with pytest.raises(TokenError) as reuse:
            service.refresh(first.refresh_token)
        assert reuse.value.reason == "reused"
        with pytest.raises(TokenError):
            service.refresh(second.refresh_token)  # the whole family died with the reuse
        third = service.login(user)
        service.logout(guard.check(third.access_token))
        with pytest.raises(TokenError) as after_logout:
            guard.check(third.access_token)
        assert after_logout.value.reason == "revoked"
        fourth = service.login(user)
        service.logout_all(user)
        with pytest.raises(TokenError):
            guard.check(fourth.access_token)
