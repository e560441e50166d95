"""Server CPU that authentication adds to one bearer-API request, against its floor: a bare verify + one GET.

Everything runs under gunicorn, one threaded worker per server, over one kept-alive HTTP/1.1
connection per server (no TCP handshake in any figure), on a throwaway redis-server. The worker's
own CPU time (``GunicornServer.worker_cpu_ns``: Linux schedstat, nanoseconds) is read around blocks of
requests, in rounds whose order is shuffled each time:

- the bearer API: ``GET /health`` (no authentication) and ``GET /me`` (Bearer token, verify, one MGET),
  both sent with the same ``Authorization`` header, as the floor's requests are: the difference is
  the work of authentication, not the parsing of a longer request (shown on its own row);
- the same API with ``stateless`` revocation (verify only), so that the lookup's share shows;
- the floor: a bare WSGI app (``floor_app`` below) that does nothing, PyJWT's bare ``jwt.decode`` of
  the same token with the same key and checks, or that decode and one redis-py GET.

The tight-loop figures (bare decode, authkit's verify, one GET, called back to back in this process)
are printed too: a round trip costs a worker more CPU inside a request than in a tight loop.

    .venv/bin/python bench/bearer_request_cost.py [--rounds 20] [--per-round 200] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import logging
import pstats
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import jwt

from authkit.config import Environment, write_key_file
from authkit.state.durability import PersistenceWarning
from authkit.tokens.keys import SigningKey
from authkit.study.measure import Bench, Row
from authkit.study.plots import table
from authkit.state.redis import LocalRedisServer, connect
from authkit.tokens.issuer import REQUIRED_CLAIMS
from authkit.web.server import GunicornServer
from authkit.web.wsgi import bearer_api

NAME = "bearer_request_cost"
ISSUER, AUDIENCE = "https://auth.example", "https://api.example"
GOAL = 1.3  # authentication may cost at most 1.3 × (bare verify + one GET)
ADDED = "added by authentication (/me − /health)"
FLOOR = "floor in a worker: bare decode + one GET"
LOOP_FLOOR = "floor in a tight loop: bare decode + one GET"
PROBE_KEY = "bench:probe"
WARM_UP = 20  # requests per block before timing


class Measured(NamedTuple):
    """One measured quantity: CPU microseconds per request (or per call), and where it was measured."""

    label: str
    microseconds: float
    where: str


def floor_app() -> Callable[..., Iterable[bytes]]:
    """A bare WSGI app: ``?decode`` runs PyJWT's decode of the Bearer token, ``?get`` one GET, as configured."""
    env = Environment()
    key = env.key_set("AUTHKIT_SIGNING_KEYS").current
    client = connect(env.redis_url())
    options = {"require": list(REQUIRED_CLAIMS)}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "")
        if "decode" in query:
            token = environ["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
            jwt.decode(token, key.verifying_material, algorithms=[key.alg], issuer=ISSUER, audience=AUDIENCE,
                       options=options)
        if "get" in query:
            client.get(PROBE_KEY)
        body = b'{"status":"ok"}\n'
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


class _KeepAlive:
    """One HTTP/1.1 connection kept alive to a one-worker server, and that worker's CPU clock."""

    def __init__(self, server: GunicornServer) -> None:
        self.server = server
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)

    def send(self, method: str, path: str, headers: dict[str, str], body: str | None = None) -> bytes:
        """One request on the kept-alive connection; anything but 200 stops the benchmark."""
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200 or response.getheader("Connection", "").lower() == "close":
            raise RuntimeError(f"{method} {path}: {response.status} {response.getheader('Connection')} {payload!r}")
        return payload

    def cpu_ns(self, path: str, headers: dict[str, str], n: int) -> int:
        """The worker's CPU ns spent on ``n`` GETs of ``path``."""
        start = self.server.worker_cpu_ns()
        for _ in range(n):
            self.send("GET", path, headers)
        return self.server.worker_cpu_ns() - start


def _local_ns(call: Callable[[], object], n: int) -> int:
    """This thread's CPU ns for ``n`` calls back to back."""
    start = time.thread_time_ns()
    for _ in range(n):
        call()
    return time.thread_time_ns() - start


def _profile(env: dict[str, str], token: str, n: int) -> str:
    """cProfile (CPU time) of ``n`` in-process WSGI calls of ``GET /me``: where the application's time goes."""
    client = bearer_api(env).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/me", headers=headers)
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()
    for _ in range(n):
        client.get("/me", headers=headers)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
    return out.getvalue()


def measure(redis_server: LocalRedisServer, *, rounds: int = 20, per_round: int = 200,
            profile: bool = False) -> list[Measured]:
    """The interleaved measurement; rows in µs of CPU per request or per call."""
    key = SigningKey.generate("EdDSA")
    with tempfile.TemporaryDirectory(prefix="authkit-bench-") as folder, contextlib.ExitStack() as stack:
        key_file, refresh_key_file = str(Path(folder) / "signing.jwks"), str(Path(folder) / "refresh.jwks")
        write_key_file(key_file, key)
        write_key_file(refresh_key_file, SigningKey.generate("HS256"))
        env = {"AUTHKIT_REDIS_URL": redis_server.url, "AUTHKIT_SIGNING_KEYS": key_file,
               "AUTHKIT_REFRESH_KEYS": refresh_key_file, "AUTHKIT_ISSUER": ISSUER, "AUTHKIT_AUDIENCE": AUDIENCE,
               "AUTHKIT_DEMO_USERS": "1"}  # the published demo accounts: asked for explicitly
        redis_client = redis_server.client()
        redis_client.set(PROBE_KEY, "1")

        def start(app: str, extra: dict[str, str]) -> _KeepAlive:
            return _KeepAlive(stack.enter_context(GunicornServer(app, env={**env, **extra}, workers=1, threads=2)))

        api = start("authkit.web.wsgi:bearer_api()", {})
        stateless = start("authkit.web.wsgi:bearer_api()", {"AUTHKIT_REVOCATION": "stateless"})
        floor = start("bearer_request_cost:floor_app()", {"PYTHONPATH": str(Path(__file__).parent)})
        login = json.dumps({"username": "alice", "password": "wonderland-rabbit-hole"})
        token = json.loads(api.send("POST", "/login", {"Content-Type": "application/json"}, login))["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        verifier = bearer_api(env).extensions["authkit.bearer"].verifier

        def bare_decode() -> object:
            return jwt.decode(token, key.verifying_material, algorithms=[key.alg], issuer=ISSUER, audience=AUDIENCE,
                              options={"require": list(REQUIRED_CLAIMS)})

        blocks: dict[str, Callable[[int], int]] = {
            "GET /health": lambda n: api.cpu_ns("/health", bearer, n),
            "GET /health, no Authorization header": lambda n: api.cpu_ns("/health", {}, n),
            "GET /me": lambda n: api.cpu_ns("/me", bearer, n),
            "GET /me, stateless revocation": lambda n: stateless.cpu_ns("/me", bearer, n),
            "bare app: nothing": lambda n: floor.cpu_ns("/", bearer, n),
            "bare app: decode": lambda n: floor.cpu_ns("/?decode", bearer, n),
            "bare app: decode + GET": lambda n: floor.cpu_ns("/?decode+get", bearer, n),
            "tight loop: bare jwt.decode": lambda n: _local_ns(bare_decode, n),
            "tight loop: authkit verify_access": lambda n: _local_ns(lambda: verifier.verify_access(token), n),
            "tight loop: one redis-py GET": lambda n: _local_ns(lambda: redis_client.get(PROBE_KEY), n),
        }
        for block in blocks.values():  # warm up: imports, caches, the workers' first requests
            block(WARM_UP)
        totals = dict.fromkeys(blocks, 0)
        order = list(blocks)
        for done in range(rounds):
            random.shuffle(order)
            for name in order:
                totals[name] += blocks[name](per_round)
            print(f"\r  round {done + 1}/{rounds}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        if profile:
            print(_profile(env, token, 2000))
    us = {name: total / (rounds * per_round) / 1000 for name, total in totals.items()}
    worker, here = "gunicorn worker", "this process"
    return [Measured(name, value, here if name.startswith("tight") else worker) for name, value in us.items()] + [
        Measured(ADDED, us["GET /me"] - us["GET /health"], worker),
        Measured("  receiving the Authorization header (/health with − without)",
            us["GET /health"] - us["GET /health, no Authorization header"], worker),
        Measured("  verify + HTTP layer (stateless /me − /health)", us["GET /me, stateless revocation"] - us["GET /health"],
            worker),
        Measured("  the revocation lookup (/me − stateless /me)", us["GET /me"] - us["GET /me, stateless revocation"],
            worker),
        Measured(FLOOR, us["bare app: decode + GET"] - us["bare app: nothing"], worker),
        Measured("  bare decode in a worker", us["bare app: decode"] - us["bare app: nothing"], worker),
        Measured("  one GET in a worker", us["bare app: decode + GET"] - us["bare app: decode"], worker),
        Measured(LOOP_FLOOR, us["tight loop: bare jwt.decode"] + us["tight loop: one redis-py GET"], here),
    ]


def rows(bench: Bench) -> list[Row]:
    """Authentication's added CPU as a ratio to each floor (the goal), then every measured µs."""
    quiet()
    measured = measure(bench.server, rounds=bench.rounds)
    values = {m.label: m.microseconds for m in measured}
    where = {LOOP_FLOOR: "the same calls back to back in one process: a round trip costs less there than in a request",
             FLOOR: "PyJWT's decode and one GET inside a gunicorn worker, on the same kept-alive connection"}
    ratios = [Row(NAME, ADDED, values[ADDED] / values[floor], anchor=floor, goal=GOAL, clock="cpu",
                  note=f"{where[floor]}; {values[ADDED]:.0f} vs {values[floor]:.0f} µs")
              for floor in (FLOOR, LOOP_FLOOR)]
    return ratios + [Row(NAME, m.label.strip(), round(m.microseconds, 1), "µs", clock="cpu", note=m.where)
                     for m in measured]


def quiet() -> None:
    """The throwaway redis-server keeps nothing on disk, on purpose: the start-up check's warning is not news here."""
    warnings.simplefilter("ignore", PersistenceWarning)
    logging.getLogger("authkit.web.wsgi").setLevel(logging.ERROR)


def main() -> None:
    quiet()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of /me inside the app")
    args = parser.parse_args()
    with LocalRedisServer() as server:
        measured = measure(server, rounds=args.rounds, per_round=args.per_round, profile=args.profile)
    print(table(["CPU per request or call", "µs", "measured in"],
                [(r.label, f"{r.microseconds:.0f}", r.where) for r in measured]))
    values = {r.label: r.microseconds for r in measured}
    for floor in (FLOOR, LOOP_FLOOR):
        ratio = values[ADDED] / values[floor]
        print(f"authentication adds ×{ratio:.2f} the {floor.split(':')[0]} (goal ≤ ×{GOAL}: "
              f"{'met' if ratio <= GOAL else 'not met'})")
    print("measured on kept-alive HTTP/1.1 connections to gunicorn gthread workers")


if __name__ == "__main__":
    main()
