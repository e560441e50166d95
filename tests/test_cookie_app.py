"""The cookie app over real HTTPS on loopback: cookie flags, 401/403/503, CSRF, logout, never a 500."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import redis
import requests

from authkit.login.users import seeded_user_id
from authkit import SessionStore
from authkit.login.passwords import ScryptCost
from authkit.state.sessions import session_handle
from authkit.state.redis import connect, count_round_trips, free_port
from authkit.web.cookie_app import (
    COOKIE_NAME,
    CSRF_HEADER,
    DEMO_ACCOUNTS,
    clear_session_cookie,
    create_cookie_app,
    session_cookie,
)
from authkit.web.server import serve
from authkit.web.tls import LocalTLS
from tests.test_sessions import redis_at_maxmemory

ALICE_ID = seeded_user_id("alice")  # the demo directory's stable ID for alice: sessions are keyed by it

COOKIE = re.compile(rf"^{COOKIE_NAME}=(?P<value>[A-Za-z0-9_-]{{134}}\.[A-Za-z0-9_-]{{43}}); Secure; HttpOnly; Path=/; SameSite=Lax$")
CLEARED = clear_session_cookie("Lax")
FAST = ScryptCost(log2_n=10)  # about a millisecond per login: these tests check the app, not scrypt's cost


@dataclass
class Site:
    """The same app served twice: over HTTPS (the real site) and over plain HTTP (to show Secure)."""

    https: str
    http: str
    tls: LocalTLS

    def browser(self, label: str = "laptop") -> requests.Session:
        return self.tls.client({"Origin": self.https, "User-Agent": label})

    def login(self, browser: requests.Session, user: str = "alice") -> requests.Response:
        password = DEMO_ACCOUNTS[user][0]
        response = browser.post(f"{self.https}/login", json={"username": user, "password": password})
        assert response.status_code == 200, response.text
        return response


@pytest.fixture(scope="module")
def tls() -> Iterator[LocalTLS]:
    with LocalTLS() as local:
        yield local


@pytest.fixture
def store(redis_client: redis.Redis) -> SessionStore:
    return SessionStore(redis_client)


def _site(store: SessionStore, tls: LocalTLS, **options: str) -> Iterator[Site]:
    app = create_cookie_app(store, password_cost=FAST, **options)
    with serve(app, ssl_context=tls.server_context) as https, serve(app) as http:
        app.config["TRUSTED_ORIGINS"] = frozenset({https.url})  # known once the port is
        yield Site(https.url, http.url, tls)


@pytest.fixture
def site(store: SessionStore, tls: LocalTLS) -> Iterator[Site]:
    yield from _site(store, tls)


def csrf(response: requests.Response) -> dict[str, str]:
    return {CSRF_HEADER: response.json()["csrf_token"]}


# --- the cookie ----------------------------------------------------------------------------------


def test_login_sets_a_host_only_secure_httponly_lax_cookie(site: Site) -> None:
    browser = site.browser()
    response = site.login(browser)
    header = response.headers["Set-Cookie"]
    match = COOKIE.match(header)
    assert match, header
    assert "Domain" not in header and "Expires" not in header and "Max-Age" not in header
    assert browser.cookies.get(COOKIE_NAME) == match["value"]
    me = browser.get(f"{site.https}/me")
    assert me.status_code == 200 and me.json()["user"] == ALICE_ID
    assert me.headers["Cache-Control"] == "no-store"


def test_strict_is_a_one_line_option(store: SessionStore, tls: LocalTLS) -> None:
    for site in _site(store, tls, same_site="Strict"):
        header = site.login(site.browser()).headers["Set-Cookie"]
        assert header.endswith("; Secure; HttpOnly; Path=/; SameSite=Strict")


def test_the_secure_cookie_is_not_sent_over_plain_http(site: Site) -> None:
    browser = site.browser()
    site.login(browser)
    plain = browser.get(f"{site.http}/me")
    assert "Cookie" not in plain.request.headers
    assert plain.status_code == 401 and plain.json()["error"] == "missing"
    assert "Set-Cookie" not in plain.headers  # nothing was sent, so nothing is cleared
    assert browser.get(f"{site.https}/me").status_code == 200


@pytest.mark.parametrize("username, password", [("alice", "wrong"), ("mallory", "anything"), ("alice", "")])
def test_bad_credentials_are_401_without_a_cookie(site: Site, username: str, password: str) -> None:
    response = site.browser().post(f"{site.https}/login", json={"username": username, "password": password})
    assert response.status_code == 401 and response.json()["error"] == "invalid_credentials"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "tamper, expected",
    [
        (lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"), "malformed"),  # the secret is sealed with the rest
        (lambda v: ("A" if v[7] != "A" else "B").join((v[:7], v[8:])), "malformed"),
        (lambda v: v + "x", "malformed"),
        (lambda v: "garbage", "malformed"),
        (lambda v: v.partition(".")[2], "malformed"),
        (lambda v: f"alice.{'9' * 15}.{v.partition('.')[2]}", "malformed"),  # the format before IDs were sealed
        (lambda v: "alice.1767258000000." + "A" * 43, "malformed"),
    ],
    ids=["flipped-secret", "flipped-seal", "longer", "garbage", "no-seal", "old-format", "old-format-past"],
)
def test_tampered_cookies_are_401_and_cleared(site: Site, tamper, expected: str) -> None:
    browser = site.browser()
    site.login(browser)
    forged = tamper(browser.cookies.get(COOKIE_NAME))
    response = requests.get(f"{site.https}/me", cookies={COOKIE_NAME: forged}, verify=site.tls.ca_file)
    assert response.status_code == 401 and response.json()["error"] == expected
    assert response.headers["Set-Cookie"] == CLEARED


# --- fail closed ---------------------------------------------------------------------------------


def test_unreachable_redis_is_503_for_every_route(tls: LocalTLS) -> None:
    down = SessionStore(connect(f"redis://127.0.0.1:{free_port()}/0"))
    for site in _site(down, tls):
        browser = site.browser()
        cookie = down.ids.seal("alice", int("9" * 15), "A" * 43)  # well sealed: only the store can say more
        browser.cookies.set(COOKIE_NAME, cookie)
        answers = [
            browser.get(f"{site.https}/me"),
            browser.post(f"{site.https}/login", json={"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]}),
            browser.post(f"{site.https}/logout", headers={CSRF_HEADER: down.csrf_token(cookie)}),
        ]
        for response in answers:
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "store_unavailable"
            assert response.headers["Retry-After"] == "5"
            assert "Set-Cookie" not in response.headers  # the session may be fine: keep the cookie


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, expected",
    [
        ({}, "missing_token"),
        ({CSRF_HEADER: "not-the-token"}, "bad_token"),
        ({CSRF_HEADER: "ünïcode"}, "bad_token"),
        ({CSRF_HEADER: "TOKEN", "Origin": "https://evil.example"}, "bad_origin"),
        ({CSRF_HEADER: "TOKEN", "Origin": "null"}, "bad_origin"),
        ({CSRF_HEADER: "TOKEN", "Origin": ""}, "missing_origin"),
    ],
    ids=["no-token", "wrong-token", "non-ascii-token", "evil-origin", "null-origin", "no-origin"],
)
def test_transfer_needs_the_token_and_a_trusted_origin(site: Site, headers: dict, expected: str) -> None:
    browser = site.browser()
    token = site.login(browser).json()["csrf_token"]
    headers = {k: (token if v == "TOKEN" else v) for k, v in headers.items()}
    if headers.get("Origin") == "":
        browser.headers.pop("Origin")
        headers.pop("Origin")
    response = browser.post(f"{site.https}/transfer", json={"to": "bob", "amount": 10},
                            headers={k: v.encode() for k, v in headers.items()})
    assert response.status_code == 403 and response.json()["error"] == expected


def test_transfer_passes_with_token_and_origin_or_referer(site: Site) -> None:
    browser = site.browser()
    headers = csrf(site.login(browser))
    ok = browser.post(f"{site.https}/transfer", json={"to": "bob", "amount": 10}, headers=headers)
    assert ok.status_code == 200 and ok.json() == {"transferred": 10, "to": "bob", "by": ALICE_ID}
    browser.headers.pop("Origin")
    via_referer = browser.post(f"{site.https}/transfer", json={"to": "bob", "amount": 1},
                               headers={**headers, "Referer": f"{site.https}/pay"})
    assert via_referer.status_code == 200


def test_login_from_another_origin_is_refused(site: Site) -> None:
    response = site.browser().post(f"{site.https}/login", json={"username": "alice", "password": "x"},
                                   headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and response.json()["error"] == "bad_origin"


# --- lifecycle -----------------------------------------------------------------------------------


def test_logout_clears_the_cookie_and_the_old_cookie_stays_dead(site: Site) -> None:
    browser = site.browser()
    headers = csrf(site.login(browser))
    old = browser.cookies.get(COOKIE_NAME)
    response = browser.post(f"{site.https}/logout", headers=headers)
    assert response.status_code == 200 and response.headers["Set-Cookie"] == CLEARED
    assert COOKIE_NAME not in browser.cookies
    replay = requests.get(f"{site.https}/me", cookies={COOKIE_NAME: old}, verify=site.tls.ca_file)
    assert replay.status_code == 401 and replay.json()["error"] == "unknown"


def test_login_never_keeps_a_planted_session_id(site: Site) -> None:
    attacker = site.browser("attacker")
    site.login(attacker, "bob")
    planted = attacker.cookies.get(COOKIE_NAME)
    victim = site.browser("victim")
    victim.cookies.set(COOKIE_NAME, planted, domain="127.0.0.1", path="/")  # planted by the attacker
    site.login(victim, "alice")
    assert victim.cookies.get(COOKIE_NAME) != planted
    assert attacker.get(f"{site.https}/me").status_code == 401
    assert victim.get(f"{site.https}/me").json()["user"] == ALICE_ID


def test_devices_logout_one_and_everywhere(site: Site) -> None:
    laptop, phone, tablet = (site.browser(x) for x in ("laptop", "phone", "tablet"))
    token = {b: csrf(site.login(b)) for b in (laptop, phone, tablet)}
    listed = laptop.get(f"{site.https}/sessions").json()["sessions"]
    assert [(s["label"], s["current"]) for s in listed] == [("laptop", True), ("phone", False), ("tablet", False)]
    phone_handle = listed[1]["handle"]
    assert laptop.post(f"{site.https}/sessions/{phone_handle}/revoke", headers=token[laptop]).json() == {"revoked": True}
    assert phone.get(f"{site.https}/me").status_code == 401
    assert laptop.post(f"{site.https}/sessions/{phone_handle}/revoke", headers=token[laptop]).status_code == 404
    site.login(phone)
    kept = laptop.post(f"{site.https}/logout-all", json={"keep_current": True}, headers=token[laptop])
    assert kept.json() == {"ended": 2} and "Set-Cookie" not in kept.headers
    assert [b.get(f"{site.https}/me").status_code for b in (laptop, phone, tablet)] == [200, 401, 401]
    everything = laptop.post(f"{site.https}/logout-all", headers=token[laptop])
    assert everything.json() == {"ended": 1} and everything.headers["Set-Cookie"] == CLEARED


def test_a_role_change_applies_on_the_next_request_and_rotates_the_id(site: Site) -> None:
    admin, bob = site.browser("admin"), site.browser("bob")
    admin_token = csrf(site.login(admin, "alice"))
    bob_token = csrf(site.login(bob, "bob"))
    old = bob.cookies.get(COOKIE_NAME)
    assert bob.post(f"{site.https}/transfer", json={"to": "carol", "amount": 5}, headers=bob_token).status_code == 200
    changed = admin.post(f"{site.https}/admin/roles", json={"user": "bob", "roles": []}, headers=admin_token)
    assert changed.status_code == 200
    me = bob.get(f"{site.https}/me")
    assert me.json()["roles"] == [] and COOKIE.match(me.headers["Set-Cookie"])
    assert bob.cookies.get(COOKIE_NAME) != old
    denied = bob.post(f"{site.https}/transfer", json={"to": "carol", "amount": 5}, headers=csrf(me))
    assert denied.status_code == 403 and denied.json()["error"] == "forbidden"
    in_flight = requests.get(f"{site.https}/me", cookies={COOKIE_NAME: old}, verify=site.tls.ca_file)
    assert in_flight.status_code == 200 and in_flight.json()["roles"] == [], "the old ID, in its grace, lost the role too"
    assert "Set-Cookie" not in in_flight.headers, "an old-ID request neither clears nor replaces the cookie"
    not_admin = bob.post(f"{site.https}/admin/roles", json={"user": "bob", "roles": ["admin"]}, headers=csrf(me))
    assert not_admin.status_code == 403


def test_a_post_refused_after_the_rotation_still_delivers_the_new_id(site: Site) -> None:
    admin, bob = site.browser("admin"), site.browser("bob")
    admin_token = csrf(site.login(admin, "alice"))
    bob_token = csrf(site.login(bob, "bob"))
    old = bob.cookies.get(COOKIE_NAME)
    assert admin.post(f"{site.https}/admin/roles", json={"user": "bob", "roles": []}, headers=admin_token).ok
    stale = bob.post(f"{site.https}/transfer", json={"to": "carol", "amount": 5}, headers=bob_token)
    assert (stale.status_code, stale.json()["error"]) == (403, "forbidden"), "its token matched the ID it carried"
    assert COOKIE.match(stale.headers["Set-Cookie"]) and bob.cookies.get(COOKIE_NAME) != old
    me = bob.get(f"{site.https}/me")
    assert me.status_code == 200 and me.json()["roles"] == [], "still logged in, on the new ID"


def test_the_old_cookie_stops_after_the_grace(redis_client: redis.Redis, tls: LocalTLS) -> None:
    for site in _site(SessionStore(redis_client, rotation_grace=timedelta(milliseconds=300)), tls):
        admin, bob = site.browser("admin"), site.browser("bob")
        admin_token = csrf(site.login(admin, "alice"))
        site.login(bob, "bob")
        old = bob.cookies.get(COOKIE_NAME)
        assert admin.post(f"{site.https}/admin/roles", json={"user": "bob", "roles": ["transfer"]}, headers=admin_token).ok
        assert bob.get(f"{site.https}/me").ok and bob.cookies.get(COOKIE_NAME) != old
        replay = lambda: requests.get(f"{site.https}/me", cookies={COOKIE_NAME: old}, verify=site.tls.ca_file)
        assert replay().status_code == 200
        time.sleep(0.35)
        late = replay()
        assert (late.status_code, late.json()["error"]) == (401, "unknown")
        assert bob.get(f"{site.https}/me").status_code == 200


def test_parallel_requests_across_a_role_change_never_log_the_user_out(real_redis: redis.Redis, tls: LocalTLS) -> None:
    for site in _site(SessionStore(real_redis), tls):
        admin = site.browser("admin")
        admin_token = csrf(site.login(admin, "alice"))
        for trial in range(20):
            bob = site.browser("bob")
            bob_token = csrf(site.login(bob, "bob"))
            old = bob.cookies.get(COOKIE_NAME)
            roles = ["transfer", "admin"] if trial % 2 else ["transfer"]  # a promotion, then a demotion, ...
            assert admin.post(f"{site.https}/admin/roles", json={"user": "bob", "roles": roles}, headers=admin_token).ok
            start, answers = threading.Barrier(8), []

            def request(n: int) -> None:
                tab = site.tls.client({"Origin": site.https})
                tab.cookies.set(COOKIE_NAME, old, domain="127.0.0.1", path="/")
                start.wait()
                if n % 2:
                    answer = tab.post(f"{site.https}/transfer", json={"to": "carol", "amount": 1}, headers=bob_token)
                else:
                    answer = tab.get(f"{site.https}/me")
                answers.append(answer)  # in the order the answers arrive, as a browser applies them

            threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
            set_cookies = [a.headers["Set-Cookie"] for a in answers if "Set-Cookie" in a.headers]
            assert len(set_cookies) == 1 and COOKIE.match(set_cookies[0]), set_cookies  # no answer clears the cookie
            jar = old
            for answer in answers:
                jar = COOKIE.match(answer.headers["Set-Cookie"])["value"] if "Set-Cookie" in answer.headers else jar
            assert jar != old
            final = requests.get(f"{site.https}/me", cookies={COOKIE_NAME: jar}, verify=site.tls.ca_file)
            assert final.status_code == 200 and final.json()["roles"] == roles
            assert "admin" not in {r for a in answers if a.request.method == "GET" and "Set-Cookie" not in a.headers
                                   for r in a.json()["roles"]}, "a promotion never reached the old ID"


def test_a_forged_post_changes_nothing_not_even_the_idle_deadline(site: Site, store: SessionStore) -> None:
    browser = site.browser()
    token = csrf(site.login(browser))
    cookie = browser.cookies.get(COOKIE_NAME)
    record = store.key(ALICE_ID, session_handle(cookie))
    before = store.client.pexpiretime(record)
    time.sleep(0.01)
    for headers in ({}, {CSRF_HEADER: "forged"}, {**token, "Origin": "https://evil.example"}):
        forged = browser.post(f"{site.https}/transfer", json={"to": "mallory", "amount": 1}, headers=headers)
        assert forged.status_code == 403
        assert store.client.pexpiretime(record) == before, "a refused request must not slide the session"
    assert browser.get(f"{site.https}/me").ok and store.client.pexpiretime(record) > before


def test_with_no_trusted_origin_every_state_changing_request_is_refused(store: SessionStore, tls: LocalTLS) -> None:
    app = create_cookie_app(store, password_cost=FAST)
    with serve(app, ssl_context=tls.server_context) as https:
        browser = tls.client({"Origin": https.url})
        login = browser.post(f"{https.url}/login", json={"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]})
        assert (login.status_code, login.json()["error"]) == (403, "bad_origin")
        assert "trusted_origins" in login.json()["message"]
        session = store.create("alice")
        browser.cookies.set(COOKIE_NAME, session.id, domain="127.0.0.1", path="/")
        assert browser.get(f"{https.url}/me").status_code == 200, "reading needs no origin"
        logout = browser.post(f"{https.url}/logout", headers={CSRF_HEADER: session.csrf_token})
        assert (logout.status_code, logout.json()["error"]) == (403, "bad_origin")


def test_trusted_origins_given_as_an_argument(store: SessionStore, tls: LocalTLS) -> None:
    port = free_port()
    app = create_cookie_app(store, password_cost=FAST, trusted_origins={f"https://127.0.0.1:{port}"})
    with serve(app, ssl_context=tls.server_context, port=port) as https:
        login = tls.client({"Origin": https.url}).post(
            f"{https.url}/login", json={"username": "alice", "password": DEMO_ACCOUNTS["alice"][0]})
        assert login.status_code == 200


@pytest.mark.parametrize("origins", ["https://app.example", ["https://app.example/"], ["*"], ["app.example"],
                                     ["https://app.example/login"], [None]])
def test_trusted_origins_are_origins(store: SessionStore, origins) -> None:
    with pytest.raises(ValueError, match="origin"):
        create_cookie_app(store, trusted_origins=origins, password_cost=FAST)


def test_logout_and_forced_logoff_work_when_redis_is_full(real_redis: redis.Redis, tls: LocalTLS) -> None:
    for site in _site(SessionStore(real_redis), tls):
        laptop, phone, tablet = (site.browser(x) for x in ("laptop", "phone", "tablet"))
        token = {b: csrf(site.login(b)) for b in (laptop, phone, tablet)}
        phone_handle = laptop.get(f"{site.https}/sessions").json()["sessions"][1]["handle"]
        with redis_at_maxmemory(real_redis):
            refused = site.browser("desk").post(f"{site.https}/login",
                                                json={"username": "bob", "password": DEMO_ACCOUNTS["bob"][0]})
            assert (refused.status_code, refused.json()["error"]) == (503, "store_unavailable"), "a login needs memory"
            assert laptop.get(f"{site.https}/me").status_code == 200
            revoked = laptop.post(f"{site.https}/sessions/{phone_handle}/revoke", headers=token[laptop])
            assert revoked.json() == {"revoked": True}
            kept = laptop.post(f"{site.https}/logout-all", json={"keep_current": True}, headers=token[laptop])
            assert kept.json() == {"ended": 1}
            assert laptop.post(f"{site.https}/logout", headers=token[laptop]).headers["Set-Cookie"] == CLEARED
        assert [b.get(f"{site.https}/me").status_code for b in (phone, tablet)] == [401, 401]


@pytest.mark.parametrize("name", ["roles", "index"])
def test_revoke_cannot_name_the_users_roles_or_index(site: Site, name: str) -> None:
    admin, bob, bobs_phone = site.browser("admin"), site.browser("bob"), site.browser("bob's phone")
    admin_token = csrf(site.login(admin, "alice"))
    site.login(bobs_phone, "bob")
    bob_token = csrf(site.login(bob, "bob"))
    assert admin.post(f"{site.https}/admin/roles", json={"user": "bob", "roles": []}, headers=admin_token).ok
    bob_token = csrf(bob.get(f"{site.https}/me"))  # the role change rotated the ID and its token
    answer = bob.post(f"{site.https}/sessions/{name}/revoke", headers=bob_token)
    assert (answer.status_code, answer.json()["error"]) == (404, "not_found")
    again = site.browser("bob again")
    assert site.login(again, "bob").json()["roles"] == [], "a fresh login does not restore the removed role"
    assert bob.post(f"{site.https}/logout-all", json={"keep_current": True}, headers=bob_token).json() == {"ended": 2}
    assert bobs_phone.get(f"{site.https}/me").status_code == 401, "log-out-everywhere still reaches every device"


def test_the_app_keeps_no_copy_of_the_session_ids_it_issues() -> None:
    assert not hasattr(session_cookie, "cache_info"), "a cache of Set-Cookie values is a list of live session IDs"


# --- never a 500 ---------------------------------------------------------------------------------

_JUNK_BODIES = [
    b"", b"not json", b"[]", b"null", b'"text"', b"{}", b'{"username": 1, "password": 2}',
    b'{"username": ["a"], "password": {}}', b'{"username": "\\ud800", "password": "\\ud800"}',
    b'{"to": "bob", "amount": "10"}', b'{"to": "bob", "amount": 1e309}', b'{"to": "bob", "amount": true}',
    b'{"to": "../../etc", "amount": 1}', b'{"to": "bob", "amount": -5}', b'{"to": "bob", "amount": 10000000}',
    b'{"user": "bob", "roles": "admin"}', b'{"user": "bob", "roles": ["ADMIN ", 1]}', b'{"user": 7, "roles": []}',
    b'{"user": "bob", "roles": ["admin\\n"]}',
    b'{"user": "nobody", "roles": []}', b'{"keep_current": "yes"}', b"\xff\xfe\x00", b"{" * 5000,
]


@pytest.mark.parametrize("path", ["/login", "/transfer", "/admin/roles", "/logout-all", "/sessions/x/revoke"])
def test_no_input_makes_a_500(site: Site, path: str) -> None:
    browser = site.browser()
    headers = {**csrf(site.login(browser)), "Content-Type": "application/json"}
    for body in _JUNK_BODIES:
        response = browser.post(f"{site.https}{path}", data=body, headers=headers)
        assert response.status_code in (200, 400, 401, 403, 404, 413), (body, response.status_code, response.text)
        assert response.headers["Content-Type"] == "application/json"
    assert browser.post(f"{site.https}/login", data=b"x" * 20_000, headers=headers).status_code == 413
    for method, odd in [("GET", "/login"), ("DELETE", "/me"), ("GET", "/nope"), ("POST", "/me")]:
        assert browser.request(method, f"{site.https}{odd}").status_code in (404, 405)


@pytest.mark.parametrize(
    "headers",
    [
        {"Referer": "http://[::1"},
        {"Referer": "not a url"},
        {"Origin": "\x7f\x00junk"},
        {"Cookie": f"{COOKIE_NAME}=\"quoted\\\"value\""},
        {"Cookie": f"{COOKIE_NAME}=alice.{'A' * 43}; {COOKIE_NAME}=bob.{'B' * 43}"},
        {"Cookie": "=; ;;=="},
        {CSRF_HEADER: "\xff" * 5000},
    ],
    ids=["ipv6-referer", "text-referer", "control-origin", "quoted-cookie", "two-cookies", "empty-cookie", "huge-token"],
)
def test_odd_headers_never_make_a_500(site: Site, headers: dict) -> None:
    browser = site.browser()
    token = csrf(site.login(browser))
    browser.headers.pop("Origin")
    for method, path in [("GET", "/me"), ("POST", "/transfer"), ("POST", "/login")]:
        sent = {**token, **headers} if "Cookie" not in headers else headers
        response = requests.request(method, f"{site.https}{path}", json={"to": "bob", "amount": 1},
                                    headers={k: v.encode("latin-1") for k, v in sent.items()}, verify=site.tls.ca_file)
        assert response.status_code in (400, 401, 403), (method, path, response.status_code, response.text)


# --- Fetch Metadata: a resource-isolation policy on Sec-Fetch-Site ---------------------------------------


@pytest.mark.parametrize(
    ("fetch", "expected"),
    [
        ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, "cross_site"),
        ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, "cross_site"),
        ({"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "cors"}, 200),  # a trusted sibling: Origin decides
        ({"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}, 200),
        ({"Sec-Fetch-Site": "from-the-future"}, 200),  # an unknown value is ignored
        ({}, 200),  # no header (an old browser, a script): the Origin and token checks decide
    ],
    ids=["cross-site-fetch", "cross-site-form", "same-site", "same-origin", "unknown", "absent"],
)
def test_a_cross_site_state_change_is_refused_on_sec_fetch_site_alone(site: Site, fetch: dict, expected) -> None:
    browser = site.browser()
    headers = csrf(site.login(browser))  # the right token and a trusted Origin: only Sec-Fetch-Site differs
    response = browser.post(f"{site.https}/transfer", json={"to": "bob", "amount": 1}, headers={**headers, **fetch})
    if expected == 200:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403 and response.json()["error"] == expected
    assert {"Sec-Fetch-Site", "Origin"} <= {v.strip() for v in response.headers["Vary"].split(",")}


def test_the_policy_refuses_before_the_store_is_touched(real_redis: redis.Redis, tls: LocalTLS) -> None:
    for site in _site(SessionStore(real_redis), tls):
        browser = site.browser()
        headers = csrf(site.login(browser))
        with count_round_trips(real_redis) as log:
            refused = browser.post(f"{site.https}/logout", headers={**headers, "Sec-Fetch-Site": "cross-site"})
        assert refused.status_code == 403 and log.round_trips == 0
        assert browser.get(f"{site.https}/me").status_code == 200, "still logged in"


@pytest.mark.parametrize(
    ("method", "fetch", "expected"),
    [
        ("GET", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, 403),
        ("GET", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "script"}, 403),
        ("GET", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "embed"}, 403),
        ("GET", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200),
        ("GET", {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, 200),
        ("POST", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}, 403),  # a login CSRF
    ],
    ids=["xs-fetch-api", "xs-script-include", "xs-embed", "xs-link", "typed-url", "xs-login"],
)
def test_cross_site_reads_are_refused_except_plain_links(site: Site, method: str, fetch: dict, expected: int) -> None:
    browser = site.browser()
    site.login(browser)
    if method == "GET":
        response = browser.get(f"{site.https}/me", headers=fetch)
    else:
        response = browser.post(f"{site.https}/login", headers=fetch,
                                json={"username": "bob", "password": DEMO_ACCOUNTS["bob"][0]})
    assert response.status_code == expected, response.text
