"""The user directory, account management, and what removing an account does to its logins (real redis-server)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from authkit.config import Environment
from authkit.errors import AccountError, ConfigError, LoginRefused
from authkit.login.accounts import Accounts, main, redis_enders
from authkit.login.authenticate import HashGate, PasswordLogin
from authkit.login.hashing import TEST_ARGON2, PasswordHasher
from authkit.login.users import MemoryDirectory, SqliteDirectory, User, new_user_id, seeded_user_id
from authkit.state.redis import LocalRedisServer
from authkit.state.sessions import SessionStore
from authkit.web import wsgi
from authkit.web.bearer_app import create_app
from authkit.web.cookie_app import create_cookie_app
from authkit.web.server import serve

HASHER = PasswordHasher(TEST_ARGON2)
PASSWORD = "a long passphrase nobody guesses"
ORIGIN = "https://app.example"


@pytest.fixture(params=["memory", "sqlite"])
def directory(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryDirectory | SqliteDirectory:
    """The contract fixture: every directory test runs on both implementations."""
    return MemoryDirectory() if request.param == "memory" else SqliteDirectory(tmp_path / "users.sqlite3")


# --- the directory ---------------------------------------------------------------------------------


def test_a_user_is_keyed_by_a_random_id_never_by_the_name(directory) -> None:
    accounts = Accounts(directory, HASHER)
    alice = accounts.add("alice", PASSWORD, ["admin"])
    assert alice.id.startswith("u_") and "alice" not in alice.id and len(alice.id) == 34
    assert directory.by_name("alice") == directory.by_id(alice.id) == alice
    assert alice.roles == ("admin",) and not alice.disabled and alice.password_hash.startswith("$argon2id$")
    assert new_user_id() != new_user_id()


def test_a_recycled_name_gets_a_new_id(directory) -> None:
    """ASVS 5.0 10.3.3: whoever gets a name next never inherits the sessions of the one who had it."""
    accounts = Accounts(directory, HASHER)
    first = accounts.add("alice", PASSWORD)
    accounts.delete("alice")
    second = accounts.add("alice", PASSWORD)
    assert first.id != second.id and directory.by_id(first.id) is None


@pytest.mark.parametrize(("call", "reason"), [
    (lambda a: a.add("alice", PASSWORD), "exists"),
    (lambda a: a.add("bad name", PASSWORD), "bad_name"),
    (lambda a: a.add("bob", PASSWORD, ["Admin"]), "bad_roles"),
    (lambda a: a.add("bob", "short"), "weak_password"),
    (lambda a: a.disable("nobody"), "unknown_user"),
    (lambda a: a.directory.add(User("alice-id", "carol", "x")), "bad_id"),
])
def test_bad_account_changes_are_typed_refusals(directory, call, reason: str) -> None:
    accounts = Accounts(directory, HASHER)
    accounts.add("alice", PASSWORD)
    before = directory.users()
    with pytest.raises(AccountError) as caught:
        call(accounts)
    assert caught.value.reason == reason and directory.users() == before, "a refused change changes nothing"


def test_demo_ids_are_seeded_so_notebooks_show_the_same_ones() -> None:
    assert seeded_user_id("alice") == seeded_user_id("alice") != seeded_user_id("bob")
    assert seeded_user_id("alice").startswith("u_") and len(seeded_user_id("alice")) == 34


def test_the_command_adds_lists_disables_and_deletes(tmp_path: Path, capsys, monkeypatch,
                                                     redis_server: LocalRedisServer) -> None:
    db = str(tmp_path / "users.sqlite3")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(PASSWORD + "\n"))
    assert main(["--db", db, "add", "alice", "--role", "admin", "--password-stdin"]) == 0
    user = SqliteDirectory(db).by_name("alice")
    assert user is not None and PasswordHasher().verify(PASSWORD, user.password_hash)
    with pytest.raises(SystemExit) as exited:
        main(["--db", db, "disable", "alice"])  # with no Redis, it could not end the logins: refuse
    assert exited.value.code == 2 and not SqliteDirectory(db).by_name("alice").disabled
    assert main(["--db", db, "--redis-url", redis_server.url, "disable", "alice"]) == 0
    main(["--db", db, "list"])
    assert f"{user.id}  alice  disabled  admin" in capsys.readouterr().out
    assert main(["--db", db, "--redis-url", redis_server.url, "delete", "alice"]) == 0
    assert SqliteDirectory(db).users() == []


# --- deployment: no published accounts unless asked ----------------------------------------------


def test_the_factories_refuse_to_start_with_the_demo_accounts_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Environment({}).user_directory()
    assert (caught.value.reason, caught.value.variable) == ("missing", "AUTHKIT_USER_DB")
    assert Environment({"AUTHKIT_DEMO_USERS": "1"}).user_directory() is None
    with pytest.raises(ConfigError, match="AUTHKIT_USER_DB"):
        Environment({"AUTHKIT_USER_DB": str(tmp_path / "missing.sqlite3")}).user_directory()
    SqliteDirectory(tmp_path / "users.sqlite3")
    with pytest.raises(ConfigError, match="either"):
        Environment({"AUTHKIT_USER_DB": str(tmp_path / "users.sqlite3"), "AUTHKIT_DEMO_USERS": "1"}).user_directory()


def test_a_deployed_cookie_app_serves_the_directory_not_the_demo_root(tmp_path: Path,
                                                                      redis_server: LocalRedisServer) -> None:
    """The outside test's finding: the course's printed admin password opened /admin on a deployment."""
    db = tmp_path / "users.sqlite3"
    Accounts(SqliteDirectory(db), HASHER).add("carol", PASSWORD, ["transfer"])
    env = {"AUTHKIT_REDIS_URL": redis_server.url, "AUTHKIT_TRUSTED_ORIGINS": ORIGIN, "AUTHKIT_USER_DB": str(db),
           "AUTHKIT_SESSION_KEY": "x3Rk1Yb0Vn6Q2pW8sTz4Lm9CdEf5Gh7JaKuOiPyRqSw"}
    with pytest.raises(ConfigError):
        wsgi.cookie_app({k: v for k, v in env.items() if k != "AUTHKIT_USER_DB"})
    client = wsgi.cookie_app(env).test_client()
    demo = client.post("/login", json={"username": "alice", "password": "correct horse battery staple"},
                       headers={"Origin": ORIGIN}, base_url="https://localhost")
    carol = client.post("/login", json={"username": "carol", "password": PASSWORD}, headers={"Origin": ORIGIN},
                        base_url="https://localhost")
    assert demo.status_code == 401 and carol.status_code == 200


# --- removing an account ends its logins at once (issue 21 B) ------------------------------------


@pytest.fixture
def deployment(real_redis: redis.Redis) -> Iterator[tuple[Accounts, requests.Session, str, requests.Session, str]]:
    """A bearer API and a cookie app on one real Redis and one directory, and the administrator's Accounts."""
    directory = MemoryDirectory()
    accounts = Accounts(directory, HASHER, enders=redis_enders(real_redis))
    accounts.add("dave", PASSWORD, ["transfer"])
    accounts.add("erin", PASSWORD, ["admin"])
    login = PasswordLogin(directory, HASHER)
    api = create_app(redis_client=real_redis, login=login)
    cookie = create_cookie_app(SessionStore(real_redis), login=login, trusted_origins={ORIGIN})
    with serve(api) as api_server, serve(cookie) as cookie_server:
        yield accounts, requests.Session(), api_server.url, requests.Session(), cookie_server.url


def _logins(api: requests.Session, api_url: str, browser: requests.Session, site: str, name: str) -> dict:
    tokens = api.post(f"{api_url}/login", json={"username": name, "password": PASSWORD}, timeout=10).json()
    cookie = browser.post(f"{site}/login", json={"username": name, "password": PASSWORD},
                          headers={"Origin": ORIGIN}, timeout=10)
    assert cookie.status_code == 200 and "access_token" in tokens
    return {"tokens": tokens, "sid": cookie.headers["Set-Cookie"].split(";")[0].split("=", 1)[1],
            "csrf": cookie.json()["csrf_token"]}


@pytest.mark.parametrize("removal", ["disable", "delete", "end_sessions"])
def test_removing_an_account_ends_every_session_and_refresh_family(deployment, removal: str) -> None:
    accounts, api, api_url, browser, site = deployment
    held = _logins(api, api_url, browser, site, "dave")
    ended = getattr(accounts, removal)("dave")
    refresh = api.post(f"{api_url}/refresh", json={"refresh_token": held["tokens"]["refresh_token"]}, timeout=10)
    me = api.get(f"{api_url}/me", headers={"Authorization": f"Bearer {held['tokens']['access_token']}"}, timeout=10)
    session = requests.get(f"{site}/me", cookies={"__Host-sid": held["sid"]}, timeout=10)
    assert ended == 1
    assert (refresh.status_code, refresh.json()["error"]) == (400, "invalid_grant")  # RFC 6749 §5.2
    assert me.status_code == 401 and session.status_code == 401
    again = api.post(f"{api_url}/login", json={"username": "dave", "password": PASSWORD}, timeout=10)
    assert again.status_code == (200 if removal == "end_sessions" else 400)


def test_a_refresh_is_refused_once_the_account_is_gone_even_if_redis_missed_it(deployment) -> None:
    """The directory is asked at each refresh: an account deleted while Redis was unreachable still ends."""
    accounts, api, api_url, browser, site = deployment
    held = _logins(api, api_url, browser, site, "dave")
    accounts.enders = []  # the log-out-everywhere did not reach Redis
    accounts.disable("dave")
    refresh = api.post(f"{api_url}/refresh", json={"refresh_token": held["tokens"]["refresh_token"]}, timeout=10)
    # the refresh's scope lookup asks the directory first (the login ends: revoked), the route checks it again
    assert refresh.status_code == 400 and refresh.json()["error_description"] in (
        "refresh token refused: revoked", "refresh token refused: the account is disabled or deleted")
    again = api.post(f"{api_url}/refresh", json={"refresh_token": held["tokens"]["refresh_token"]}, timeout=10)
    assert again.status_code == 400


def test_an_administrator_ends_any_users_sessions(deployment) -> None:
    accounts, api, api_url, browser, site = deployment
    held = _logins(api, api_url, browser, site, "dave")
    erin = _logins(requests.Session(), api_url, requests.Session(), site, "erin")
    denied = requests.post(f"{site}/admin/end-sessions", json={"user": "erin"}, timeout=10,
                           cookies={"__Host-sid": held["sid"]}, headers={"Origin": ORIGIN, "X-CSRF-Token": held["csrf"]})
    cookie_end = requests.post(f"{site}/admin/end-sessions", json={"user": "dave"}, timeout=10,
                               cookies={"__Host-sid": erin["sid"]}, headers={"Origin": ORIGIN, "X-CSRF-Token": erin["csrf"]})
    api_denied = api.post(f"{api_url}/admin/logout-user", json={"username": "erin"}, timeout=10,
                          headers={"Authorization": f"Bearer {held['tokens']['access_token']}"})
    api_end = api.post(f"{api_url}/admin/logout-user", json={"username": "dave"}, timeout=10,
                       headers={"Authorization": f"Bearer {erin['tokens']['access_token']}"})
    refresh = api.post(f"{api_url}/refresh", json={"refresh_token": held["tokens"]["refresh_token"]}, timeout=10)
    assert denied.status_code == 403 and api_denied.status_code == 403
    assert cookie_end.json() == {"user": "dave", "ended": 1}
    assert api_end.status_code == 204 and refresh.status_code == 400
    assert requests.get(f"{site}/me", cookies={"__Host-sid": held["sid"]}, timeout=10).status_code == 401


# --- a cap on hashes running at once (issue 21 point 17) ------------------------------------------


def test_a_flood_of_logins_gets_a_quick_503_not_a_pile_of_hashes(real_redis: redis.Redis) -> None:
    gate = HashGate(limit=1, wait=0.05)
    login = PasswordLogin(MemoryDirectory(), HASHER, gate=gate)
    app = create_cookie_app(SessionStore(real_redis), login=login, trusted_origins={ORIGIN})
    api = create_app(redis_client=real_redis, login=login)
    with gate:  # one hash is running: the next must not wait for it
        started = time.perf_counter()
        cookie = app.test_client().post("/login", json={"username": "x", "password": "y"},
                                        headers={"Origin": ORIGIN}, base_url="https://localhost")
        bearer = api.test_client().post("/login", json={"username": "x", "password": "y"})
        waited = time.perf_counter() - started
    assert (cookie.status_code, cookie.headers["Retry-After"], cookie.json["error"]) == (503, "1", "busy")
    assert (bearer.status_code, bearer.headers["Retry-After"]) == (503, "1") and waited < 1
    assert app.test_client().post("/login", json={"username": "x", "password": "y"}, headers={"Origin": ORIGIN},
                                  base_url="https://localhost").status_code == 401, "the slot is free again"


def test_the_gate_bounds_hashes_running_at_once() -> None:
    gate, running, peak, lock = HashGate(limit=2, wait=5), [0], [0], threading.Lock()

    class Slow(PasswordHasher):
        def verify(self, password: str, stored: str) -> bool:
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            return False

    login = PasswordLogin(MemoryDirectory(), Slow(TEST_ARGON2), gate=gate)

    def attempt() -> None:
        with pytest.raises(LoginRefused):
            login.check("nobody", "guess")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 2
