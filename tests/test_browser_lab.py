"""The browser lab (notebook 06): the launcher, the lab's sites, and what a real Chromium does with them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import ssl
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask

from authkit.login.users import MemoryDirectory, User, seeded_user_id
from authkit.web.lab.browser import FLAGS, INSTALL_HINT, BrowserMissing, find_chromium, launch_options, spki_pin
from authkit.login.passwords import hash_password, verify_password
from authkit.state.redis import connect
from authkit.state.sessions import SessionStore
from authkit.web.cookie_app import COOKIE_NAME, DEMO_ACCOUNTS, demo_users
from authkit.web.lab import Lab, attacker
from authkit.web.lab import experiments as ex
from authkit.web.lab.attacker import Loot, create_attacker_app
from authkit.web.lab.bank import ACCOUNT_COOKIE, LAB_COST, BankState, create_bank_app
from authkit.web.lab.recorder import Recorder
from authkit.web.server import serve
from authkit.web.tls import LocalTLS

# --- the launcher, without a browser -------------------------------------------------------------

ALICE_ID = seeded_user_id("alice")  # the lab's demo users are named by their stable IDs


def test_launch_options_are_headless_with_the_machine_flags_and_only_the_given_pins() -> None:
    options = launch_options(["pinA=", "pinB="], executable="/usr/bin/chromium")
    assert options["headless"] is True and options["executable_path"] == "/usr/bin/chromium"
    assert set(FLAGS) <= set(options["args"])
    assert "--ignore-certificate-errors-spki-list=pinA=,pinB=" in options["args"]
    assert ("--no-sandbox" in options["args"]) == (os.geteuid() == 0)
    bare = launch_options()
    assert "executable_path" not in bare and not any("spki" in arg for arg in bare["args"])


def test_find_chromium_prefers_the_named_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = tmp_path / "my-chromium"
    binary.write_text("")
    monkeypatch.setenv("AUTHKIT_CHROMIUM", str(binary))
    assert find_chromium() == str(binary)
    monkeypatch.setenv("AUTHKIT_CHROMIUM", str(tmp_path / "missing"))
    with pytest.raises(BrowserMissing, match="is not a file") as missing:
        find_chromium()
    assert missing.value.reason == "browser_missing" and "apt-get install chromium" in str(missing.value)


def test_no_browser_anywhere_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTHKIT_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    with pytest.raises(BrowserMissing) as missing:
        find_chromium()
    assert INSTALL_HINT in str(missing.value)


def test_a_playwright_download_is_the_fallback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUTHKIT_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    fetched = tmp_path / "chromium-1200" / "chrome-linux" / "chrome"
    fetched.parent.mkdir(parents=True)
    fetched.write_text("")
    assert find_chromium() is None  # None: let Playwright launch the browser it fetched


def test_spki_pin_is_the_hash_of_the_served_key() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    key = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes()).public_key()
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    expected = base64.b64encode(hashlib.sha256(der).digest())
    with serve(Flask(__name__), ssl_context=context) as server:
        assert spki_pin(server.url) == expected.decode()


def test_the_lab_accounts_and_its_decoy_use_the_lab_cost() -> None:
    stored = demo_users(LAB_COST)["alice"].password_hash
    assert stored.startswith(f"$scrypt$ln={LAB_COST.log2_n},r=8,p=1$") and LAB_COST.log2_n < 17
    assert verify_password(DEMO_ACCOUNTS["alice"][0], stored) and not verify_password("correct horsf", stored)


# --- the lab's sites, through Flask's test client --------------------------------------------------


@pytest.fixture
def bank() -> tuple[Flask, BankState, SessionStore]:
    store, state = SessionStore(connect(fresh=True)), BankState()
    users = MemoryDirectory([User(seeded_user_id("alice"), "alice", hash_password("pw", LAB_COST), ("transfer",))])
    wsgi = create_bank_app(state, store, users, {})
    app = Flask(__name__)
    app.wsgi_app = wsgi  # a test client around the dispatcher
    return app, state, store


def test_the_shell_reflects_q_unescaped_and_sends_the_policy(bank) -> None:
    app, state, _ = bank
    page = app.test_client().get("/?q=<b>hi</b>")
    assert "Results for: <b>hi</b>" in page.text, "the deliberate sink"
    assert "Content-Security-Policy" not in page.headers
    state.policy = lambda nonce: f"script-src 'nonce-{nonce}'"
    first, second = (app.test_client().get("/") for _ in range(2))
    nonce = first.headers["Content-Security-Policy"].split("'nonce-")[1].rstrip("'")
    assert f'nonce="{nonce}"' in first.text and len(nonce) >= 22
    assert second.headers["Content-Security-Policy"] != first.headers["Content-Security-Policy"], "a nonce per response"


def test_csp_reports_are_kept_and_junk_is_ignored(bank) -> None:
    app, state, _ = bank
    client = app.test_client()
    client.post("/csp-report", data='{"csp-report": {"effective-directive": "script-src-elem"}}',
                content_type="application/csp-report")
    client.post("/csp-report", data="not json", content_type="application/csp-report")
    client.post("/csp-report", data="[1, 2]", content_type="application/csp-report")
    assert state.reports == [{"effective-directive": "script-src-elem", "via": "report-uri"}]


def test_the_unprotected_transfer_trusts_the_cookie_alone(bank) -> None:
    app, state, store = bank
    client = app.test_client()
    assert client.post("/lab/unprotected/transfer", data={"to": "m", "amount": "5"}).json == {"error": "missing"}
    client.set_cookie(COOKIE_NAME, store.create("alice").id)
    answer = client.post("/lab/unprotected/transfer", data={"to": "m", "amount": "5"})  # no token, no Origin
    assert answer.status_code == 200 and state.ledger == [{"by": "alice", "to": "m", "amount": "5"}]


def test_the_unprotected_login_signs_in_whoever_posts_a_password(bank) -> None:
    app, _, store = bank
    client = app.test_client()
    assert client.post("/lab/unprotected/login", data={"username": "alice", "password": "no"}).status_code == 401
    answer = client.post("/lab/unprotected/login", data={"username": "alice", "password": "pw"},
                         headers={"Origin": "https://evil.example"})
    assert answer.status_code == 200 and store.validate(client.get_cookie(COOKIE_NAME).value).user_id == seeded_user_id("alice")


def test_the_account_reflects_origin_only_when_misconfigured(bank) -> None:
    app, _, _ = bank
    client = app.test_client()
    assert client.get("/lab/account").status_code == 401
    cookie = client.get("/lab/account/login?same_site=None").headers["Set-Cookie"]
    assert cookie.startswith(f"{ACCOUNT_COOKIE}=") and "SameSite=None" in cookie and "HttpOnly" in cookie
    origin = {"Origin": "https://evil.example"}
    plain = client.get("/lab/account", headers=origin)
    assert plain.json["user"] == "alice" and "Access-Control-Allow-Origin" not in plain.headers
    reflected = client.get("/lab/account?cors=reflect", headers=origin)
    assert reflected.headers["Access-Control-Allow-Origin"] == "https://evil.example"
    assert reflected.headers["Access-Control-Allow-Credentials"] == "true"


def test_the_attacker_collects_and_tosses() -> None:
    loot = Loot()
    client = create_attacker_app(loot).test_client()
    client.post("/collect?run=1", data='{"stolen": "x"}')
    client.get("/collect?via=navigation&t=abc")
    assert loot.items == [{"run": "1", "body": {"stolen": "x"}}, {"via": "navigation", "t": "abc"}]
    tossed = client.get("/toss?name=sid&domain=bank.localhost").headers.getlist("Set-Cookie")
    assert tossed == ["sid=evil; Secure; Path=/; Domain=bank.localhost",
                      "sid=evil-deeper; Secure; Path=/lab; Domain=bank.localhost"]
    form = client.get('/form?action=https://bank/x&to="><script>').text
    assert 'value="&quot;&gt;&lt;script&gt;"' in form, "the attacker's own pages escape what they echo"


def test_the_recorder_keeps_cookies_in_order_and_the_status() -> None:
    app = Flask(__name__)
    app.get("/<int:code>")(lambda code: ("", code))
    recorder = Recorder(app.wsgi_app, "site")
    app.wsgi_app = recorder
    client = app.test_client(use_cookies=False)  # else the client's own jar replaces the Cookie header
    client.get("/418", headers={"Cookie": "b=2; a=1; b=3", "Sec-Fetch-Site": "cross-site", "Origin": "https://o"})
    hit = recorder.wait_for(lambda h: h.path == "/418", "the request")
    assert (hit.status, hit.cookies, hit.fetch_site) == (418, (("b", "2"), ("a", "1"), ("b", "3")), "cross-site")
    assert (hit.origin, hit.authorization) == ("https://o", False)
    with pytest.raises(TimeoutError, match="site never received a POST"):
        recorder.wait_for(lambda h: h.method == "POST", "a POST", timeout=0.05)


def test_payloads_report_where_they_should() -> None:
    assert "localStorage" in attacker.steal("token", "https://c/collect")
    assert '"https://c/collect?run=7&ran=inline+script"' in attacker.inline_script("https://c/collect?run=7")
    assert attacker.base_hijack("https://evil") == '<base href="https://evil/">'


# --- Chromium itself --------------------------------------------------------------------------------


def test_the_browser_trusts_the_pinned_key_and_no_other(browser_lab: Lab) -> None:
    with LocalTLS() as other, serve(Flask(__name__), ssl_context=other.server_context) as stranger:
        with browser_lab.victim() as browser:
            page = browser.new_page()
            assert page.goto(browser_lab.bank_url).status == 200
            assert page.evaluate("isSecureContext") is True
            with pytest.raises(Exception, match="ERR_CERT"):
                page.goto(stranger.url)


def test_the_browser_thread_works_where_an_asyncio_loop_runs(browser_lab: Lab) -> None:
    async def inside_a_loop() -> str:  # as in a Jupyter cell: Playwright's sync API alone would refuse
        with browser_lab.victim() as browser:
            page = browser.new_page()
            page.goto(browser_lab.bank_url)
            return page.text_content("#status")

    # A thread of its own: pytest-playwright's `page` (tests/test_lab_browser.py) leaves its loop running
    # in the main thread for the rest of the session, and asyncio.run refuses to start a second one there.
    with ThreadPoolExecutor(1) as kernel:
        assert kernel.submit(asyncio.run, inside_a_loop()).result(timeout=60) == "ready"


def test_a_fresh_profile_per_victim(browser_lab: Lab) -> None:
    with browser_lab.victim() as first, browser_lab.victim() as second:
        page = first.new_page()
        page.goto(f"{browser_lab.bank_url}/lab/samesite/set")
        page.evaluate("localStorage.setItem('k', 'v')")
        assert {c["name"] for c in first.cookies()} == {"strict", "lax", "none", "unset"}
        assert second.cookies() == [], "profiles share nothing, even while both are open"
        other = second.new_page()
        other.goto(browser_lab.bank_url)
        assert other.evaluate("localStorage.getItem('k')") is None


def test_token_theft_localstorage_versus_httponly(browser_lab: Lab) -> None:
    stolen = ex.token_theft(browser_lab, "token")
    assert stolen["tokens sent to attacker"] == "2"
    assert stolen["thief, another machine"] == f"GET /bearer/me 200 {ALICE_ID}, POST /bearer/refresh 200"
    ridden = ex.token_theft(browser_lab, "cookie")
    assert ridden["script could read"] == "nothing" and ridden["tokens sent to attacker"] == "0"
    assert "POST /cookie/transfer 200" in ridden["script acting as alice"]
    assert ex.token_theft(browser_lab, "refresh-cookie")["thief, another machine"] == f"GET /bearer/me 200 {ALICE_ID}"


def test_csp_strict_blocks_every_payload_and_unsafe_inline_does_not(browser_lab: Lab) -> None:
    rows = {(policy, payload): (app, ran) for policy, payload, app, ran, _ in ex.csp_matrix(browser_lab)}
    strict = [outcome for (policy, _), outcome in rows.items() if policy == "strict nonce"]
    assert strict == [("runs", "blocked")] * 4
    assert rows[("'unsafe-inline'", "inline <script>")] == ("runs", "RAN")
    assert rows[("allow-listed host", "injected <base>")] == ("hijacked", "RAN")
    assert rows[("no policy", "event handler")] == ("runs", "RAN")


def test_navigation_leaves_under_a_policy_that_blocks_fetch_and_images(browser_lab: Lab) -> None:
    policy = "default-src 'self'; script-src 'self' 'unsafe-inline'; report-uri /csp-report"
    result = ex.navigation_exfiltration(browser_lab, lambda nonce: policy)
    assert result == {"arrived at the collector": ["navigation"], "blocked and reported": ["connect-src", "img-src"]}


def test_same_site_table(browser_lab: Lab) -> None:
    allowed = ex.same_site_table(browser_lab, third_party_cookies=True)
    assert allowed == {"form POST": ["none", "unset"], "fetch, credentials: include": ["none"], "image": ["none"],
                       "link (top-level GET)": ["lax", "none", "unset"]}
    blocked = ex.same_site_table(browser_lab, third_party_cookies=False)
    assert blocked["image"] == [] and blocked["link (top-level GET)"] == ["lax", "none", "unset"]


def test_host_prefix_refusals_and_cookie_tossing(browser_lab: Lab) -> None:
    with browser_lab.victim() as browser:
        attempts = ex.host_prefix_attempts(browser_lab, browser.new_page())
    assert list(attempts.values()) == ["kept", "refused", "refused", "refused", "kept", "refused"], \
        "Chromium honours __Host-Http-: without HttpOnly the cookie is refused"
    rows = ex.overwrite_attempts(browser_lab)
    assert [row[2] for row in rows] == ["sid=evil-deeper; sid=real; sid=evil", "__Host-sid=real", "__Host-sid=evil"]


def test_csrf_from_a_sibling_passes_samesite_and_fails_the_origin_check(browser_lab: Lab) -> None:
    rows = {(fetch_site, endpoint): (cookie, answer) for _, fetch_site, endpoint, cookie, answer in
            ex.csrf_attacks(browser_lab)}
    # Chromium says cross-site in Sec-Fetch-Site: the Fetch Metadata policy refuses before any other check
    assert rows[("cross-site", "/cookie/transfer")] == ("no", "403 cross_site")
    assert rows[("cross-site", "/lab/unprotected/transfer")][1] != "403 cross_site", "no policy there"
    assert rows[("same-site", "/cookie/transfer")] == ("yes", "403 bad_origin")
    assert rows[("same-site", "/lab/unprotected/transfer")] == ("yes", "200 transferred 500 to mallory")
    assert ex.login_csrf(browser_lab) == [["/cookie/login", "403 bad_origin", ALICE_ID],
                                          ["/lab/unprotected/login", "200 logged in", seeded_user_id("bob")]]


def test_cors_reflection_leaks_and_bearer_is_not_sent(browser_lab: Lab) -> None:
    rows = {name: (sent, status, read) for name, sent, status, read in ex.cors_probe(browser_lab, "None")}
    assert rows["bearer API /me"] == ("cookie __Host-acct", "401", "blocked: TypeError")
    assert rows["account, no CORS headers"][1:] == ("200", "blocked: TypeError")
    assert rows["account, Origin reflected"][2] == str({"balance": 1200, "user": "alice"})



NESTED = "[" * 5_000 + "]" * 5_000  # deeper than the JSON parser's recursion limit, under the 64 KiB cap


def test_deeply_nested_json_is_a_400_at_the_refresh_cookie_login_and_the_csp_sink(bank) -> None:
    from authkit.web.lab.bank import create_refresh_cookie_app

    app, state, _ = bank
    sink = app.test_client().post("/csp-report", data=NESTED, content_type="application/csp-report")
    assert sink.status_code == 400 and state.reports == []
    login = create_refresh_cookie_app(object(), {}, {"https://bank.example"}).test_client()
    for content_type in ("application/json", "text/plain"):
        answer = login.post("/login", data=NESTED, content_type=content_type)
        assert answer.status_code == 400 and answer.json == {"error": "invalid_grant"}


def test_chromium_sends_csp_reports_through_the_reporting_api_when_asked(browser_lab: Lab) -> None:
    rows = {name: (via, directive) for name, via, directive in ex.csp_reporting(browser_lab)}
    assert rows["report-uri"] == ("report-uri", "script-src-elem")
    assert rows["report-to (Reporting-Endpoints)"] == ("report-to", "script-src-elem")
    assert rows["both"][0] == "report-to", "with report-to understood, Chromium ignores report-uri"


def test_reporting_api_batches_are_kept_and_junk_ignored(bank) -> None:
    app, state, _ = bank
    batch = ('[{"type": "csp-violation", "body": {"effectiveDirective": "script-src-elem", "documentURL": "https://b/"}},'
             ' {"type": "deprecation", "body": {}}, 7]')
    answer = app.test_client().post("/csp-report", data=batch, content_type="application/reports+json")
    assert answer.status_code == 204
    assert state.reports == [{"effective-directive": "script-src-elem", "document-uri": "https://b/", "via": "report-to"}]
