"""The hybrid architecture end to end on loopback: cookie -> BFF -> 60 s JWT -> internal service via JWKS."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Iterator

import pytest
import requests
import time_machine

from authkit.login.users import seeded_user_id
from authkit.tokens.keys import KeySet, SigningKey
from authkit.login.passwords import ScryptCost
from authkit.state.redis import connect
from authkit.state.sessions import SessionStore
from authkit.study.timeline import START
from authkit.tokens.issuer import TokenVerifier
from authkit.web.bff import INTERNAL_TOKEN_TTL, Hybrid, create_bff_app
from authkit.web.cookie_app import COOKIE_NAME, CSRF_HEADER, DEMO_ACCOUNTS
from authkit.web.server import serve

PASSWORD = DEMO_ACCOUNTS["alice"][0]
FAST = ScryptCost(log2_n=10)  # these tests check the BFF, not scrypt's cost
EDGE = "https://localhost"  # the origin of the Flask test client's requests below


@pytest.fixture(scope="module")
def hybrid() -> Iterator[Hybrid]:
    with Hybrid(SessionStore(connect(fresh=True)), password_cost=FAST) as running:
        yield running


def bff_app(store: SessionStore, internal_url: str = "http://127.0.0.1:9", **options):
    """A BFF app for Flask's test client, trusting the test client's origin."""
    return create_bff_app(store, KeySet(SigningKey.generate("EdDSA")), internal_url=internal_url, issuer="i",
                          audience="a", trusted_origins={EDGE}, password_cost=FAST, **options)


def login(hybrid: Hybrid) -> tuple[requests.Session, str]:
    browser = hybrid.browser()
    answer = browser.post(f"{hybrid.url}/login", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 200
    return browser, answer.json()["csrf_token"]


def test_a_cookie_at_the_edge_becomes_a_short_jwt_behind_it(hybrid: Hybrid) -> None:
    browser, _ = login(hybrid)
    before = len(hybrid.minted)
    answer = browser.get(f"{hybrid.url}/api/me")
    assert answer.status_code == 200
    assert answer.json() == {"user": seeded_user_id("alice"), "scope": "admin transfer", "token_ttl": 60}
    assert len(hybrid.minted) == before + 1
    verifier = TokenVerifier(hybrid.keys, issuer="https://bff.example", audience="https://internal.example")
    claims = verifier.verify_access(hybrid.minted[-1])
    assert claims["exp"] - claims["iat"] == INTERNAL_TOKEN_TTL.total_seconds() == 60
    assert "eyJ" not in answer.text and "eyJ" not in str(answer.headers), "the browser never sees the JWT"
    cookie = answer.request.headers["Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")


def test_logout_at_the_edge_stops_new_tokens(hybrid: Hybrid) -> None:
    browser, csrf = login(hybrid)
    assert browser.get(f"{hybrid.url}/api/me").status_code == 200
    stolen = browser.cookies.get(COOKIE_NAME)
    assert browser.post(f"{hybrid.url}/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    minted = len(hybrid.minted)
    thief = hybrid.browser()
    thief.cookies.set(COOKIE_NAME, stolen)
    answer = thief.get(f"{hybrid.url}/api/me")
    assert (answer.status_code, answer.json()["error"]) == (401, "unknown")
    assert len(hybrid.minted) == minted, "no token minted for a dead session"


def test_a_token_minted_before_logout_dies_within_its_60_seconds(hybrid: Hybrid) -> None:
    with time_machine.travel(START, tick=False) as clock:  # server threads see the same virtual time
        browser, csrf = login(hybrid)
        browser.get(f"{hybrid.url}/api/me")
        last = hybrid.minted[-1]
        browser.post(f"{hybrid.url}/logout", headers={CSRF_HEADER: csrf})
        internal = requests.Session()
        internal.trust_env = False
        bearer = {"Authorization": f"Bearer {last}"}
        clock.shift(timedelta(seconds=59))
        assert internal.get(f"{hybrid.internal.url}/me", headers=bearer).status_code == 200
        clock.shift(timedelta(seconds=1))
        refused = internal.get(f"{hybrid.internal.url}/me", headers=bearer)
        assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("headers", "body", "status", "error"), [
    ({"Origin": "https://evil.example"}, {"username": "alice", "password": PASSWORD}, 403, "bad_origin"),
    ({}, {"username": "alice", "password": "wrong"}, 401, "invalid_credentials"),
    ({}, {"username": "mallory", "password": PASSWORD}, 401, "invalid_credentials"),
    ({}, ["not", "an", "object"], 400, "bad_request"),
])
def test_bad_logins_are_refused(hybrid: Hybrid, headers, body, status: int, error: str) -> None:
    answer = hybrid.browser().post(f"{hybrid.url}/login", json=body, headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (status, error)


@pytest.mark.parametrize(("headers", "error"), [
    ({}, "missing_token"),
    ({CSRF_HEADER: "forged"}, "bad_token"),
    ({"Origin": "https://evil.example"}, "bad_origin"),
])
def test_logout_needs_the_csrf_token_and_a_trusted_origin(hybrid: Hybrid, headers, error: str) -> None:
    browser, _ = login(hybrid)
    answer = browser.post(f"{hybrid.url}/logout", headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (403, error)
    assert browser.get(f"{hybrid.url}/api/me").status_code == 200, "still logged in"


def test_no_cookie_no_call(hybrid: Hybrid) -> None:
    answer = hybrid.browser().get(f"{hybrid.url}/api/me")
    assert (answer.status_code, answer.json()["error"]) == (401, "missing")


def test_an_unreachable_internal_service_is_a_502_not_a_500() -> None:
    store = SessionStore(connect(fresh=True))
    app = bff_app(store)
    client = app.test_client()
    session = store.create("alice")
    client.set_cookie(COOKIE_NAME, session.id)
    answer = client.get("/api/me", base_url="https://localhost")
    assert (answer.status_code, answer.json["error"]) == (502, "bad_gateway")


def test_the_bff_refuses_a_shared_secret() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        create_bff_app(SessionStore(connect(fresh=True)), KeySet(SigningKey.generate("HS256")),
                       internal_url="http://127.0.0.1:9", issuer="i", audience="a")


@pytest.mark.parametrize("reply", [b"not json", b"[1, 2]", b'{"sub": "alice"}'], ids=["text", "list", "no-scope"])
def test_an_unreadable_internal_answer_is_a_502_not_a_500(reply: bytes) -> None:
    from flask import Flask

    internal = Flask("junk")
    internal.add_url_rule("/me", "me", lambda: (reply, 200, {"Content-Type": "application/json"}))
    store = SessionStore(connect(fresh=True))
    with serve(internal) as running:
        app = bff_app(store, running.url)
        client = app.test_client()
        client.set_cookie(COOKIE_NAME, store.create("alice").id)
        answer = client.get("/api/me", base_url="https://localhost")
    assert (answer.status_code, answer.json["error"]) == (502, "bad_gateway")


def test_a_refused_post_rotates_nothing_and_the_next_request_does() -> None:
    store = SessionStore(connect(fresh=True))
    client = bff_app(store).test_client()
    session = store.create("alice", roles=("admin",))
    client.set_cookie(COOKIE_NAME, session.id)
    store.set_roles("alice", ["viewer"])
    refused = client.post("/logout", base_url=EDGE, headers={"Origin": EDGE})
    assert (refused.status_code, refused.json["error"]) == (403, "missing_token")
    assert client.get_cookie(COOKIE_NAME).value == session.id, "refused before the store: nothing rotated"
    assert store.peek(session.id).roles == (), "the removed role is gone at once all the same"
    answered = client.post("/logout", base_url=EDGE, headers={"Origin": EDGE, CSRF_HEADER: session.csrf_token})
    assert answered.status_code == 200 and client.get_cookie(COOKIE_NAME) is None


def test_login_destroys_a_planted_session(hybrid: Hybrid) -> None:
    attacker, _ = login(hybrid)
    planted = attacker.cookies.get(COOKIE_NAME)
    victim = hybrid.browser()
    victim.cookies.set(COOKIE_NAME, planted, domain="127.0.0.1", path="/")
    answer = victim.post(f"{hybrid.url}/login", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 200 and victim.cookies.get(COOKIE_NAME) != planted
    assert (attacker.get(f"{hybrid.url}/api/me").status_code, victim.get(f"{hybrid.url}/api/me").status_code) == (401, 200)


def test_a_forged_logout_does_not_slide_the_session() -> None:
    store = SessionStore(connect(fresh=True))
    client = bff_app(store).test_client()
    session = store.create("alice")
    client.set_cookie(COOKIE_NAME, session.id)
    record = store.key("alice", session.handle)
    before = store.client.pexpiretime(record)
    time.sleep(0.01)
    for headers in ({"Origin": EDGE}, {"Origin": "https://evil.example", CSRF_HEADER: session.csrf_token}):
        assert client.post("/logout", base_url=EDGE, headers=headers).status_code == 403
        assert store.client.pexpiretime(record) == before
    assert store.validate(session.id).user_id == "alice"


def test_with_no_trusted_origin_the_bff_refuses_logins() -> None:
    store = SessionStore(connect(fresh=True))
    app = create_bff_app(store, KeySet(SigningKey.generate("EdDSA")), internal_url="http://127.0.0.1:9",
                         issuer="i", audience="a", password_cost=FAST)
    answer = app.test_client().post("/login", base_url=EDGE, headers={"Origin": EDGE},
                                    json={"username": "alice", "password": PASSWORD})
    assert (answer.status_code, answer.json["error"]) == (403, "bad_origin") and "trusted_origins" in answer.json["message"]


@pytest.mark.parametrize(("path", "method"), [("/login", "POST"), ("/logout", "POST"), ("/api/me", "GET")])
def test_the_bff_refuses_cross_site_requests_on_sec_fetch_site(path: str, method: str) -> None:
    client = bff_app(SessionStore(connect(fresh=True))).test_client()
    login = client.post("/login", json={"username": "alice", "password": PASSWORD}, base_url=EDGE,
                        headers={"Origin": EDGE, "Sec-Fetch-Site": "same-origin"})
    assert login.status_code == 200
    headers = {"Origin": EDGE, CSRF_HEADER: login.get_json()["csrf_token"], "Sec-Fetch-Site": "cross-site",
               "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
    refused = client.open(path, method=method, base_url=EDGE, headers=headers,
                          json={"username": "alice", "password": PASSWORD} if path == "/login" else None)
    assert refused.status_code == 403 and refused.get_json()["error"] == "cross_site"
    assert "Sec-Fetch-Site" in refused.headers["Vary"]


def test_the_bff_cookie_is_samesite_strict_from_login_to_logout() -> None:
    client = bff_app(SessionStore(connect(fresh=True))).test_client()
    login = client.post("/login", json={"username": "alice", "password": PASSWORD}, base_url=EDGE,
                        headers={"Origin": EDGE})
    assert "SameSite=Strict" in login.headers["Set-Cookie"] and "Lax" not in login.headers["Set-Cookie"]
    out = client.post("/logout", base_url=EDGE, headers={"Origin": EDGE, CSRF_HEADER: login.get_json()["csrf_token"]})
    assert out.status_code == 200 and "SameSite=Strict" in out.headers["Set-Cookie"]
