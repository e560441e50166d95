"""CPU of one validated request: authkit's cookie app next to Flask-Session, on the same redis-server.

Both apps are Flask apps answering ``GET /me`` for a logged-in cookie, called as WSGI applications in
this process (no HTTP server, so only the apps and their Redis calls are measured). Flask-Session
(``pip install Flask-Session``; not a dependency of authkit) keeps its session in Redis and, with its
defaults, reads it and writes it back whole on every request: GET + SET, two round trips. authkit
validates and slides in one GETEX. Each figure is client CPU plus redis-server CPU per request, in
interleaved batches; the ratio is the median over rounds of the two batches' ratio in that round.

    .venv/bin/python bench/cookie_app_request.py
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, jsonify, session
from werkzeug.test import EnvironBuilder

from authkit import SessionStore
from authkit.passwords import ScryptCost
from authkit.redis import LocalRedisServer, count_round_trips
from authkit.web.cookie_app import COOKIE_NAME, create_cookie_app

Row = tuple[str, float, float, float, int]  # label, client µs, server µs, ratio to Flask-Session, round trips
ORIGIN = "https://127.0.0.1"
BASE = "Flask-Session (GET + SET)"


def flask_session_app(url: str) -> tuple[Flask, str]:
    """A Flask app on Flask-Session's Redis backend, and the cookie of a logged-in session."""
    from flask_session import Session as FlaskSession

    app = Flask("flask_session_bench")
    app.config.update(SESSION_TYPE="redis", SESSION_REDIS=redis.Redis.from_url(url), SECRET_KEY="bench")

    @app.post("/login")
    def login() -> Any:
        session["user"], session["roles"] = "alice", ["admin", "transfer"]
        return jsonify(user="alice")

    @app.get("/me")
    def me() -> Any:
        return jsonify(user=session["user"], roles=session["roles"])

    FlaskSession(app)
    answer = app.test_client().post("/login", base_url=ORIGIN)
    return app, answer.headers["Set-Cookie"].split(";", 1)[0]


def bare_app() -> tuple[Flask, str]:
    """The same answer with no session at all: what Flask itself costs per request (the floor)."""
    app = Flask("bare_bench")

    @app.get("/me")
    def me() -> Any:
        return jsonify(user="alice", roles=["admin", "transfer"])

    return app, "unused=1"


def authkit_app(client: redis.Redis) -> tuple[Flask, str]:
    """authkit's cookie app and the cookie of a logged-in session."""
    store = SessionStore(client)
    app = create_cookie_app(store, password_cost=ScryptCost(log2_n=10), trusted_origins={ORIGIN})
    return app, f"{COOKIE_NAME}={store.create('alice', roles=('admin', 'transfer'), label='laptop').id}"


def wsgi_request(app: Flask, cookie: str) -> Callable[[], int]:
    """One ``GET /me`` with ``cookie``, as a WSGI server would make it; returns the body's length."""
    environ = EnvironBuilder(path="/me", base_url=ORIGIN, headers={"Cookie": cookie}).get_environ()

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise AssertionError(f"the bench request was refused: {status}")

    def call() -> int:
        body = app(dict(environ), start_response)
        try:
            return sum(len(chunk) for chunk in body)
        finally:
            getattr(body, "close", lambda: None)()

    return call


def server_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(url: str, *, rounds: int = 60, batch: int = 100, seed: int = 0) -> list[Row]:
    """Median client and server µs per request for both apps, batches interleaved in a shuffled order."""
    client = redis.Redis.from_url(url, decode_responses=True)
    calls = {BASE: wsgi_request(*flask_session_app(url)),
             "authkit cookie app (GETEX)": wsgi_request(*authkit_app(client)),
             "Flask, no session (the floor)": wsgi_request(*bare_app())}
    trips = {}
    for label, call in calls.items():
        for _ in range(100):
            call()
        with count_round_trips(client) as log:
            call()
        trips[label] = log.round_trips
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in calls}
    order, shuffle = list(calls), random.Random(seed).shuffle
    for _ in range(rounds):
        shuffle(order)
        for label in order:
            call = calls[label]
            server_before, client_before = server_cpu(client), time.process_time()
            for _ in range(batch):
                call()
            client_after = time.process_time()
            samples[label].append(((client_after - client_before) / batch, (server_cpu(client) - server_before) / batch))
    base = [c + s for c, s in samples[BASE]]  # each round's ratio pairs batches run moments apart
    return [(label, statistics.median(c for c, _ in pairs) * 1e6, statistics.median(s for _, s in pairs) * 1e6,
             statistics.median((c + s) / b for (c, s), b in zip(pairs, base)), trips[label])
            for label, pairs in samples.items()]


def rows() -> list[Row]:
    """The table, on a fresh throwaway redis-server (for a benchmark harness)."""
    with LocalRedisServer() as server:
        return measure(server.url)


def main() -> None:
    print("CPU per validated GET /me (client + redis-server), median of interleaved batches\n")
    table = rows()
    width = max(len(label) for label, *_ in table)
    print(f"{'app':<{width}}  {'client µs':>9}  {'server µs':>9}  {'× Flask-Session':>15}  {'round trips':>11}")
    for label, client_us, server_us, ratio, trips in table:
        print(f"{label:<{width}}  {client_us:>9.1f}  {server_us:>9.1f}  {ratio:>15.2f}  {trips:>11}")


if __name__ == "__main__":
    main()
