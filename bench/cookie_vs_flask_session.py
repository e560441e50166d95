"""authkit's cookie app against Flask-Session on the same redis-server: one validated request each.

What users would pick instead of authkit's session store is Flask-Session with its Redis backend.
Both apps answer the same request — ``GET /me`` with a live session cookie: who is logged in, their
roles and the session's CSRF token — and both slide the idle expiry on every request. The request
is handed to each app as a WSGI call in this process (no socket, no HTTP server: the same for both),
so the CPU measured is the app's work plus the server's, per validated request:

- round trips per request, counted by redis-server (MONITOR);
- CPU per request, this process plus redis-server (``INFO cpu``), as a ratio to Flask-Session's,
  in the same interleaved rounds; a plain Flask view without any session shows the framework's floor.

authkit does more per request than Flask-Session: an absolute timeout besides the idle one, the
session ID stored hashed, a per-user index of sessions, privilege-change rotation.

    .venv/bin/python bench/cookie_vs_flask_session.py        (needs the bench extra: pip install -e '.[bench]')
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis
from flask import Flask, Response, jsonify, session
from flask_session import Session
from werkzeug.test import EnvironBuilder

from authkit.study.measure import Bench, Row, round_trips, side_by_side
from authkit.state.sessions import DEFAULT_IDLE, SessionStore
from authkit.web.cookie_app import COOKIE_NAME, create_cookie_app

NAME = "cookie_vs_flask_session"
ORIGIN = "https://localhost"
ACCOUNT = {"username": "alice", "password": "correct horse battery staple"}  # a demo account of the cookie app
COOKIE_APP = "authkit cookie app, GET /me"
FLASK_SESSION = "Flask-Session (redis), GET /me"
NO_SESSION = "Flask, the same view without a session"


def flask_session_app(client: redis.Redis) -> Flask:
    """A Flask app keeping its session in Redis with Flask-Session, set up like the cookie app."""
    app = Flask("flask_session_bench")
    app.config.update(SESSION_TYPE="redis", SESSION_REDIS=client, SESSION_PERMANENT=True,
                      PERMANENT_SESSION_LIFETIME=DEFAULT_IDLE, SESSION_REFRESH_EACH_REQUEST=True,
                      SESSION_COOKIE_NAME=COOKIE_NAME, SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax")
    Session(app)

    @app.post("/login")
    def login() -> Response:
        """Start a fresh session for the demo user (the password check is not what is measured)."""
        session.clear()
        app.session_interface.regenerate(session)
        session.update(user=ACCOUNT["username"], roles=["admin", "transfer"], csrf_token=secrets.token_urlsafe(32))
        return jsonify(user=session["user"])

    @app.get("/me")
    def me() -> Response:
        """Who the cookie belongs to, with the CSRF token: 401 without a session."""
        if "user" not in session:
            response = jsonify(error="missing")
            response.status_code = 401
            return response
        return jsonify(user=session["user"], roles=session["roles"], csrf_token=session["csrf_token"])

    @app.after_request
    def no_store(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"  # as the cookie app answers
        return response

    return app


def plain_app() -> Flask:
    """The same answer with no session at all: what Flask alone costs per request."""
    app = Flask("no_session_bench")

    @app.get("/me")
    def me() -> Response:
        response = jsonify(user="alice", roles=["admin", "transfer"], csrf_token="-" * 43)
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


def logged_in_cookie(app: Flask, json: dict[str, Any] | None = None) -> str:
    """Log in through the app's own ``/login`` and return the session cookie it set."""
    client = app.test_client()
    answer = client.post("/login", json=json or {}, base_url=ORIGIN, headers={"Origin": ORIGIN})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    cookie = client.get_cookie(COOKIE_NAME, domain="localhost")
    assert cookie is not None, "the app set no session cookie"
    return cookie.value


def wsgi_request(app: Flask, cookie: str | None) -> Callable[[], object]:
    """One ``GET /me`` handed straight to the WSGI app, refused unless it answers 200."""
    headers = {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}
    environ = EnvironBuilder(path="/me", base_url=ORIGIN, headers=headers).get_environ()
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        statuses.append(status)

    def call() -> object:
        statuses.clear()
        body = b"".join(app(dict(environ), start_response))
        if statuses != ["200 OK"]:
            raise RuntimeError(f"GET /me answered {statuses} {body[:200]!r}: the session is not live")
        return body

    return call


def rows(bench: Bench) -> list[Row]:
    """Round trips and CPU per validated request: the cookie app and a plain view, both against Flask-Session."""
    client = bench.client()
    ours = create_cookie_app(SessionStore(client), trusted_origins={ORIGIN})
    theirs = flask_session_app(redis.Redis.from_url(bench.server.url))  # Flask-Session stores bytes (msgpack)
    calls = {
        FLASK_SESSION: wsgi_request(theirs, logged_in_cookie(theirs)),
        COOKIE_APP: wsgi_request(ours, logged_in_cookie(ours, ACCOUNT)),
        NO_SESSION: wsgi_request(plain_app(), None),
    }
    found = [Row(NAME, name, float(round_trips(call, client)), "round trips", note="per validated request")
             for name, call in calls.items()]
    compared = side_by_side(calls, rounds=bench.rounds, server=client, progress=bench.progress("3 apps"))
    goals = {COOKIE_APP: 0.7}
    notes = {COOKIE_APP: "CPU of the app and of redis-server", NO_SESSION: "the framework's floor"}
    return [c.row(NAME, goal=goals.get(c.name), note=notes[c.name]) for c in compared] + found


if __name__ == "__main__":
    import harness

    harness.main([rows])
