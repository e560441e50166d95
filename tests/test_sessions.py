"""authkit.sessions: the contract, written once, run on fakeredis and on a real redis-server.

Time moves virtually on fakeredis (time-machine) and really on redis-server, whose clock cannot
be moved: the timeouts here are short (milliseconds) so the same test runs on both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import pytest
import redis
import time_machine
from redis.crc import key_slot

from authkit import SessionError, SessionStore, StoreUnavailable, session_handle
from authkit.redis import (
    LocalRedisServer,
    connect,
    count_round_trips,
    free_port,
    is_fake,
)

IDLE = timedelta(milliseconds=500)
ABSOLUTE = timedelta(milliseconds=1200)
MS = timedelta(milliseconds=1)

Clock = Callable[[timedelta], None]


@pytest.fixture
def clock(redis_client: redis.Redis) -> Iterator[Clock]:
    """Advance time: virtually on fakeredis (time-machine, frozen), by sleeping on redis-server."""
    if not is_fake(redis_client):
        yield lambda delta: time.sleep(delta.total_seconds())
        return
    with time_machine.travel(datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc), tick=False) as traveller:
        yield traveller.shift


@pytest.fixture
def store(redis_client: redis.Redis) -> SessionStore:
    return SessionStore(redis_client, idle=IDLE, absolute=ABSOLUTE)


def reason(call: Callable[[], object]) -> str:
    with pytest.raises(SessionError) as caught:
        call()
    return caught.value.reason


# --- create, validate, slide ---------------------------------------------------------------------


def test_create_returns_a_live_session_with_both_deadlines(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice", roles=["admin"], label="laptop")
    assert session.id.startswith("alice.") and len(session.id) == len("alice.") + 43  # 256-bit secret
    seen = store.validate(session.id)
    assert (seen.user_id, seen.roles, seen.label) == ("alice", ("admin",), "laptop")
    assert seen.created == session.created
    assert seen.idle_deadline == seen.last_seen + IDLE
    assert seen.absolute_deadline == session.created + ABSOLUTE


def test_validate_slides_the_idle_deadline(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    clock(300 * MS)
    slid = store.validate(session.id)
    assert slid.wrote and slid.last_seen > session.created
    assert slid.idle_deadline == slid.last_seen + IDLE > session.idle_deadline
    clock(300 * MS)  # 600 ms after login, more than IDLE, but only 300 ms since the last request
    assert store.validate(session.id).user_id == "alice"


def test_redis_ttl_is_the_earlier_deadline(redis_client: redis.Redis, clock: Clock) -> None:
    store = SessionStore(redis_client, idle=800 * MS, absolute=ABSOLUTE)
    session = store.create("alice")
    record = store.key("alice", session.handle)
    assert redis_client.pexpiretime(record) == _ms(session.idle_deadline)
    clock(600 * MS)
    late = store.validate(session.id)  # now + idle would pass the absolute deadline: capped
    assert late.expires_at == late.absolute_deadline
    assert redis_client.pexpiretime(record) == _ms(late.absolute_deadline)


def test_peek_reads_without_sliding(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    clock(100 * MS)
    peeked = store.peek(session.id)
    assert not peeked.wrote and peeked.last_seen == session.last_seen
    assert peeked.idle_deadline == session.idle_deadline and peeked.checked_at > session.checked_at


def test_half_policy_writes_only_after_half_the_idle_window(redis_client: redis.Redis, clock: Clock) -> None:
    store = SessionStore(redis_client, idle=IDLE, absolute=ABSOLUTE, slide="half")
    session = store.create("alice")
    clock(100 * MS)
    early = store.validate(session.id)
    assert not early.wrote and early.idle_deadline == session.idle_deadline
    clock(250 * MS)  # 350 ms since the last write: past IDLE / 2
    late = store.validate(session.id)
    assert late.wrote and late.idle_deadline == late.last_seen + IDLE


# --- expiry --------------------------------------------------------------------------------------


def test_idle_timeout(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    clock(IDLE + 50 * MS)
    assert reason(lambda: store.validate(session.id)) == "idle_timeout"
    assert reason(lambda: store.validate(session.id)) == "idle_timeout"  # the reason stays readable


def test_absolute_timeout_is_reached_while_active(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    for _ in range(7):  # a request every 150 ms keeps the idle deadline ahead: 1050 ms in total
        clock(150 * MS)
        assert store.validate(session.id).absolute_deadline == session.absolute_deadline
    clock(200 * MS)
    assert reason(lambda: store.validate(session.id)) == "absolute_timeout"


def test_default_timeouts_are_30_minutes_idle_and_8_hours_absolute(fake_redis: redis.Redis) -> None:
    with time_machine.travel(datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc), tick=False) as traveller:
        store = SessionStore(fake_redis)
        session = store.create("alice")
        assert session.idle_deadline == datetime(2026, 1, 1, 9, 30, tzinfo=timezone.utc)
        for _ in range(23):  # one request every 20 minutes until 16:40
            traveller.shift(timedelta(minutes=20))
            store.validate(session.id)
        traveller.shift(timedelta(minutes=20))  # 17:00: eight hours after login
        assert reason(lambda: store.validate(session.id)) == "absolute_timeout"


# --- lifecycle -----------------------------------------------------------------------------------


def test_rotation_kills_the_old_id_at_once(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice", label="laptop")
    new_id = store.rotate(session.id)
    assert new_id != session.id
    assert reason(lambda: store.validate(session.id)) == "unknown"
    moved = store.validate(new_id)
    assert (moved.created, moved.label, moved.absolute_deadline) == (session.created, "laptop", session.absolute_deadline)
    assert moved.csrf_token != session.csrf_token
    assert reason(lambda: store.rotate(session.id)) == "unknown"


def test_role_change_applies_on_next_request_and_rotates(store: SessionStore, clock: Clock) -> None:
    session = store.create("bob", roles=["transfer"])
    store.set_roles("bob", ["reader"])
    changed = store.validate(session.id)
    assert changed.roles == ("reader",) and changed.rotated and changed.id != session.id
    assert reason(lambda: store.validate(session.id)) == "unknown"
    again = store.validate(changed.id)
    assert again.roles == ("reader",) and not again.rotated and again.id == changed.id


def test_roles_seed_only_a_user_without_a_record(store: SessionStore, clock: Clock) -> None:
    store.create("bob", roles=["transfer"])
    store.set_roles("bob", [])
    assert store.create("bob", roles=["transfer"]).roles == ()
    assert store.roles("bob") == ()


def test_logout_deletes(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    assert store.destroy(session.id) is True
    assert reason(lambda: store.validate(session.id)) == "unknown"
    assert store.destroy(session.id) is False
    assert store.sessions("alice") == []


def test_logout_everywhere_and_everywhere_but_this_one(store: SessionStore, clock: Clock) -> None:
    laptop, phone, tablet = (store.create("alice", label=x) for x in ("laptop", "phone", "tablet"))
    other = store.create("bob")
    assert store.destroy_all("alice", keep=phone.id) == 2
    assert [s.label for s in store.sessions("alice")] == ["phone"]
    assert store.validate(phone.id).user_id == "alice"
    for gone in (laptop, tablet):
        assert reason(lambda: store.validate(gone.id)) == "unknown"
    assert store.destroy_all("alice") == 1
    assert reason(lambda: store.validate(phone.id)) == "unknown"
    assert store.validate(other.id).user_id == "bob"
    with pytest.raises(ValueError, match="another user"):
        store.destroy_all("alice", keep=other.id)


def test_listing_and_forced_logoff_of_one_device(store: SessionStore, clock: Clock) -> None:
    laptop = store.create("alice", label="laptop")
    clock(10 * MS)
    phone = store.create("alice", label="phone")
    clock(10 * MS)
    store.validate(laptop.id)
    listed = store.sessions("alice")
    assert [(s.label, s.created) for s in listed] == [("laptop", laptop.created), ("phone", phone.created)]
    assert listed[0].last_seen > laptop.created and listed[1].last_seen == phone.created
    assert store.revoke("alice", listed[1].handle) is True
    assert reason(lambda: store.validate(phone.id)) == "unknown"
    assert store.validate(laptop.id).user_id == "alice"
    assert store.revoke("alice", listed[1].handle) is False


@pytest.mark.parametrize("handle", ["index", "user", "", "A" * 64, "*", None])
def test_revoke_names_only_sessions_never_the_users_other_keys(store: SessionStore, handle) -> None:
    session = store.create("alice", roles=("admin",), label="laptop")
    store.set_roles("alice", ["viewer"])  # the record the "user" key holds: roles and a privilege generation
    assert store.revoke("alice", handle) is False
    assert store.roles("alice") == ("viewer",), "the roles record is intact"
    assert [s.label for s in store.sessions("alice")] == ["laptop"], "the index is intact"
    assert store.destroy_all("alice") == 1 and reason(lambda: store.validate(session.id)) == "unknown"


# --- what Redis holds ----------------------------------------------------------------------------


def test_redis_holds_no_usable_session_id(redis_client: redis.Redis, store: SessionStore, clock: Clock) -> None:
    ids = [store.create("alice", label="laptop").id, store.create("bob").id]
    ids.append(store.rotate(ids[0]))
    dump = _dump(redis_client)
    assert dump  # the scan did read something
    for session_id in ids:
        secret = session_id.partition(".")[2]
        assert secret not in dump and session_id not in dump
    assert session_handle(ids[2]) in dump  # what is stored instead: the SHA-256


def test_a_users_keys_share_one_cluster_slot(redis_client: redis.Redis, store: SessionStore, clock: Clock) -> None:
    store.set_roles("alice", ["admin"])
    store.create("alice")
    store.create("alice")
    keys = redis_client.keys("*{u:alice}*")
    assert len(keys) == 4  # two records, the index, the user record
    assert len({key_slot(k.encode()) for k in keys}) == 1


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        ("", "malformed"),
        ("alice", "malformed"),
        ("alice." + "A" * 42, "malformed"),
        ("alice." + "A" * 44, "malformed"),
        ("al ice." + "A" * 43, "malformed"),
        ("alice." + "A" * 42 + "=", "malformed"),
        ("alice." + "A" * 43 + "\n", "malformed"),
        ("{u:x}." + "A" * 43, "malformed"),
        ("alice." + "A" * 43, "unknown"),
    ],
)
def test_bad_cookies_are_refused_with_a_reason(store: SessionStore, cookie: str, expected: str) -> None:
    assert reason(lambda: store.validate(cookie)) == expected


def test_a_cookie_moved_to_another_user_is_unknown(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    assert reason(lambda: store.validate("bob." + session.id.partition(".")[2])) == "unknown"


@pytest.mark.parametrize(
    "config",
    [{"slide": "sometimes"}, {"idle": timedelta(0)}, {"absolute": timedelta(microseconds=500)}],
)
def test_bad_configuration_is_refused(fake_redis: redis.Redis, config: dict) -> None:
    with pytest.raises(ValueError):
        SessionStore(fake_redis, **config)


@pytest.mark.parametrize("user", ["", "a" * 65, "al ice", "{u:x}", "é"])
def test_bad_user_ids_are_refused(store: SessionStore, user: str) -> None:
    with pytest.raises(ValueError, match="user IDs"):
        store.create(user)


# --- fail closed ---------------------------------------------------------------------------------


def _down_store() -> SessionStore:
    return SessionStore(connect(f"redis://127.0.0.1:{free_port()}/0"))


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.create("alice"),
        lambda s: s.validate("alice." + "A" * 43),
        lambda s: s.peek("alice." + "A" * 43),
        lambda s: s.rotate("alice." + "A" * 43),
        lambda s: s.destroy("alice." + "A" * 43),
        lambda s: s.destroy_all("alice"),
        lambda s: s.sessions("alice"),
        lambda s: s.set_roles("alice", ["admin"]),
        lambda s: s.roles("alice"),
    ],
    ids=["create", "validate", "peek", "rotate", "destroy", "destroy_all", "sessions", "set_roles", "roles"],
)
def test_unreachable_redis_fails_closed(operation: Callable[[SessionStore], object]) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        operation(_down_store())
    assert caught.value.reason == "store_unavailable"
    assert isinstance(caught.value.__cause__, redis.ConnectionError)


def test_redis_dying_under_a_live_session_fails_closed(redis_server: LocalRedisServer) -> None:
    with LocalRedisServer() as doomed:
        store = SessionStore(doomed.client())
        session = store.create("alice")
        assert store.validate(session.id).user_id == "alice"
    with pytest.raises(StoreUnavailable):
        store.validate(session.id)


# --- round trips and races on the real server -----------------------------------------------------


def test_validate_and_slide_is_one_round_trip(real_redis: redis.Redis) -> None:
    for slide in ("always", "half"):
        store = SessionStore(real_redis, slide=slide)
        session = store.create("alice")
        with count_round_trips(real_redis) as log:
            seen = store.validate(session.id)
        assert log.round_trips == 1, log.commands
        assert log.commands[0].startswith("EVALSHA")
        assert seen.wrote is (slide == "always")


def test_each_lifecycle_step_is_one_round_trip(real_redis: redis.Redis) -> None:
    store = SessionStore(real_redis)
    with count_round_trips(real_redis) as log:
        session = store.create("alice")
    assert log.round_trips == 1, log.commands
    with count_round_trips(real_redis) as log:
        store.rotate(session.id)
    assert log.round_trips == 1, log.commands
    with count_round_trips(real_redis) as log:
        store.destroy(store.create("bob").id)
    assert log.round_trips == 2, log.commands  # create, then destroy


def test_after_script_flush_one_request_pays_for_reloading(real_redis: redis.Redis) -> None:
    store = SessionStore(real_redis)
    session = store.create("alice")
    real_redis.script_flush()  # as after a server restart
    with count_round_trips(real_redis) as log:
        store.validate(session.id)
    assert [c.split()[0] for c in log.commands] == ["EVALSHA", "SCRIPT", "EVALSHA"]
    with count_round_trips(real_redis) as log:
        store.validate(session.id)
    assert log.round_trips == 1


def test_concurrent_rotations_of_one_id_have_one_winner(real_redis: redis.Redis, redis_server: LocalRedisServer) -> None:
    session = SessionStore(real_redis).create("alice")
    results: list[str] = []
    start = threading.Barrier(8)

    def rotate() -> None:
        store = SessionStore(connect(redis_server.url))
        start.wait()
        try:
            results.append(store.rotate(session.id))
        except SessionError as err:
            results.append(err.reason)

    threads = [threading.Thread(target=rotate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r != "unknown"]
    assert len(results) == 8 and len(winners) == 1
    assert SessionStore(real_redis).validate(winners[0]).user_id == "alice"


# --- helpers -------------------------------------------------------------------------------------


def _ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // MS


def _dump(client: redis.Redis) -> str:
    """Every key and every value in the database, as one string."""
    parts: list[str] = []
    for key in client.scan_iter():
        kind = client.type(key)
        parts.append(key)
        if kind == "hash":
            parts.extend(f"{k}={v}" for k, v in client.hgetall(key).items())
        elif kind == "zset":
            parts.extend(f"{m}={s}" for m, s in client.zrange(key, 0, -1, withscores=True))
        elif kind == "string":
            parts.append(client.get(key) or "")
        else:
            raise AssertionError(f"unexpected key type {kind} for {key}")
    return "\n".join(parts)
