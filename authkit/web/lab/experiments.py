"""The six experiments of the browser lab, each returning what the servers recorded (not what the page showed)."""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any, Callable
from urllib.parse import quote

from authkit.tokens.jws import read_header
from authkit.tokens.issuer import ACCESS_TOKEN_TYPE
from authkit.web.cookie_app import session_cookie
from authkit.web.lab import attacker
from authkit.web.lab.bank import HOST_PREFIX_ATTEMPTS
from authkit.web.lab.recorder import Hit
from authkit.web.lab.servers import PASSWORDS, Lab

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_APP_FILES = {"/", "/static/app.js", "/favicon.ico", "/nowhere.png"}
_runs = itertools.count(1)


def until(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll ``condition`` until it returns something truthy; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(0.02)


# --- 1. token theft ------------------------------------------------------------------------------

def token_theft(lab: Lab, kind: str) -> dict[str, str]:
    """Log alice in the ``kind`` way, follow the attacker's link, then let the thief use what was collected."""
    lab.reset()
    with lab.victim() as browser:
        page = browser.new_page()
        lab.login(page, kind)
        before = len(lab.bank.hits)
        page.goto(lab.link(attacker.steal(kind, lab.collect_url)))
        lab.attacker.wait_for(lambda h: h.path == "/collect" and h.method == "POST", "the payload's loot")
    loot = lab.loot.items[-1]["body"]
    inside = [h for h in lab.bank.hits[before:] if h.path not in _APP_FILES]
    readable = sorted(loot["localStorage"]) + ([f"document.cookie={loot['cookie']!r}"] if loot["cookie"] else [])
    return {
        "login kept in": kind,
        "script could read": ", ".join(readable) or "nothing",
        "tokens sent to attacker": str(len(_JWT.findall(str(loot)))),
        "script acting as alice": ", ".join(f"{h.method} {h.path} {h.status}" for h in inside) or "-",
        "thief, another machine": thief_replay(lab, loot),
    }


def thief_replay(lab: Lab, loot: dict[str, Any]) -> str:
    """Use the stolen JWTs from outside the browser: access tokens on ``/bearer/me``, refresh tokens on ``/refresh``."""
    thief, results = lab.thief(), []
    tokens = sorted(_JWT.findall(str(loot)), key=lambda token: read_header(token)["typ"])  # at+jwt before rt+jwt
    for token in tokens:
        if read_header(token)["typ"] == ACCESS_TOKEN_TYPE:
            me = thief.get(f"{lab.bank_url}/bearer/me", headers={"Authorization": f"Bearer {token}"})
            results.append(f"GET /bearer/me {me.status_code} {me.json().get('sub', '')}".rstrip())
        else:
            renewed = thief.post(f"{lab.bank_url}/bearer/refresh", json={"refresh_token": token})
            results.append(f"POST /bearer/refresh {renewed.status_code}")
    return ", ".join(results) or "nothing to replay"


# --- 2. CSP --------------------------------------------------------------------------------------

def strict_policy(nonce: str) -> str:
    """A strict, nonce-based policy: the shape web.dev's strict-CSP guide and OWASP's CSP Cheat Sheet recommend."""
    return f"script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'; report-uri /csp-report"


def csp_policies(lab: Lab) -> dict[str, Callable[[str], str] | None]:
    """The policies compared: none, strict, one that allows inline script, one that allow-lists a script host."""
    return {
        "no policy": None,
        "strict nonce": strict_policy,
        "'unsafe-inline'": lambda nonce: "script-src 'self' 'unsafe-inline'; report-uri /csp-report",
        "allow-listed host": lambda nonce: (f"script-src 'self' 'nonce-{nonce}' {lab.attacker_url}; "
                                            "report-uri /csp-report"),
    }


def csp_payloads(lab: Lab, run: str) -> dict[str, str]:
    """The four injections, each reporting to the collector (tagged with ``run``) if it executes."""
    collect = f"{lab.collect_url}?run={run}"
    return {"inline <script>": attacker.inline_script(collect), "event handler": attacker.event_handler(collect),
            "<script src> from the host": attacker.remote_script(lab.attacker_url, run),
            "injected <base>": attacker.base_hijack(lab.attacker_url)}


def csp_run(lab: Lab, page: Any, policy: Callable[[str], str | None] | None, payload: str, run: str) -> dict[str, Any]:
    """Load the bank page with ``policy`` and ``payload``; did the app start, did the payload run, what was reported."""
    lab.state.policy = policy
    page.goto(lab.link(payload) + f"&run={run}")
    app_ready = page.evaluate("window.appReady === true")
    ran = lambda: [i for i in lab.loot.items if i.get("run") == run or f"run={run}" in i.get("page", "")]
    reports = lambda: [r for r in lab.state.reports if f"run={run}" in r.get("document-uri", "")]
    if policy is None or "report-uri /csp-report" in (policy("nonce") or ""):
        until(lambda: ran() or reports(), "the payload's loot or a CSP violation report")
    else:  # no report will reach the bank: wait until the page has been quiet for half a second
        page.wait_for_load_state("networkidle")
    hijacked = any(i.get("ran") == "hijacked app.js" for i in ran())
    return {"app": "runs" if app_ready and not hijacked else "hijacked" if hijacked else "broken",
            "payload": "RAN" if ran() else "blocked",
            "reported": ", ".join(sorted({r.get("effective-directive", "?") for r in reports()})) or "-"}


def csp_matrix(lab: Lab) -> list[list[str]]:
    """Every policy against every payload, in one browser: rows of (policy, payload, app, payload, reported)."""
    lab.reset()
    rows = []
    with lab.victim() as browser:
        page = browser.new_page()
        for name, policy in csp_policies(lab).items():
            for payload_name in csp_payloads(lab, "").keys():
                run = str(next(_runs))
                result = csp_run(lab, page, policy, csp_payloads(lab, run)[payload_name], run)
                rows.append([name, payload_name, result["app"], result["payload"], result["reported"]])
    lab.state.policy = None
    return rows


def csp_reporting(lab: Lab) -> list[list[str]]:
    """One injection under three ways of asking for reports: which channel Chromium used (recorded by the bank)."""
    lab.reset()
    strict = "script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'"
    ways = {"report-uri": "; report-uri /csp-report", "report-to (Reporting-Endpoints)": "; report-to csp-endpoint",
            "both": "; report-uri /csp-report; report-to csp-endpoint"}
    rows = []
    with lab.victim() as browser:
        page = browser.new_page()
        for name, directives in ways.items():
            run = str(next(_runs))
            lab.state.policy = lambda nonce, d=directives: strict.format(nonce=nonce) + d
            page.goto(lab.link(attacker.inline_script(lab.collect_url)) + f"&run={run}")
            mine = lambda: [r for r in lab.state.reports if f"run={run}" in str(r.get("document-uri", ""))]
            until(mine, f"a CSP report for {name}")
            time.sleep(0.5)  # a second report through the other channel, if the browser sends one
            rows.append([name, ", ".join(sorted({r["via"] for r in mine()})), mine()[0].get("effective-directive", "?")])
    lab.state.policy = None
    return rows


def navigation_exfiltration(lab: Lab, policy: Callable[[str], str]) -> dict[str, list[str]]:
    """Under ``policy``, an injected script tries fetch, an image and a navigation: what arrived, what was reported."""
    lab.reset()
    lab.state.policy = policy
    with lab.victim() as browser:
        page = browser.new_page()
        page.goto(lab.link(attacker.exfiltrate(lab.collect_url)), wait_until="commit")
        until(lambda: any(i.get("via") == "navigation" for i in lab.loot.items), "the navigation to the collector")
        until(lambda: len(lab.state.reports) >= 2, "two CSP violation reports")
    lab.state.policy = None
    return {"arrived at the collector": sorted(i["via"] for i in lab.loot.items),
            "blocked and reported": sorted(r.get("effective-directive", "?") for r in lab.state.reports)}


# --- 3. SameSite ---------------------------------------------------------------------------------

SAME_SITE_REQUESTS = ("form POST", "fetch, credentials: include", "image", "link (top-level GET)")


def same_site_table(lab: Lab, *, third_party_cookies: bool) -> dict[str, list[str]]:
    """For each cross-site request from the attacker's page, the lab cookies the bank received (in order)."""
    lab.reset()
    echo = f"{lab.bank_url}/lab/echo"
    with lab.victim(third_party_cookies=third_party_cookies) as browser:
        page = browser.new_page()
        page.goto(f"{lab.bank_url}/lab/samesite/set")
        page.goto(f"{lab.attacker_url}/embed?target={quote(echo)}")
        page.goto(f"{lab.attacker_url}/form?action={quote(echo + '?case=form')}&note=hello")
        _echoed(lab, "form")
        page.goto(f"{lab.attacker_url}/link?href={quote(echo + '?case=link')}")
        page.click("#go")
        hits = {case: _echoed(lab, case) for case in ("form", "fetch", "image", "link")}
    return {request: [n for n in hit.cookie_names() if n in ("strict", "lax", "none", "unset")]
            for request, hit in zip(SAME_SITE_REQUESTS, hits.values())}


def _echoed(lab: Lab, case: str, since: int = 0) -> Hit:
    return lab.bank.wait_for(lambda h: h.path == "/lab/echo" and h.query.get("case") == case, f"the {case} request",
                             since=since)


# --- 4. __Host- ----------------------------------------------------------------------------------

def host_prefix_attempts(lab: Lab, page: Any) -> dict[str, str]:
    """The bank sets six prefixed cookies, four breaking a rule: which ones the browser sends back."""
    since = len(lab.bank.hits)
    page.goto(f"{lab.bank_named_url}/lab/host-prefix/set")
    page.goto(f"{lab.bank_named_url}/lab/echo?case=prefix")
    sent = _echoed(lab, "prefix", since).cookie_names()
    return {f"{name}=1; {attributes.format(host='app.bank.localhost')}": "kept" if name in sent else "refused"
            for name, attributes in HOST_PREFIX_ATTEMPTS.items()}


def session_cookie_set(lab: Lab, page: Any, session_header: Callable[[str], str], value: str = "real") -> str:
    """The bank answers with ``session_header(value)``; the name of the cookie it set."""
    lab.state.session_header = session_header
    page.goto(f"{lab.bank_named_url}/lab/session?value={quote(value)}")
    lab.state.session_header = None
    return session_header(value).split("=", 1)[0].strip()


def toss(lab: Lab, page: Any, name: str, attacker_base: str, domain: str | None = "bank.localhost") -> str:
    """A page at ``attacker_base`` sets cookies called ``name``; which of them the bank receives next."""
    scope = f"&domain={domain}" if domain else ""
    page.goto(f"{attacker_base}/toss?name={quote(name)}{scope}")
    since = len(lab.bank.hits)
    page.goto(f"{lab.bank_named_url}/lab/echo?case=after-toss")
    return "; ".join(f"{n}={v}" for n, v in _echoed(lab, "after-toss", since).cookies if n == name) or "(none)"


def overwrite_attempts(lab: Lab) -> list[list[str]]:
    """Cookie tossing against a plain ``sid`` and a ``__Host-sid``, from a sibling and from another port of the host."""
    plain = lambda value: f"sid={value}; Secure; HttpOnly; Path=/; SameSite=Lax"
    rows = []
    with lab.victim() as browser:
        page = browser.new_page()
        for header in (plain, session_cookie):
            name = session_cookie_set(lab, page, header)
            rows.append([header("real"), "evil.bank.localhost", toss(lab, page, name, lab.sibling_url)])
        other = toss(lab, page, "__Host-sid", lab.same_host_attacker_url, domain=None)
        rows.append([session_cookie("real"), "app.bank.localhost, another port", other])
    return rows


# --- 5. CSRF -------------------------------------------------------------------------------------

def csrf_attacks(lab: Lab) -> list[list[str]]:
    """Alice is logged in to the cookie app; two attacker pages POST a transfer to two endpoints.

    Each row is what the bank recorded: the ``Sec-Fetch-Site`` Chromium sent, whether the session cookie
    came along, and the answer: the cookie app's Fetch Metadata policy refuses the cross-site POST first,
    its Origin check the same-site one; the unprotected endpoint has neither.
    """
    lab.reset()
    rows = []
    with lab.victim() as browser:
        page = browser.new_page()
        lab.login(page, "cookie", base=lab.bank_named_url)
        attackers = (("localhost", lab.attacker_url), ("evil.bank.localhost", lab.sibling_url))
        for where, base in attackers:
            for endpoint in ("/cookie/transfer", "/lab/unprotected/transfer"):
                before = len(lab.bank.hits)
                action = quote(f"{lab.bank_named_url}{endpoint}")
                page.goto(f"{base}/form?action={action}&to=mallory&amount=500")
                hit = lab.bank.wait_for(lambda h: h.path == endpoint and h.method == "POST",
                                        f"the forged POST to {endpoint}", since=before)
                answer = f"{hit.status} {_error_or_result(page.evaluate('document.body.innerText'))}"
                cookie = "yes" if "__Host-sid" in hit.cookie_names() else "no"
                rows.append([where, hit.fetch_site or "-", endpoint, cookie, answer])
    return rows


def _error_or_result(answer: str) -> str:
    body = json.loads(answer)
    return body.get("error") or f"transferred {body['transferred']['amount']} to {body['transferred']['to']}"


def login_csrf(lab: Lab) -> list[list[str]]:
    """A same-site page submits bob's credentials from alice's browser, to logins with and without an Origin check."""
    lab.reset()
    rows = []
    with lab.victim() as browser:
        page = browser.new_page()
        lab.login(page, "cookie", base=lab.bank_named_url)
        password = quote(PASSWORDS["cookie"]["bob"][0])
        for endpoint in ("/cookie/login", "/lab/unprotected/login"):
            since = len(lab.bank.hits)
            action = quote(f"{lab.bank_named_url}{endpoint}")
            page.goto(f"{lab.sibling_url}/form?action={action}&username=bob&password={password}")
            hit = lab.bank.wait_for(lambda h: h.path == endpoint and h.method == "POST",
                                    f"the forged login at {endpoint}", since=since)
            answer = json.loads(page.evaluate("document.body.innerText"))
            page.goto(f"{lab.bank_named_url}/cookie/me")
            user = json.loads(page.evaluate("document.body.innerText")).get("user")
            rows.append([endpoint, f"{hit.status} {answer.get('error', 'logged in')}", user])
    return rows


# --- 6. CORS -------------------------------------------------------------------------------------

def cors_probe(lab: Lab, same_site: str) -> list[list[str]]:
    """The attacker's page reads three bank URLs with credentials: what the bank received and answered, what it read."""
    lab.reset()
    with lab.victim(third_party_cookies=True) as browser:
        page = browser.new_page()
        page.goto(f"{lab.bank_url}/lab/account/login?same_site={same_site}")
        page.goto(f"{lab.attacker_url}/cors?target={quote(lab.bank_url)}")
        lab.attacker.wait_for(lambda h: h.path == "/collect" and h.method == "POST", "the CORS probe's results")
    read = lab.loot.items[-1]["body"]
    rows = []
    for name, path, query in (("bearer API /me", "/bearer/me", {}), ("account, no CORS headers", "/lab/account", {}),
                              ("account, Origin reflected", "/lab/account", {"cors": "reflect"})):
        hit = lab.bank.wait_for(lambda h: h.path == path and h.query == query, name)
        sent = [f"cookie {n}" for n in hit.cookie_names()] + ["Authorization"] * hit.authorization
        rows.append([name, ", ".join(sent) or "no credentials", str(hit.status), str(read[name])])
    return rows
