"""authkit.state.sessions: the contract, written once, run on fakeredis and on a real redis-server.

Time moves virtually on fakeredis (time-machine) and really on redis-server, whose clock cannot
be moved: the timeouts here are short (milliseconds) so the same test runs on both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest
import redis
import time_machine
from redis.crc import key_slot

from authkit import SessionError, SessionStore, StoreUnavailable, session_handle
from authkit.state.redis import (
    LocalRedisServer,
    connect,
    count_round_trips,
    free_port,
    is_fake,
)

IDLE = timedelta(milliseconds=500)
ABSOLUTE = timedelta(milliseconds=1200)
MS = timedelta(milliseconds=1)

STALL = 100 * MS  # on redis-server, a run whose steps overran their sleeps by more than this proved nothing


class Clock:
    """Advance time: virtually on fakeredis (time-machine, frozen), by sleeping on redis-server."""

    def __init__(self, shift: Callable[[timedelta], object] | None = None) -> None:
        self._shift, self._slept = shift, 0.0

    def __call__(self, delta: timedelta) -> None:
        if self._shift is not None:
            self._shift(delta)
            return
        time.sleep(delta.total_seconds())
        self._slept += delta.total_seconds()

    def on_time(self, scenario: Callable[[], None], runs: int = 3) -> None:
        """Run a scenario whose "not expired yet" steps need the machine on time, again after a stall.

        A run that fails on time is a failure; so is a machine that stalls in every run.
        """
        for run in range(1, runs + 1):
            started, slept = time.monotonic(), self._slept
            try:
                scenario()
                return
            except (AssertionError, SessionError):
                overran = time.monotonic() - started - (self._slept - slept)
                if self._shift is not None or overran <= STALL.total_seconds() or run == runs:
                    raise


@pytest.fixture
def clock(redis_client: redis.Redis) -> Iterator[Clock]:
    if not is_fake(redis_client):
        yield Clock()
        return
    with time_machine.travel(datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc), tick=False) as traveller:
        yield Clock(traveller.shift)


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
    sealed, secret = session.id.split(".")
    assert (len(sealed), len(secret)) == (134, 43)  # the sealed routing data, a 256-bit secret
    assert store.ids.parse(session.id)[:2] == ("alice", _ms(session.absolute_deadline))
    seen = store.validate(session.id)
    assert (seen.user_id, seen.roles, seen.label) == ("alice", ("admin",), "laptop")
    assert seen.created == session.created
    assert seen.idle_deadline == seen.last_seen + IDLE
    assert seen.absolute_deadline == session.created + ABSOLUTE


def test_validate_slides_the_idle_deadline(store: SessionStore, clock: Clock) -> None:
    def scenario() -> None:
        session = store.create("alice")
        clock(300 * MS)
        slid = store.validate(session.id)
        assert slid.wrote and slid.last_seen > session.created
        assert slid.idle_deadline == slid.last_seen + IDLE > session.idle_deadline
        clock(300 * MS)  # 600 ms after login, more than IDLE, but only 300 ms since the last request
        assert store.validate(session.id).user_id == "alice"

    clock.on_time(scenario)


def test_redis_ttl_is_the_earlier_deadline(redis_client: redis.Redis, clock: Clock) -> None:
    def scenario() -> None:
        store = SessionStore(redis_client, idle=800 * MS, absolute=ABSOLUTE)
        session = store.create("alice")
        record = store.key("alice", session.handle)
        assert redis_client.pexpiretime(record) == _ms(session.idle_deadline) - 1  # Redis keeps a key through its expire time
        clock(600 * MS)
        late = store.validate(session.id)  # now + idle would pass the absolute deadline: capped
        assert late.expires_at == late.absolute_deadline
        assert redis_client.pexpiretime(record) == _ms(late.absolute_deadline) - 1

    clock.on_time(scenario)


def test_peek_reads_without_sliding(redis_client: redis.Redis, store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    expiry = redis_client.pexpiretime(store.key("alice", session.handle))
    clock(100 * MS)
    peeked = store.peek(session.id)
    assert not peeked.wrote and peeked.last_seen == session.last_seen
    assert peeked.idle_deadline == session.idle_deadline and peeked.checked_at > session.checked_at
    assert redis_client.pexpiretime(store.key("alice", session.handle)) == expiry


def test_peek_does_not_rotate_after_a_privilege_change(store: SessionStore, clock: Clock) -> None:
    session = store.create("bob", roles=["transfer", "reader"])
    store.set_roles("bob", ["reader", "admin"])
    peeked = store.peek(session.id)
    assert peeked.roles == ("reader",) and not peeked.rotated and peeked.id == session.id
    assert store.validate(session.id).rotated, "the ID still rotates on the next request"


def test_half_policy_writes_only_after_half_the_idle_window(redis_client: redis.Redis, clock: Clock) -> None:
    def scenario() -> None:
        store = SessionStore(redis_client, idle=IDLE, absolute=ABSOLUTE, slide="half")
        session = store.create("alice")
        clock(100 * MS)
        early = store.validate(session.id)
        assert not early.wrote and early.idle_deadline == session.idle_deadline
        clock(250 * MS)  # 350 ms since the last write: past IDLE / 2
        late = store.validate(session.id)
        assert late.wrote and late.idle_deadline == late.last_seen + IDLE

    clock.on_time(scenario)


# --- expiry --------------------------------------------------------------------------------------


def test_idle_timeout(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    clock(IDLE + 50 * MS)
    assert reason(lambda: store.validate(session.id)) == "idle_timeout"
    assert reason(lambda: store.validate(session.id)) == "idle_timeout"  # the reason stays readable


def test_absolute_timeout_is_reached_while_active(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    served = 0
    while True:  # a request every 150 ms keeps the idle deadline ahead, until the absolute cap ends it
        clock(150 * MS)  # on redis-server a real sleep, which a busy machine may stretch: count, do not assume
        try:
            assert store.validate(session.id).absolute_deadline == session.absolute_deadline
        except SessionError as refusal:
            assert refusal.reason == "absolute_timeout"
            break
        served += 1
    assert datetime.now(timezone.utc) >= session.absolute_deadline
    assert served * 150 * MS > IDLE, "activity kept the session alive past its idle timeout first"


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


def test_role_change_rotates_on_the_next_request_and_the_new_id_gets_the_new_roles(store: SessionStore, clock: Clock) -> None:
    session = store.create("bob", roles=["transfer", "reader"])
    store.set_roles("bob", ["reader", "admin"])  # one role removed, one added
    changed = store.validate(session.id)
    assert changed.rotated and changed.id != session.id and changed.roles == ("reader", "admin")
    again = store.validate(changed.id)
    assert again.roles == ("reader", "admin") and not again.rotated and again.id == changed.id


def test_the_old_id_keeps_working_during_the_grace_with_no_more_than_it_had(redis_client: redis.Redis, clock: Clock) -> None:
    def scenario() -> None:
        store = SessionStore(redis_client, idle=IDLE, absolute=ABSOLUTE, rotation_grace=300 * MS)
        session = store.create("bob", roles=["transfer", "reader"])
        store.set_roles("bob", ["reader", "admin"])
        new_id = store.validate(session.id).id
        in_flight = store.validate(session.id)  # a request sent before the browser had the new cookie
        assert in_flight.retired and not in_flight.rotated and in_flight.id == session.id
        assert in_flight.roles == ("reader",), "a promotion never reaches a pre-rotation ID"
        store.set_roles("bob", ["admin"])  # a demotion during the grace applies to the old ID at once
        assert store.validate(session.id).roles == ()
        clock(300 * MS)
        assert reason(lambda: store.validate(session.id)) == "unknown", "the grace is over"
        assert store.validate(new_id).user_id == "bob"

    clock.on_time(scenario)


@pytest.mark.parametrize("end", ["logout with the new ID", "logout with the old ID", "log out everywhere",
                                 "log out everywhere but the new ID"])
def test_logging_out_ends_the_old_id_in_its_grace_too(store: SessionStore, clock: Clock, end: str) -> None:
    session = store.create("bob", roles=["transfer"])
    store.set_roles("bob", ["reader"])
    new_id = store.validate(session.id).id
    assert store.validate(session.id).retired
    if end == "logout with the new ID":
        assert store.destroy(new_id) is True
    elif end == "logout with the old ID":
        assert store.destroy(session.id) is True
        assert reason(lambda: store.validate(new_id)) == "unknown", "logging out from an old tab ends the session"
    elif end == "log out everywhere":
        assert store.destroy_all("bob") == 1
    else:
        assert store.destroy_all("bob", keep=new_id) == 0
        assert store.validate(new_id).user_id == "bob"
    assert reason(lambda: store.validate(session.id)) == "unknown"


def test_an_explicit_rotation_has_no_grace(store: SessionStore, clock: Clock) -> None:
    session = store.create("bob")
    store.rotate(session.id)
    assert reason(lambda: store.validate(session.id)) == "unknown"


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


@pytest.mark.parametrize("handle", ["index", "roles", "", "A" * 64, "*", None])
def test_revoke_names_only_sessions_never_the_users_other_keys(store: SessionStore, handle) -> None:
    session = store.create("alice", roles=("admin",), label="laptop")
    store.set_roles("alice", ["viewer"])  # the "roles" key holds the user's current roles
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
    assert len(keys) == 4  # two records, the index, the roles
    assert len({key_slot(k.encode()) for k in keys}) == 1


FAR = int("9" * 15)  # an absolute deadline in ms, thousands of years away
SECRET = "A" * 43


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        ("", "malformed"),
        ("alice", "malformed"),
        ("alice." + SECRET, "malformed"),
        (f"alice.{FAR}." + SECRET, "malformed"),  # the format before IDs were sealed
        ("alice.1767258000000." + SECRET, "malformed"),
        ("A" * 134 + "." + SECRET, "malformed"),  # the right shape, sealed by nobody
        ("é" * 134 + "." + SECRET, "malformed"),
        ("A" * 133 + "!." + SECRET, "malformed"),
    ],
)
def test_bad_cookies_are_refused_with_a_reason(store: SessionStore, cookie: str, expected: str) -> None:
    assert reason(lambda: store.validate(cookie)) == expected


def test_a_well_sealed_id_that_was_never_issued_is_unknown(store: SessionStore) -> None:
    assert reason(lambda: store.validate(store.ids.seal("alice", FAR, SECRET))) == "unknown"
    assert reason(lambda: store.validate(store.ids.seal("alice", 1767258000000, SECRET))) == "unknown"  # past


def test_the_cookie_says_nothing_about_its_user_or_its_deadline(store: SessionStore, clock: Clock) -> None:
    short, long = store.create("Zq9xK2wL"), store.create("a" * 64)
    again = store.create("Zq9xK2wL")
    for session in (short, long):
        sealed, secret = session.id.split(".")
        for clear in (session.user_id, str(session.absolute_deadline_ms), session.user_id.encode().hex()):
            assert clear not in session.id
        assert len(session.id) == 178, "every ID is as long as every other, whatever the user ID"
    assert short.id.split(".")[0] != again.id.split(".")[0], "two IDs of one user never look alike"


def test_a_tampered_cookie_is_refused_without_a_round_trip(real_redis: redis.Redis) -> None:
    store = SessionStore(real_redis)
    session = store.create("alice")
    flipped = ("B" if session.id[5] == "A" else "A").join((session.id[:5], session.id[6:]))
    with count_round_trips(real_redis) as log:
        assert reason(lambda: store.validate(flipped)) == "malformed"
    assert log.round_trips == 0


def test_a_cookie_sealed_under_another_key_is_refused(fake_redis: redis.Redis) -> None:
    ours, theirs = SessionStore(fake_redis, cookie_key=b"k" * 32), SessionStore(fake_redis, cookie_key=b"t" * 32)
    session = theirs.create("alice")
    assert reason(lambda: ours.validate(session.id)) == "malformed"
    assert SessionStore(fake_redis, cookie_key=b"t" * 32).validate(session.id).user_id == "alice"


@pytest.mark.parametrize("key", [b"", b"short", "k" * 32])
def test_a_weak_or_mistyped_cookie_key_is_refused(fake_redis: redis.Redis, key: object) -> None:
    with pytest.raises(ValueError, match="32 random bytes"):
        SessionStore(fake_redis, cookie_key=key)


def test_a_cookie_moved_to_another_user_is_unknown(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    secret = session.id.split(".")[1]
    assert reason(lambda: store.validate(store.ids.seal("bob", session.absolute_deadline_ms, secret))) == "unknown"


def test_a_cookie_with_a_later_absolute_deadline_is_unknown(store: SessionStore, clock: Clock) -> None:
    session = store.create("alice")
    secret = session.id.split(".")[1]
    later = store.ids.seal("alice", session.absolute_deadline_ms + 3_600_000, secret)
    assert reason(lambda: store.validate(later)) == "unknown"
    assert store.validate(session.id).user_id == "alice"


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


SOME_ID = SessionStore(connect()).ids.seal("alice", FAR, SECRET)  # well sealed (the process's key), never issued


@pytest.mark.parametrize(
    "operation",
    [
        lambda s: s.create("alice"),
        lambda s: s.validate(SOME_ID),
        lambda s: SessionStore(s.client, slide="half").validate(SOME_ID),
        lambda s: s.peek(SOME_ID),
        lambda s: s.rotate(SOME_ID),
        lambda s: s.destroy(SOME_ID),
        lambda s: s.destroy_all("alice"),
        lambda s: s.sessions("alice"),
        lambda s: s.set_roles("alice", ["admin"]),
        lambda s: s.roles("alice"),
    ],
    ids=["create", "validate", "validate-half", "peek", "rotate", "destroy", "destroy_all", "sessions", "set_roles", "roles"],
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
        assert log.commands[0].startswith("GETEX" if slide == "always" else "EVALSHA"), log.commands
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
    for user in ("carol", "dave"):
        for _ in range(3):
            store.create(user)
    with count_round_trips(real_redis) as log:
        store.destroy_all("carol")
        store.destroy_all("dave", keep=store.create("dave").id)
    assert log.round_trips == 3, log.commands  # log out everywhere, a login, log out everywhere but here


def test_after_script_flush_one_request_pays_for_reloading(real_redis: redis.Redis) -> None:
    store = SessionStore(real_redis, slide="half")
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


def test_parallel_requests_across_a_role_change_all_stay_logged_in(real_redis: redis.Redis, redis_server: LocalRedisServer) -> None:
    for trial in range(20):
        store = SessionStore(real_redis)
        user = f"bob{trial}"
        session = store.create(user, roles=["transfer"])
        store.set_roles(user, ["transfer", "admin"] if trial % 2 else [])  # a promotion, then a demotion
        results: list[object] = []
        start = threading.Barrier(8)

        def request() -> None:
            mine = SessionStore(connect(redis_server.url))
            start.wait()
            try:
                results.append(mine.validate(session.id))
            except SessionError as err:
                results.append(err.reason)

        threads = [threading.Thread(target=request) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(not isinstance(r, str) for r in results), results
        rotated = [r for r in results if r.rotated]
        retired = [r for r in results if not r.rotated]
        assert len(rotated) == 1 and all(r.retired and r.id == session.id for r in retired)
        assert {r.roles for r in retired} == {("transfer",) if trial % 2 else ()}, "the old ID gained nothing"
        assert store.validate(rotated[0].id).roles == rotated[0].roles == (("transfer", "admin") if trial % 2 else ())


@contextmanager
def redis_at_maxmemory(client: redis.Redis) -> Iterator[None]:
    """Fill a real server until it refuses writes (``maxmemory`` with ``noeviction``), then restore it."""
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", used + 2 * 1024 * 1024)
    try:
        filler = 0
        while True:
            try:
                with client.pipeline(transaction=False) as pipe:
                    for _ in range(50):
                        pipe.set(f"filler:{filler}", "x" * 10_000)
                        filler += 1
                    pipe.execute()
            except redis.exceptions.OutOfMemoryError:
                break
        while True:  # the pipeline's own buffer counted too: top up one small write at a time
            try:
                client.set(f"filler:{filler}", "x" * 100)
                filler += 1
            except redis.exceptions.OutOfMemoryError:
                break
        yield
    finally:
        client.config_set("maxmemory", 0)


def test_reads_and_deletes_work_when_redis_is_full(real_redis: redis.Redis) -> None:
    store, thrifty = SessionStore(real_redis), SessionStore(real_redis, slide="half")
    laptop, phone, tablet = (store.create("alice", label=label) for label in ("laptop", "phone", "tablet"))
    bob, carol, dave = store.create("bob", roles=["transfer"]), store.create("carol"), thrifty.create("dave")
    store.set_roles("bob", ["reader"])  # bob's next request would rotate his ID: a new record
    with redis_at_maxmemory(real_redis):
        with pytest.raises(StoreUnavailable):
            store.create("erin")  # a login needs memory: 503, the one thing that waits for memory
        assert store.validate(laptop.id).wrote, "a slide changes an expiry and needs no memory"
        assert thrifty.validate(dave.id).user_id == "dave"
        held = store.validate(bob.id)
        assert (held.rotated, held.id, held.roles) == (False, bob.id, ()), "no rotation, and no role it lost"
        assert store.destroy(laptop.id) is True
        assert store.revoke("carol", carol.handle) is True
        assert store.destroy_all("alice", keep=tablet.id) == 1
        assert store.destroy_all("alice") == 1
        for gone in (laptop, phone, tablet, carol):
            assert reason(lambda: store.validate(gone.id)) == "unknown"
    assert store.validate(bob.id).rotated, "with memory back, the rotation happens"


def test_a_read_only_replica_serves_requests_without_sliding(real_redis: redis.Redis, redis_server: LocalRedisServer) -> None:
    session = SessionStore(real_redis).create("alice")
    with LocalRedisServer() as replica_server:
        replica = replica_server.client()
        replica.replicaof("127.0.0.1", redis_server.port)
        deadline = time.monotonic() + 10
        while replica.info("replication").get("master_link_status") != "up" or replica.dbsize() == 0:
            assert time.monotonic() < deadline, "the replica never synchronised"
            time.sleep(0.05)
        seen = SessionStore(replica).validate(session.id)
        assert (seen.user_id, seen.wrote, seen.last_seen) == ("alice", False, session.last_seen)


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


@pytest.mark.parametrize("rotation", ["privilege change", "explicit rotate"])
def test_rotating_a_users_only_session_keeps_the_index_expiring(redis_client: redis.Redis, clock: Clock,
                                                                rotation: str) -> None:
    store = SessionStore(redis_client, idle=IDLE, absolute=ABSOLUTE)
    session = store.create("bob", roles=["transfer"])
    if rotation == "privilege change":
        store.set_roles("bob", ["reader"])
        assert store.validate(session.id).rotated
    else:
        store.rotate(session.id)
    assert redis_client.pttl(store.key("bob", "index")) > 0, "the index keeps an expiry: no key without one"


def test_presenting_a_replaced_id_never_keeps_its_record_past_the_grace(redis_client: redis.Redis,
                                                                        clock: Clock) -> None:
    def scenario() -> None:
        store = SessionStore(redis_client, idle=IDLE, absolute=ABSOLUTE, rotation_grace=300 * MS)
        session = store.create("bob", roles=["transfer"])
        store.set_roles("bob", ["reader"])
        assert store.validate(session.id).rotated
        old_record = store.key("bob", session_handle(session.id))
        grace_ends = redis_client.pexpiretime(old_record)
        assert store.validate(session.id).retired  # a request still in flight with the old ID
        assert redis_client.pexpiretime(old_record) == grace_ends, "a replaced ID does not slide its record"
        clock(300 * MS)
        assert reason(lambda: store.validate(session.id)) == "unknown"
        assert not redis_client.exists(old_record)


    clock.on_time(scenario)

def test_the_real_clock_reruns_a_scenario_only_after_a_stall() -> None:
    clock, runs = Clock(), []

    def stalls_once() -> None:
        runs.append(1)
        if len(runs) == 1:
            time.sleep(STALL.total_seconds() * 1.5)  # the machine, not the code, was late
            raise AssertionError("expired while the machine stalled")

    clock.on_time(stalls_once)
    assert len(runs) == 2

    def fails_on_time() -> None:
        runs.append(1)
        raise AssertionError("expired on time")

    with pytest.raises(AssertionError, match="on time"):
        clock.on_time(fails_on_time)
    assert len(runs) == 3, "a failure without a stall is never retried"


# --- the policy reads apart from the Redis plumbing ---------------------------------------------------


def test_the_policy_is_a_module_of_its_own_with_no_redis_in_it() -> None:
    import ast
    import inspect

    from authkit.state import session_policy, sessions

    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(inspect.getsource(session_policy)))
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(inspect.getsource(session_policy)))
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "redis" not in imported, "timeouts and records are decided without Redis"
    plumbing = inspect.getsource(sessions.SessionStore)
    for decision in ("idle_ms - 2", "// 2", "rotation_grace must", "slide must be"):
        assert decision not in plumbing, f"{decision!r} is policy: it belongs in session_policy"


def test_the_policy_turns_the_clock_into_deadlines() -> None:
    from authkit.state.session_policy import SessionPolicy

    policy = SessionPolicy(idle=timedelta(seconds=10), absolute=timedelta(seconds=25))
    assert policy.expire_at(now=1_000, absolute=26_000) == 10_999  # idle first, minus Redis's millisecond
    assert policy.expire_at(now=20_000, absolute=26_000) == 25_999  # capped by the absolute deadline
    assert policy.slide_until("peek", 1_000, 10_999) == 0
    assert policy.slide_until("always", 1_000, 10_999) == 10_999
    assert policy.slide_until("half", 1_000, 10_999) == 5_999
    assert policy.last_seen(10_999, 26_000) == (1_000, 11_000)
    assert policy.grace_end(1_000) == "11000"
    with pytest.raises(ValueError, match="slide"):
        SessionPolicy(slide="never")
    with pytest.raises(ValueError, match="rotation_grace"):
        SessionPolicy(rotation_grace=timedelta(minutes=2))
    with pytest.raises(ValueError, match="idle timeout"):
        SessionPolicy(idle=timedelta(0))


def test_the_store_applies_its_policy(fake_redis: redis.Redis) -> None:
    from authkit.state.session_policy import SessionPolicy

    store = SessionStore(fake_redis, idle=IDLE, absolute=ABSOLUTE, slide="half")
    assert store.policy == SessionPolicy(IDLE, ABSOLUTE, "half")


@pytest.mark.parametrize("cookie", [None, 42, ["a"], b"bytes"])
def test_a_cookie_that_is_not_text_is_malformed(store: SessionStore, cookie: object) -> None:
    assert reason(lambda: store.validate(cookie)) == "malformed"


# --- the CSRF token: an HMAC of the session ID under the server's key ------------------------------------


def test_the_csrf_token_is_an_hmac_under_the_server_key_not_a_hash_anyone_can_compute(fake_redis: redis.Redis) -> None:
    import hashlib
    import hmac
    from base64 import urlsafe_b64encode

    store = SessionStore(fake_redis, cookie_key=b"k" * 32)
    session = store.create("alice")
    token = session.csrf_token
    assert len(token) == 43 and token == store.csrf_token(session.id)
    unkeyed = urlsafe_b64encode(hashlib.sha256(b"authkit session csrf token\x00" + session.id.encode()).digest())
    assert token != unkeyed.rstrip(b"=").decode(), "whoever sees the ID must not be able to derive the token"
    assert token != SessionStore(fake_redis, cookie_key=b"t" * 32).csrf_token(session.id), "another key, another token"
    assert not hmac.compare_digest(token, store.csrf_token(store.create("alice").id)), "bound to the session"
    assert store.validate(session.id).csrf_token == token, "stateless: the same on every request of the session"
    assert "csrf" not in " ".join(fake_redis.keys("*")) and token not in " ".join(
        str(fake_redis.get(k)) for k in fake_redis.keys("*") if fake_redis.type(k) == "string"), "stored nowhere"
