"""authkit.state.redis: the embedded default, the real server on request, round trips from the server."""

from __future__ import annotations

import time

import pytest
import redis

from authkit.state import redis as akredis


def test_default_is_fakeredis_with_lua(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(akredis.ENV_VAR, raising=False)
    client = akredis.connect(fresh=True)
    assert akredis.is_fake(client)
    assert akredis.describe(client).startswith("fakeredis")
    assert client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "k", "v") == "OK"
    assert client.get("k") == "v"


def test_env_var_selects_real_server(monkeypatch: pytest.MonkeyPatch, redis_server) -> None:
    monkeypatch.setenv(akredis.ENV_VAR, redis_server.url)
    client = akredis.connect()
    assert not akredis.is_fake(client)
    assert akredis.describe(client) == (
        f"redis-server {client.info('server')['redis_version']} at 127.0.0.1:{redis_server.port}"
    )


def test_contract_fixture_round_trip(redis_client) -> None:
    redis_client.set("greeting", "hello", px=60_000)
    assert redis_client.get("greeting") == "hello"
    assert 0 < redis_client.pttl("greeting") <= 60_000


def test_unreachable_server_raises_connection_error() -> None:
    import redis

    from authkit.state.redis import free_port

    client = akredis.connect(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_round_trips_counted_from_the_server_skip_script_internals(real_redis) -> None:
    with akredis.count_round_trips(real_redis) as log:
        real_redis.set("a", "1")
        real_redis.eval("redis.call('GET', KEYS[1]); return redis.call('GET', KEYS[1])", 1, "a")
    assert log.round_trips == 2, log.commands
    assert log.commands[0].startswith("SET")
    assert log.commands[1].startswith("EVAL")


def test_a_block_silent_for_longer_than_the_socket_timeout_is_counted_whole(real_redis) -> None:
    """Like a scrypt login on a loaded machine: nothing reaches Redis for longer than the client's 2 s timeout."""
    timeout = real_redis.connection_pool.connection_kwargs["socket_timeout"]
    with akredis.count_round_trips(real_redis) as log:
        real_redis.set("a", "1")
        time.sleep(timeout + 0.5)
        real_redis.get("a")
    assert [command.split()[0] for command in log.commands] == ["SET", "GET"]


def test_a_lost_watcher_is_an_error_never_a_short_count(real_redis, redis_server) -> None:
    with pytest.raises(RuntimeError, match="watcher was lost") as caught:
        with akredis.count_round_trips(real_redis):
            real_redis.set("a", "1")
            with redis_server.admin() as admin:
                (watcher,) = [c for c in admin.client_list() if "O" in c["flags"]]  # O: a MONITOR client
                admin.client_kill_filter(_id=watcher["id"])
            real_redis.get("a")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)


def test_round_trips_need_a_real_server(fake_redis) -> None:
    with pytest.raises(TypeError, match="real redis-server"):
        with akredis.count_round_trips(fake_redis):
            pass


def test_fail_closed_turns_any_redis_error_into_store_unavailable() -> None:
    from authkit.errors import StoreUnavailable
    from authkit.state.redis import free_port

    client = akredis.connect(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable) as caught:
        with akredis.fail_closed("session store"):
            client.get("anything")
    assert caught.value.reason == "store_unavailable"
    assert str(caught.value).startswith("store_unavailable: the session store is unavailable (ConnectionError")
    with akredis.fail_closed("session store"):
        assert akredis.connect(fresh=True).get("anything") is None  # no error, nothing raised


@pytest.mark.real_redis
def test_local_server_restarts_on_its_port_from_its_snapshot() -> None:
    with akredis.LocalRedisServer() as server:
        admin = server.admin()
        admin.set("saved", "1")
        server.snapshot()
        admin.set("after the snapshot", "1")
        port = server.port
        server.kill()
        server.restart()
        assert server.port == port
        assert (admin.get("saved"), admin.get("after the snapshot")) == ("1", None)


@pytest.mark.real_redis
def test_local_server_with_aof_always_keeps_every_acknowledged_write() -> None:
    with akredis.LocalRedisServer(appendonly=True, appendfsync="always") as server:
        server.admin().set("written", "1")
        server.kill()
        server.restart()
        assert server.admin().get("written") == "1"


@pytest.mark.real_redis
def test_a_dead_pooled_connection_is_replaced_and_the_command_sent_once() -> None:
    with akredis.LocalRedisServer() as server:
        client = akredis.connect(server.url, detect_rollback=False)
        client.ping()
        server.kill()
        server.restart()
        assert client.incr("n") == 1  # the dead socket failed, one reconnect carried the command


@pytest.mark.real_redis
def test_a_command_that_timed_out_is_not_sent_again() -> None:
    import redis

    with akredis.LocalRedisServer() as server:
        client = akredis.connect(server.url, detect_rollback=False)
        client.ping()
        server.pause()
        try:
            with pytest.raises(redis.TimeoutError):
                client.incr("n")
        finally:
            server.resume()
        assert server.admin().get("n") == "1", "it ran once: a resend would have counted twice"


def test_the_embedded_default_checks_new_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    from authkit.state import durability

    monkeypatch.delenv(akredis.ENV_VAR, raising=False)
    assert isinstance(durability.detector_of(akredis.connect(fresh=True)), durability.RollbackDetector)
    assert durability.detector_of(akredis.connect(fresh=True, detect_rollback=False)) is None


def test_the_epoch_travels_with_each_command_and_adds_no_round_trip(redis_server, tmp_path) -> None:
    from authkit.state.epoch import EpochFile
    from authkit.state.revocation import RevocationStore

    client = akredis.connect(redis_server.url, epoch_file=tmp_path / "epoch")
    store = RevocationStore(client, prefix="authkit-rt-test")
    with akredis.count_round_trips(client) as log:
        store.bump_version("alice")  # a revocation: the write, its increment behind it, one packet
        store.version("alice")
    assert log.round_trips == 2, log.commands
    assert log.piggybacked >= 3, "a read before each command, an increment behind the revocation"
    assert EpochFile(tmp_path / "epoch").read() >= 1, "the revocation's epoch is kept outside Redis"


def test_an_epoch_file_only_ever_goes_up(tmp_path) -> None:
    from authkit.state.epoch import EpochFile

    file = EpochFile(tmp_path / "epoch")
    assert file.read() == 0
    file.raise_to(5)
    file.raise_to(3)  # another worker that saw less must not lower the mark
    assert EpochFile(tmp_path / "epoch").read() == 5
