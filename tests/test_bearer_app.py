"""The bearer API over real HTTP on loopback: RFC 6750 errors, refresh flows, fail-closed, no 500 ever."""

from __future__ import annotations

import socket
import time
from datetime import timedelta
from typing import Any, Iterator
from urllib.parse import urlsplit

import pytest
import redis
import requests
import time_machine
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit.login.users import seeded_user_id
from authkit.tokens import jws
from authkit.tokens.keys import KeySet, SigningKey
from authkit.login.passwords import ScryptCost
from authkit.state.redis import LocalRedisServer, connect, count_round_trips, free_port
from authkit.state.refresh import GRACE
from authkit.tokens.issuer import TokenIssuer
from authkit.web.bearer_app import (
    DEMO_ACCOUNTS,
    create_app,
    parse_bearer,
    www_authenticate,
)
from authkit.web.server import serve


#: The demo users hashed at a low scrypt cost: these tests are about the API; tests/test_passwords.py and
#: tests/test_deploy.py keep the default (OWASP's) cost under test.
TEST_COST = ScryptCost(log2_n=10)


def make_app(config: dict[str, Any] | None = None, **kwargs: Any) -> Flask:
    """``create_app`` with the demo users at ``TEST_COST``."""
    return create_app({"PASSWORD_COST": TEST_COST, **(config or {})}, **kwargs)

ALICE = {"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]}
ROOT = {"username": "root", "password": DEMO_ACCOUNTS["root"][0]}
ALICE_ID = seeded_user_id("alice")  # the demo directory's stable ID: tokens name users by it
CHALLENGE = 'Bearer realm="authkit"'


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(url: str, account: dict[str, str] = ALICE) -> dict:
    response = requests.post(f"{url}/login", json=account, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    """One API on fakeredis for the read-only tests (logging in costs a scrypt each time)."""
    with serve(make_app(redis_client=connect(fresh=True))) as running:
        yield running.url


@pytest.fixture(scope="module")
def alice(api: str) -> dict:
    return login(api)


@pytest.fixture
def fresh_api(redis_client: redis.Redis) -> Iterator[str]:
    """An API on the contract backend (fakeredis, then a real redis-server), for tests that change state."""
    with serve(make_app(redis_client=redis_client)) as running:
        yield running.url


# --- RFC 6750 over HTTP ----------------------------------------------------------------------------


def test_login_answers_like_an_oauth_token_endpoint(alice: dict) -> None:
    assert sorted(alice) == ["access_token", "expires_in", "refresh_token", "scope", "token_type"]
    assert (alice["token_type"], alice["expires_in"], alice["scope"]) == ("Bearer", 900, "read")


def test_login_response_is_never_cached(api: str) -> None:
    response = requests.post(f"{api}/login", json=ALICE, timeout=10)
    assert response.headers["Cache-Control"] == "no-store"


def test_me_with_a_valid_token(api: str, alice: dict) -> None:
    response = requests.get(f"{api}/me", headers=bearer(alice["access_token"]), timeout=5)
    assert (response.status_code, response.json()) == (200, {"sub": ALICE_ID, "scope": "read"})


def test_no_credentials_is_401_without_an_error_code(api: str) -> None:
    response = requests.get(f"{api}/me", timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE


AUTHORIZATION_CASES = [
    # (header value, expected status, expected error code in the challenge)
    ("", 400, "invalid_request"),
    ("Bearer", 400, "invalid_request"),
    ("Bearer {token} extra", 400, "invalid_request"),
    ("Bearer {token}, Bearer {token}", 400, "invalid_request"),
    ('Bearer "{token}"', 400, "invalid_request"),
    ("Bearer é", 400, "invalid_request"),
    ("@@@ {token}", 400, "invalid_request"),
    ("Basic YWxpY2U6cHc=", 401, None),
    ("Digest username=alice", 401, None),
    ("Bearer abc", 401, "invalid_token"),
    ("Bearer {token}=", 401, "invalid_token"),
    ("Bearer " + "a" * 9000, 401, "invalid_token"),
    ("Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJhbGljZSJ9.", 401, "invalid_token"),
    ("Bearer {refresh}", 401, "invalid_token"),
    ("Bearer {token}x", 401, "invalid_token"),
    ("bearer {token}", 200, None),
    ("BEARER   {token}", 200, None),
]


@pytest.mark.parametrize(("header", "status", "error"), AUTHORIZATION_CASES)
def test_authorization_header_cases(api: str, alice: dict, header: str, status: int, error: str | None) -> None:
    value = header.format(token=alice["access_token"], refresh=alice["refresh_token"])
    response = requests.get(f"{api}/me", headers={"Authorization": value.encode("latin-1")}, timeout=5)
    assert response.status_code == status, response.text
    if status != 200:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith(CHALLENGE)
        assert (f'error="{error}"' in challenge) if error else challenge == CHALLENGE
        assert response.json().get("error") == error, "no error code in the body either when none is due"


def test_token_in_the_query_string_is_refused(api: str, alice: dict) -> None:
    alone = requests.get(f"{api}/me", params={"access_token": alice["access_token"]}, timeout=5)
    both = requests.get(f"{api}/me", params={"access_token": "x"}, headers=bearer(alice["access_token"]), timeout=5)
    in_form = requests.post(f"{api}/logout", data={"access_token": "x"}, headers=bearer(alice["access_token"]),
                            timeout=5)
    for response in (alone, both, in_form):
        assert response.status_code == 400
        assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    assert both.json()["error_description"] == "more than one method"


def test_missing_scope_is_403_naming_the_scope(api: str, alice: dict) -> None:
    response = requests.get(f"{api}/admin", headers=bearer(alice["access_token"]), timeout=5)
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="authkit", error="insufficient_scope", error_description="this needs scope admin", '
        'scope="admin"'
    )
    root = login(api, ROOT)
    assert requests.get(f"{api}/admin", headers=bearer(root["access_token"]), timeout=5).json()["admin"] is True


def test_expired_token_is_401_invalid_token(api: str) -> None:
    with time_machine.travel(time.time(), tick=False) as clock:
        token = login(api)["access_token"]
        assert requests.get(f"{api}/me", headers=bearer(token), timeout=5).status_code == 200
        clock.shift(timedelta(minutes=15, seconds=1))
        response = requests.get(f"{api}/me", headers=bearer(token), timeout=5)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="authkit", error="invalid_token", error_description="access token refused: expired"'
    )


# --- bodies of /login and /refresh -----------------------------------------------------------------

BODY_CASES = [
    (b"", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b"{}", "application/json"),
    (b"{", "application/json"),
    (b"[" * 15000, "application/json"),
    (b'{"a":' * 3000, "application/json"),
    (b"\xff\xfe\x00{", "application/json"),
    (b'{"username": 1, "password": "x"}', "application/json"),
    (b'{"username": "alice"}', "application/json"),
    (b'{"username": "", "password": ""}', "application/json"),
    (b'{"username": "alice", "password": "' + b"x" * 5000 + b'"}', "application/json"),
    (b"username=alice&password=x", "application/x-www-form-urlencoded"),
    (b'{"username": "alice", "password": "x"}', "text/plain"),
]


@pytest.mark.parametrize(("body", "content_type"), BODY_CASES)
@pytest.mark.parametrize("path", ["/login", "/refresh"])
def test_malformed_bodies_are_400_invalid_request(api: str, path: str, body: bytes, content_type: str) -> None:
    response = requests.post(f"{api}{path}", data=body, headers={"Content-Type": content_type}, timeout=5)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert "WWW-Authenticate" not in response.headers, "a token endpoint does not send a Bearer challenge"


def test_oversized_body_is_413(api: str) -> None:
    response = requests.post(f"{api}/login", data=b"x" * 20000, headers={"Content-Type": "application/json"},
                             timeout=5)
    assert response.status_code == 413


@pytest.mark.parametrize("account", [{"username": "alice", "password": "wrong"},
                                     {"username": "mallory", "password": "x"}])
def test_bad_credentials_are_invalid_grant(api: str, account: dict[str, str]) -> None:
    response = requests.post(f"{api}/login", json=account, timeout=10)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")
    assert response.json()["error_description"] == "unknown user or wrong password", "no hint which one"


# An access token's key is not among the refresh keys: refused before its typ is even read.
@pytest.mark.parametrize(("which", "reason"), [("garbage", "malformed"), ("access_token", "unknown_key")])
def test_bad_refresh_tokens_are_invalid_grant(api: str, alice: dict, which: str, reason: str) -> None:
    token = alice.get(which, which)
    response = requests.post(f"{api}/refresh", json={"refresh_token": token}, timeout=5)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": f"refresh token refused: {reason}"}


def test_refresh_tokens_are_signed_and_verified_with_the_refresh_keys() -> None:
    access, own = KeySet(SigningKey.generate("EdDSA", kid="access")), KeySet(SigningKey.generate("HS256", kid="rt"))
    app = make_app(redis_client=connect(fresh=True), keys=access, refresh_keys=own)
    client = app.test_client()
    tokens = client.post("/login", json=ALICE).get_json()
    assert (jws.read_header(tokens["access_token"])["kid"], jws.read_header(tokens["refresh_token"])["kid"]) == (
        "access", "rt")
    family = app.extensions["authkit.bearer"].verifier.verify_refresh(tokens["refresh_token"])["fam"]
    under_the_access_key = TokenIssuer(access, issuer=app.config["ISSUER"], audience=app.config["AUDIENCE"]
                                       ).issue_refresh("alice", claims={"fam": family})
    refused = client.post("/refresh", json={"refresh_token": under_the_access_key}).get_json()
    assert refused["error_description"] == "refresh token refused: unknown_key"
    assert client.post("/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code == 200


# --- flows on both Redis backends ------------------------------------------------------------------


def test_refresh_rotates_and_reuse_kills_the_family(redis_client: redis.Redis) -> None:
    with time_machine.travel(time.time(), tick=False) as clock, \
            serve(make_app({"GRACE": timedelta(milliseconds=300)}, redis_client=redis_client)) as running:
        fresh_api = running.url
        first = login(fresh_api)
        second = requests.post(f"{fresh_api}/refresh", json={"refresh_token": first["refresh_token"]}, timeout=5)
        assert second.status_code == 200 and second.headers["Cache-Control"] == "no-store"
        assert requests.get(f"{fresh_api}/me", headers=bearer(second.json()["access_token"]), timeout=5).ok
        clock.shift(GRACE + timedelta(milliseconds=1))  # a repeat within the grace is a retry, not a reuse
        time.sleep(0.35)  # the grace is timed by Redis's clock: on a real server, real time must pass
        replay = requests.post(f"{fresh_api}/refresh", json={"refresh_token": first["refresh_token"]}, timeout=5)
        assert replay.json()["error_description"] == "refresh token refused: reused"
        newest = requests.post(f"{fresh_api}/refresh", json={"refresh_token": second.json()["refresh_token"]},
                               timeout=5)
    assert newest.json()["error_description"] == "refresh token refused: revoked"


def test_a_repeat_within_the_grace_gets_the_same_pair(fresh_api: str) -> None:
    """A second tab or a retry presents the token just rotated: the same successor, an equal access token."""
    with time_machine.travel(time.time(), tick=False) as clock:
        first = login(fresh_api)
        body = {"refresh_token": first["refresh_token"]}
        rotated = requests.post(f"{fresh_api}/refresh", json=body, timeout=5)
        clock.shift(GRACE - timedelta(milliseconds=1))
        repeat = requests.post(f"{fresh_api}/refresh", json=body, timeout=5)
        me = [requests.get(f"{fresh_api}/me", headers=bearer(r.json()["access_token"]), timeout=5)
              for r in (rotated, repeat)]
        onward = requests.post(f"{fresh_api}/refresh", json={"refresh_token": repeat.json()["refresh_token"]},
                               timeout=5)
    assert (rotated.status_code, repeat.status_code, onward.status_code) == (200, 200, 200), repeat.text
    assert repeat.json()["refresh_token"] == rotated.json()["refresh_token"]
    same = {name: value for name, value in rotated.json().items() if name != "access_token"}
    assert {name: value for name, value in repeat.json().items() if name != "access_token"} == same
    assert [r.json() for r in me] == [{"sub": ALICE_ID, "scope": "read"}] * 2


def test_with_no_grace_a_repeat_is_reuse_at_once(redis_client: redis.Redis) -> None:
    with serve(make_app({"GRACE": timedelta(0)}, redis_client=redis_client)) as running:
        body = {"refresh_token": login(running.url)["refresh_token"]}
        assert requests.post(f"{running.url}/refresh", json=body, timeout=5).status_code == 200
        repeat = requests.post(f"{running.url}/refresh", json=body, timeout=5)
    assert repeat.json()["error_description"] == "refresh token refused: reused"


# (strategy, /me status after /logout, /me status on another device after /logout-all)
LOGOUT_CASES = [("stateless", 200, 200), ("denylist", 401, 200), ("version", 200, 401), ("denylist+version", 401, 401)]


@pytest.mark.parametrize(("strategy", "after_logout", "after_logout_all"), LOGOUT_CASES)
def test_logout_and_logout_everywhere_per_strategy(redis_client: redis.Redis, strategy: str, after_logout: int,
                                                    after_logout_all: int) -> None:
    with serve(make_app({"REVOCATION": strategy}, redis_client=redis_client)) as running:
        url = running.url
        laptop, phone = login(url), login(url)
        assert requests.post(f"{url}/logout", headers=bearer(laptop["access_token"]), timeout=5).status_code == 204
        assert requests.get(f"{url}/me", headers=bearer(laptop["access_token"]), timeout=5).status_code == after_logout
        refreshed = requests.post(f"{url}/refresh", json={"refresh_token": laptop["refresh_token"]}, timeout=5)
        assert refreshed.json()["error_description"] == "refresh token refused: revoked", "the family is always dead"
        assert requests.post(f"{url}/logout-all", headers=bearer(phone["access_token"]), timeout=5).status_code == 204
        phone_me = requests.get(f"{url}/me", headers=bearer(phone["access_token"]), timeout=5)
        assert phone_me.status_code == after_logout_all
        refreshed = requests.post(f"{url}/refresh", json={"refresh_token": phone["refresh_token"]}, timeout=5)
        assert refreshed.status_code == 400


def test_a_fresh_app_logs_in_and_refreshes_in_one_round_trip_each(real_redis: redis.Redis) -> None:
    """The scripts are loaded when the app is created, not by the first call (NOSCRIPT, SCRIPT LOAD, EVALSHA)."""
    real_redis.script_flush()
    app = make_app(redis_client=real_redis)
    with serve(app) as running:
        with count_round_trips(real_redis) as at_login:  # the login's Redis part, without its scrypt
            tokens = app.extensions["authkit.bearer"].login(ALICE_ID, scope="read").as_json()
        with count_round_trips(real_redis) as at_refresh:
            refreshed = requests.post(f"{running.url}/refresh", json={"refresh_token": tokens["refresh_token"]},
                                      timeout=5)
    assert refreshed.status_code == 200
    assert (at_login.round_trips, at_refresh.round_trips) == (1, 1), (at_login.commands, at_refresh.commands)


# --- Redis unreachable: 503, never accept ----------------------------------------------------------


def test_unreachable_redis_is_503_and_never_an_accept() -> None:
    keys = KeySet(SigningKey.generate("EdDSA"))
    token = TokenIssuer(keys, issuer="https://auth.example", audience="api").issue_access("alice", claims={"ver": 0})
    dead = connect(f"redis://127.0.0.1:{free_port()}/0")
    with serve(make_app(redis_client=dead, keys=keys)) as running:
        assert requests.post(f"{running.url}/login", json=ALICE, timeout=10).status_code == 503
        response = requests.get(f"{running.url}/me", headers=bearer(token), timeout=5)
        assert (response.status_code, response.headers["Retry-After"]) == (503, "1")
    with serve(make_app({"REVOCATION": "stateless"}, redis_client=dead, keys=keys)) as running:
        response = requests.get(f"{running.url}/me", headers=bearer(token), timeout=5)
        assert response.status_code == 200, "a stateless check never asks Redis: it cannot revoke either"


def test_redis_dying_while_serving_is_503() -> None:
    with LocalRedisServer() as server, serve(make_app(redis_client=server.client())) as running:
        tokens = login(running.url)
        server.stop()
        me = requests.get(f"{running.url}/me", headers=bearer(tokens["access_token"]), timeout=10)
        refresh = requests.post(f"{running.url}/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=10)
        logout = requests.post(f"{running.url}/logout", headers=bearer(tokens["access_token"]), timeout=10)
    assert [r.status_code for r in (me, refresh, logout)] == [503, 503, 503]


# --- nothing produces a 500 ------------------------------------------------------------------------


def raw_status(url: str, request: bytes) -> int:
    """Send raw bytes (no client-side validation at all) and return the status code."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return int(reply.split(b" ", 2)[1])


REQUEST_HEAD = b"GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: "
RAW_HEADERS = [b"Bearer \xff\xfe", b"\x00", b"Bearer \x00abc", b"Bearer\ttoken", b"Bearer \x1b[31m",
               b"\xe2\x80\x8bBearer x"]


@pytest.mark.parametrize("value", RAW_HEADERS)
def test_raw_authorization_bytes(api: str, value: bytes) -> None:
    status = raw_status(api, REQUEST_HEAD + value + b"\r\n\r\n")
    assert status in (400, 401)


header_bytes = st.binary(max_size=300).filter(lambda b: b"\r" not in b and b"\n" not in b)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=header_bytes)
def test_any_authorization_header_is_400_or_401(api: str, value: bytes) -> None:
    status = raw_status(api, REQUEST_HEAD + value + b"\r\n\r\n")
    assert status in (400, 401)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400) | st.from_regex(rb'\{"refresh_token": ?"[ -~]{0,80}"\}', fullmatch=True))
def test_any_refresh_body_is_400(api: str, body: bytes) -> None:
    response = requests.post(f"{api}/refresh", data=body, headers={"Content-Type": "application/json"}, timeout=5)
    assert response.status_code == 400


# --- the two helpers, as units ---------------------------------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [(None, None), ("Basic abc", None), ("bEaReR  tok", "tok"),
                                                  ("Bearer a.b-c_d~e+f/g==", "a.b-c_d~e+f/g==")])
def test_parse_bearer_accepts(header: str | None, expected: str | None) -> None:
    assert parse_bearer(header) == expected


@pytest.mark.parametrize("header", ["", " Bearer x", "Bearer", "Bearer ", "Bearer a b", "Bearer =abc", "Bearer a=b",
                                    "Bearer\tx"])
def test_parse_bearer_refuses(header: str) -> None:
    with pytest.raises(ValueError):
        parse_bearer(header)


def test_www_authenticate_builds_rfc6750_challenges() -> None:
    assert www_authenticate("api") == 'Bearer realm="api"'
    assert www_authenticate("api", "invalid_token", "expired") == (
        'Bearer realm="api", error="invalid_token", error_description="expired"'
    )
    with pytest.raises(ValueError):
        www_authenticate("api", "invalid_token", 'say "hi"')


def test_the_replaced_overlap_setting_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="OVERLAP was replaced by GRACE"):
        create_app({"OVERLAP": timedelta(seconds=5)}, redis_client=connect(fresh=True))


# --- logins as a user sees them: list, end one, a bound per user; scope from the roles now ----------


def test_a_user_lists_their_logins_and_ends_one(fresh_api: str) -> None:
    phone = requests.post(f"{fresh_api}/login", json=ALICE, headers={"User-Agent": "Firefox on a phone"},
                          timeout=10).json()
    laptop = login(fresh_api)
    listed = requests.get(f"{fresh_api}/logins", headers=bearer(laptop["access_token"]), timeout=5)
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "no-store"
    logins = listed.json()["logins"]
    assert [(each["device"], each["current"]) for each in logins] == [
        ("Firefox on a phone", False), (requests.utils.default_user_agent(), True)]
    assert all(each["created"] <= each["last_used"] < each["ends"] for each in logins)
    ended = requests.delete(f"{fresh_api}/logins/{logins[0]['id']}", headers=bearer(laptop["access_token"]), timeout=5)
    assert ended.status_code == 204
    refused = requests.post(f"{fresh_api}/refresh", json={"refresh_token": phone["refresh_token"]}, timeout=5)
    assert refused.json()["error_description"] == "refresh token refused: revoked"
    assert requests.get(f"{fresh_api}/me", headers=bearer(phone["access_token"]), timeout=5).status_code == 401
    after = requests.get(f"{fresh_api}/logins", headers=bearer(laptop["access_token"]), timeout=5).json()["logins"]
    assert [each["id"] for each in after] == [logins[1]["id"]]


@pytest.mark.parametrize("login_id", ["already-ended", "x" * 65, "%7Bbraces%7D", "..", "a%00b"])
def test_ending_a_login_that_is_not_yours_or_not_live_is_404(fresh_api: str, login_id: str) -> None:
    mine = login(fresh_api)
    if login_id == "already-ended":
        login_id = requests.get(f"{fresh_api}/logins", headers=bearer(mine["access_token"]), timeout=5).json()[
            "logins"][0]["id"]
        requests.delete(f"{fresh_api}/logins/{login_id}", headers=bearer(login(fresh_api)["access_token"]), timeout=5)
    answer = requests.delete(f"{fresh_api}/logins/{login_id}", headers=bearer(login(fresh_api)["access_token"]),
                             timeout=5)
    assert answer.status_code == 404, answer.text


def test_another_users_login_cannot_be_ended(fresh_api: str) -> None:
    alice = login(fresh_api)
    alice_login = requests.get(f"{fresh_api}/logins", headers=bearer(alice["access_token"]), timeout=5).json()[
        "logins"][0]["id"]
    root = login(fresh_api, ROOT)
    assert requests.delete(f"{fresh_api}/logins/{alice_login}", headers=bearer(root["access_token"]),
                           timeout=5).status_code == 404
    assert requests.get(f"{fresh_api}/me", headers=bearer(alice["access_token"]), timeout=5).ok


def test_logins_beyond_the_limit_end_the_oldest(redis_client: redis.Redis) -> None:
    with serve(make_app({"MAX_LOGINS": 2}, redis_client=redis_client)) as running:
        oldest, middle, newest = (login(running.url) for _ in range(3))
        refused = requests.post(f"{running.url}/refresh", json={"refresh_token": oldest["refresh_token"]}, timeout=5)
        assert refused.json()["error_description"] == "refresh token refused: revoked"
        assert requests.get(f"{running.url}/me", headers=bearer(oldest["access_token"]), timeout=5).status_code == 401
        assert requests.post(f"{running.url}/refresh", json={"refresh_token": middle["refresh_token"]},
                             timeout=5).status_code == 200
        listed = requests.get(f"{running.url}/logins", headers=bearer(newest["access_token"]), timeout=5).json()
        assert len(listed["logins"]) == 2


def test_a_demoted_user_gets_a_demoted_token_at_the_next_refresh(redis_client: redis.Redis) -> None:
    import dataclasses

    from authkit.login.passwords import hash_password
    from authkit.login.users import MemoryDirectory, User, seeded_user_id

    root = User(seeded_user_id("root"), "root", hash_password(ROOT["password"], TEST_COST), ("read", "admin"))
    users = MemoryDirectory([root])
    with serve(make_app({"USERS": users}, redis_client=redis_client)) as running:
        tokens = login(running.url, ROOT)
        assert requests.get(f"{running.url}/admin", headers=bearer(tokens["access_token"]), timeout=5).ok
        users.update(dataclasses.replace(root, roles=("read",)))  # the directory demotes root
        tokens = requests.post(f"{running.url}/refresh", json={"refresh_token": tokens["refresh_token"]},
                               timeout=5).json()
        assert tokens["scope"] == "read"
        assert requests.get(f"{running.url}/admin", headers=bearer(tokens["access_token"]), timeout=5).status_code == 403


def test_bearer_lifetimes_and_the_login_limit_are_settings(redis_server: LocalRedisServer, tmp_path) -> None:
    from authkit.config import ConfigError, write_key_file
    from authkit.web import wsgi

    write_key_file(tmp_path / "signing.jwks", SigningKey.generate("EdDSA", kid="access"))
    write_key_file(tmp_path / "refresh.jwks", SigningKey.generate("HS256", kid="rt"))
    env = {"AUTHKIT_REDIS_URL": redis_server.url, "AUTHKIT_SIGNING_KEYS": str(tmp_path / "signing.jwks"),
           "AUTHKIT_REFRESH_KEYS": str(tmp_path / "refresh.jwks"), "AUTHKIT_ISSUER": "https://auth.example",
           "AUTHKIT_AUDIENCE": "api", "AUTHKIT_SCRYPT_LOG2_N": "10", "AUTHKIT_DEMO_USERS": "1"}
    default = wsgi.bearer_api(env).config
    assert (default["REFRESH_TTL"], default["REFRESH_ABSOLUTE"], default["REFRESH_CLIENT"], default["MAX_LOGINS"]) == (
        timedelta(days=14), timedelta(days=30), "public", 10)
    app = wsgi.bearer_api({**env, "AUTHKIT_ACCESS_TTL": "300", "AUTHKIT_REFRESH_TTL": "3600",
                           "AUTHKIT_REFRESH_ABSOLUTE": "86400", "AUTHKIT_REFRESH_CLIENT": "confidential",
                           "AUTHKIT_MAX_LOGINS": "0"})
    families = app.extensions["authkit.bearer"].families
    assert (families.idle, families.absolute, families.kind, families.max_logins, families.access_ttl) == (
        timedelta(hours=1), timedelta(days=1), "confidential", None, timedelta(minutes=5))
    for bad in ({"AUTHKIT_REFRESH_CLIENT": "browser"}, {"AUTHKIT_MAX_LOGINS": "-1"},
                {"AUTHKIT_REFRESH_CLIENT": "confidential", "AUTHKIT_REFRESH_ABSOLUTE": "60"}):
        with pytest.raises(ConfigError):
            wsgi.bearer_api({**env, **bad})
