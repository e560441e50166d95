"""The victim site of the browser lab: a single-page app with a deliberate XSS sink, over the course's real apps.

One origin serves the page and, under path prefixes, the course's own services: the bearer API
(``/bearer``), the session-cookie app (``/cookie``), a refresh endpoint that keeps its token in an
``HttpOnly`` cookie (``/rt``) and the backend-for-frontend (``/bff``). Around them, small endpoints
exist only to be probed: cookies to test, an echo of what the browser sent, a CSP report sink, and two
endpoints left unprotected on purpose. Never deploy any of it.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from authkit.errors import SessionError, TokenError
from authkit.login.passwords import ScryptCost, verify_login
from authkit.state.refresh import TokenService
from authkit.state.sessions import SessionStore
from authkit.web.body import json_object
from authkit.web.cookie_app import COOKIE_NAME, DemoUser, origin_reason, request_origin, session_cookie

#: The page's one bug: ``q`` is written into the HTML unescaped (a reflected XSS sink).
SHELL = """<!doctype html>
<html><head><meta charset="utf-8"><title>authkit bank</title></head>
<body>
<h1>authkit bank</h1>
<p id="search">Results for: {q}</p>
<p id="status">loading</p>
<script nonce="{nonce}" src="/static/app.js"></script>
<script nonce="{nonce}">bank.start()</script>
</body></html>
"""

#: The app's own script: log in four ways, keep what each way gives the browser.
APP_JS = """window.bank = {
  csrf: null,   // the CSRF token of a cookie session, kept in memory
  token: null,  // an access token kept in memory (the refresh-cookie design)
  start() { document.getElementById("status").textContent = "ready"; window.appReady = true; },
  async post(path, body) {
    const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                                 body: JSON.stringify(body)});
    return r.json();
  },
  async login(kind, username, password) {
    const body = await bank.post({token: "/bearer/login", cookie: "/cookie/login", "refresh-cookie": "/rt/login",
                                  bff: "/bff/login"}[kind], {username, password});
    if (kind === "token") {  // the pattern to avoid: both tokens in localStorage
      localStorage.setItem("access_token", body.access_token);
      localStorage.setItem("refresh_token", body.refresh_token);
    } else if (kind === "refresh-cookie") {
      bank.token = body.access_token;
    } else {
      bank.csrf = body.csrf_token;
    }
    return Object.keys(body).sort();
  },
};
"""

REPORT_GROUP = "csp-endpoint"  # the Reporting-Endpoints name a policy's report-to refers to


def _kebab(body: dict[str, Any]) -> dict[str, Any]:
    """A Reporting API CSP report body (camelCase: ``effectiveDirective``, ``documentURL``) in report-uri's names."""
    names = {"documentURL": "document-uri", "blockedURL": "blocked-uri"}
    return {names.get(k, re.sub(r"(?<=[a-z])([A-Z])", r"-\1", k).lower()): v for k, v in body.items()}


REFRESH_COOKIE = "__Secure-rt"  # __Secure-: the browser insists on Secure; Path is narrowed to the refresh endpoint
ACCOUNT_COOKIE = "__Host-acct"
#: The four cookies of the SameSite experiment: identical but for their SameSite attribute.
SAME_SITE_COOKIES = {"strict": "SameSite=Strict", "lax": "SameSite=Lax", "none": "SameSite=None", "unset": ""}
#: Attempts at a ``__Host-`` cookie, each breaking one rule of the prefix (the first breaks none), then the same
#: for ``__Host-Http-``, whose one extra rule is ``HttpOnly``.
HOST_PREFIX_ATTEMPTS = {
    "__Host-ok": "Secure; Path=/",
    "__Host-domain": "Secure; Path=/; Domain={host}",
    "__Host-insecure": "Path=/",
    "__Host-path": "Secure; Path=/lab",
    # __Host-Http- (draft-ietf-httpbis-layered-cookies): a __Host- cookie that must also be HttpOnly, so set by a response, never by script
    "__Host-Http-ok": "Secure; HttpOnly; Path=/",
    "__Host-Http-script": "Secure; Path=/",
}

#: scrypt cost of the lab's accounts: 2**10, not the course's 2**17, so a login takes milliseconds, not a second.
#: Password hashing is notebook 05's subject; here it would only slow the browser down.
LAB_COST = ScryptCost(log2_n=10)


@dataclass
class BankState:
    """What the bank's own endpoints know: the CSP to send, transfers made, reports received, accounts."""

    policy: Callable[[str], str | None] | None = None
    session_header: Callable[[str], str] | None = None
    ledger: list[dict[str, Any]] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)


def create_refresh_cookie_app(service: TokenService, users: Mapping[str, Any],
                              trusted_origins: Collection[str]) -> Flask:
    """Login and refresh for a SPA that keeps its access token in memory and its refresh token in a cookie."""
    app = Flask("authkit.lab.refresh_cookie")

    def answer(pair: Any) -> Response:
        response = jsonify(access_token=pair.access_token, expires_in=pair.expires_in)
        response.set_cookie(REFRESH_COOKIE, pair.refresh_token, secure=True, httponly=True, samesite="Strict",
                            path=request.script_root + "/refresh")
        response.headers["Cache-Control"] = "no-store"
        return response

    def refuse(status: int, error: str) -> tuple[Response, int]:
        return jsonify(error=error), status

    @app.post("/login")
    def login() -> Response | tuple[Response, int]:
        """Password in, access token in the body, refresh token in an HttpOnly cookie."""
        body = json_object() or {}  # never get_json: deeply nested JSON would be a RecursionError, a 500
        user = users.get(body.get("username")) if isinstance(body.get("username"), str) else None
        password = body.get("password")
        if not isinstance(password, str) or not verify_login(password, user.password_hash if user else None, LAB_COST):
            return refuse(400, "invalid_grant")
        return answer(service.login(user.id, scope=user.scope))  # sub: the stable user ID, never the name

    @app.post("/refresh")
    def refresh() -> Response | tuple[Response, int]:
        """The cookie is the credential: a trusted Origin and a live refresh token give the next pair."""
        origin = request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
        if origin_reason(origin, trusted_origins) is not None:
            return refuse(403, "bad_origin")
        try:
            return answer(service.refresh(request.cookies.get(REFRESH_COOKIE, "")))
        except TokenError as err:
            return refuse(400, f"invalid_grant: {err.reason}")

    return app


def create_bank_app(state: BankState, store: SessionStore, users: Mapping[str, DemoUser],
                    mounts: dict[str, Any]) -> DispatcherMiddleware:
    """The page at ``/``, the lab's probes under ``/lab``, and the course's apps under their prefixes."""
    app = Flask("authkit.lab.bank")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    @app.get("/")
    def shell() -> Response:
        """The single-page app; ``q`` is echoed unescaped — the deliberate XSS sink."""
        nonce = secrets.token_urlsafe(16)
        response = Response(SHELL.format(q=request.args.get("q", ""), nonce=nonce), mimetype="text/html")
        policy = state.policy(nonce) if state.policy else None
        if policy:
            response.headers["Content-Security-Policy"] = policy
            if "report-to " in policy:  # the Reporting API: the endpoint the policy's report-to names
                response.headers["Reporting-Endpoints"] = f'{REPORT_GROUP}="/csp-report"'
        return response

    @app.get("/static/app.js")
    def app_js() -> Response:
        return Response(APP_JS, mimetype="text/javascript")

    @app.post("/csp-report")
    def csp_report() -> tuple[str, int]:
        """Collect the browser's CSP violation reports: ``report-uri``'s, and the Reporting API's (``report-to``)."""
        try:  # application/csp-report is JSON under another name: parse it whatever the type says
            body = json.loads(request.get_data(cache=False)) if (request.content_length or 0) <= 64 * 1024 else None
        except (ValueError, RecursionError):
            return "", 400  # not JSON, or nested too deep for the parser
        if isinstance(body, list):  # the Reporting API (application/reports+json): a batch of typed reports
            for item in body:
                if isinstance(item, dict) and item.get("type") == "csp-violation" and isinstance(item.get("body"), dict):
                    state.reports.append({**_kebab(item["body"]), "via": "report-to"})
            return "", 204
        report = body.get("csp-report") if isinstance(body, dict) else None
        if isinstance(report, dict):
            state.reports.append({**report, "via": "report-uri"})
        return "", 204

    @app.route("/lab/echo", methods=["GET", "POST"])
    def echo() -> Response:
        """Which cookies arrived, in order (the recorder keeps the same, with the headers)."""
        return jsonify(cookies=request.headers.get("Cookie", ""))

    @app.get("/lab/samesite/set")
    def set_same_site_cookies() -> Response:
        response = jsonify(set=sorted(SAME_SITE_COOKIES))
        for name, attribute in SAME_SITE_COOKIES.items():
            response.headers.add("Set-Cookie", f"{name}=1; Secure; Path=/" + (f"; {attribute}" if attribute else ""))
        return response

    @app.get("/lab/host-prefix/set")
    def set_host_prefix_attempts() -> Response:
        response = jsonify(attempted=list(HOST_PREFIX_ATTEMPTS))
        host = request.host.rsplit(":", 1)[0]
        for name, attributes in HOST_PREFIX_ATTEMPTS.items():
            response.headers.add("Set-Cookie", f"{name}=1; " + attributes.format(host=host))
        return response

    @app.get("/lab/session")
    def set_session() -> Response:
        """Set the session cookie as ``state.session_header`` writes it (an exercise plugs in here)."""
        response = jsonify(set=True)
        if state.session_header is not None:
            response.headers.add("Set-Cookie", state.session_header(request.args.get("value", "real")))
        return response

    @app.post("/lab/unprotected/transfer")
    def unprotected_transfer() -> tuple[Response, int] | Response:
        """A form POST that trusts the session cookie alone: no CSRF token, no Origin check (the bug)."""
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            return jsonify(error="missing"), 401
        try:
            session = store.validate(cookie)
        except SessionError as err:
            return jsonify(error=err.reason), 401
        entry = {"by": session.user_id, "to": request.form.get("to", ""), "amount": request.form.get("amount", "")}
        state.ledger.append(entry)
        return jsonify(transferred=entry)

    @app.post("/lab/unprotected/login")
    def unprotected_login() -> tuple[Response, int] | Response:
        """A form login with no Origin check: another site can log the browser in as anyone it knows."""
        username, password = request.form.get("username", ""), request.form.get("password", "")
        user = users.get(username)
        if not verify_login(password, user.password_hash if user else None, LAB_COST):
            return jsonify(error="invalid_credentials"), 401
        session = store.create(user.id, roles=user.roles, label="unprotected form login")
        response = jsonify(user=username)
        response.headers.add("Set-Cookie", session_cookie(session.id))
        return response

    @app.get("/lab/account/login")
    def account_login() -> Response:
        """Give the browser an account cookie for alice, with the SameSite value asked for (None or Lax)."""
        same_site = "None" if request.args.get("same_site") == "None" else "Lax"
        token = secrets.token_urlsafe(16)
        state.accounts[token] = "alice"
        response = jsonify(user="alice", same_site=same_site)
        response.set_cookie(ACCOUNT_COOKIE, token, secure=True, httponly=True, samesite=same_site, path="/")
        return response

    @app.get("/lab/account")
    def account() -> tuple[Response, int] | Response:
        """Private data for the account cookie; ``?cors=reflect`` is the misconfiguration to learn from."""
        user = state.accounts.get(request.cookies.get(ACCOUNT_COOKIE, ""))
        response = jsonify(user=user, balance=1200) if user else jsonify(error="no account cookie")
        origin = request.headers.get("Origin")
        if request.args.get("cors") == "reflect" and origin:
            response.headers["Access-Control-Allow-Origin"] = origin  # echoes any origin: the bug
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"
        return response if user else (response, 401)

    return DispatcherMiddleware(app, mounts)

