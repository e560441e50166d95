"""Load: concurrent clients, each a user who logs in, uses the session, refreshes and logs out, on loopback.

The bearer API and the cookie app (over HTTPS) each run under gunicorn as deployed (``--workers``
processes of ``--threads`` threads, settings from the environment) on a throwaway redis-server.
First every client logs in at once: logins are CPU-bound by design (scrypt), and that burst gives
logins per second per core. Then, for ``--seconds``, every client thread plays one user after
another: 25 rounds of four validated requests (``/me``) and, for the bearer API, one refresh, then
log out and log in again. Printed per service: requests per second, p50/p99 latency per kind of
request, errors (5xx, refused connections, timeouts, anything unexpected) and sessions lost early
(a user refused before logging out).

    .venv/bin/python bench/load.py [--seconds 10] [--clients 8] [--workers 2] [--threads 4]
                                   [--service bearer|cookie|both]

Bounded in time, loopback only; the clients share the machine's cores with the servers.
"""

from __future__ import annotations

import secrets
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import requests

from authkit.config import write_key_file
from authkit.tokens.keys import SigningKey
from authkit.login.passwords import hash_password
from authkit.study.plots import table
from authkit.state.redis import LocalRedisServer, free_port
from authkit.web.bearer_app import DEMO_ACCOUNTS as BEARER_ACCOUNTS
from authkit.web.cookie_app import CSRF_HEADER
from authkit.web.cookie_app import DEMO_ACCOUNTS as COOKIE_ACCOUNTS
from authkit.web.server import GunicornServer
from authkit.web.tls import LocalTLS

#: The demo accounts (every client is alice, from one address): the login throttle would slow that crowd down.
DEMO = {"AUTHKIT_DEMO_USERS": "1", "AUTHKIT_LOGIN_THROTTLE": "0"}
ROUNDS_PER_LOGIN = 25  # rounds of four /me (and one refresh) between a login and its logout
TIMEOUT = 30.0  # seconds a client waits for one answer before counting an error


@dataclass
class Tally:
    """What every client saw, added up under one lock."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    lost_early: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self) -> int:
        """Answered requests so far."""
        return sum(len(values) for values in self.latencies.values())


class SessionLost(Exception):
    """The server refused a user who had not logged out."""


class Client:
    """One client thread's connection; records every request's latency, outcome and lost sessions."""

    def __init__(self, base: str, tally: Tally, session: requests.Session) -> None:
        self.base, self.tally, self.http = base, tally, session

    def call(self, kind: str, method: str, path: str, expected: int, lost: int | None = None,
             **kwargs: object) -> requests.Response | None:
        """One request: None after an error; ``SessionLost`` if it answered ``lost``."""
        start = time.perf_counter()
        try:
            response = self.http.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as err:
            with self.tally.lock:
                self.tally.errors[f"{kind}: {type(err).__name__}"] += 1
            return None
        elapsed = time.perf_counter() - start
        with self.tally.lock:
            self.tally.latencies[kind].append(elapsed)
            if response.status_code == lost:
                self.tally.lost_early += 1
            elif response.status_code != expected:
                self.tally.errors[f"{kind}: {response.status_code}"] += 1
        if response.status_code == lost:
            raise SessionLost(f"{kind} answered {response.status_code}: {response.text[:120]}")
        return response if response.status_code == expected else None


class BearerUser:
    """A user of the bearer API: log in, then /me with the access token and refresh, then log out."""

    def __init__(self, client: Client) -> None:
        self.client, self.tokens = client, None

    def login(self) -> None:
        """POST /login; ``tokens`` stays None if it failed."""
        credentials = {"username": "alice", "password": BEARER_ACCOUNTS["alice"][0]}
        answer = self.client.call("login", "POST", "/login", 200, json=credentials)
        self.tokens = answer.json() if answer is not None else None

    def use(self, deadline: float) -> None:
        """Rounds of four /me and one refresh, then logout (unless the deadline comes first)."""
        for _ in range(ROUNDS_PER_LOGIN):
            for _ in range(4):
                if time.monotonic() > deadline:
                    return
                self.client.call("me", "GET", "/me", 200, lost=401, headers=self._bearer())
            refreshed = self.client.call("refresh", "POST", "/refresh", 200, lost=400,
                                         json={"refresh_token": self.tokens["refresh_token"]})
            if refreshed is None:
                return
            self.tokens = refreshed.json()
        self.client.call("logout", "POST", "/logout", 204, lost=401, headers=self._bearer())
        self.tokens = None

    def _bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


class CookieUser:
    """A user of the cookie app: log in, then /me with the cookie, then log out with the CSRF token."""

    def __init__(self, client: Client) -> None:
        self.client, self.tokens = client, None

    def login(self) -> None:
        """POST /login; the session cookie lands in the client's jar, the CSRF token in ``tokens``."""
        self.client.http.cookies.clear()
        credentials = {"username": "bob", "password": COOKIE_ACCOUNTS["bob"][0]}
        answer = self.client.call("login", "POST", "/login", 200, json=credentials)
        self.tokens = answer.json() if answer is not None else None

    def use(self, deadline: float) -> None:
        """As many /me as the bearer user makes requests, then logout."""
        for _ in range(ROUNDS_PER_LOGIN * 4):
            if time.monotonic() > deadline:
                return
            self.client.call("me", "GET", "/me", 200, lost=401)
        self.client.call("logout", "POST", "/logout", 200, lost=401, headers={CSRF_HEADER: self.tokens["csrf_token"]})
        self.tokens = None


User = BearerUser | CookieUser


@dataclass
class Phase:
    """One phase of a run: what the clients saw, how long it took, and the CPU the server's workers used."""

    tally: Tally
    seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    answered: Counter[str] = field(default_factory=Counter)  # requests answered within the phase, by kind


def drive(name: str, server: GunicornServer, session: Callable[[], requests.Session], user: Callable[[Client], User],
          clients: int, seconds: float) -> tuple[Phase, Phase]:
    """Every client logs in at once (the login burst), then plays users until ``seconds`` have passed."""
    burst, mixed = Phase(Tally()), Phase(Tally())
    window = {"ends": 0.0}

    def open_window() -> None:
        window["ends"] = time.monotonic() + seconds

    ready = threading.Barrier(clients + 1, action=open_window)

    def play() -> None:
        player = user(Client(server.url, burst.tally, session()))
        player.login()
        ready.wait()
        player.client.tally = mixed.tally
        while time.monotonic() < window["ends"]:
            try:
                if player.tokens is None:
                    player.login()
                if player.tokens is not None:
                    player.use(window["ends"])
            except SessionLost:
                player.tokens = None  # counted; this user logs in again

    threads = [threading.Thread(target=play, daemon=True, name=f"load-{name}-{n}") for n in range(clients)]
    print(f"  {name}: {clients} logins at once ...", end="", file=sys.stderr, flush=True)
    started, cpu = time.monotonic(), server.worker_cpu_ns()
    for thread in threads:
        thread.start()
    ready.wait(timeout=clients * TIMEOUT)
    burst.seconds, burst.server_cpu_seconds = time.monotonic() - started, (server.worker_cpu_ns() - cpu) / 1e9
    print(f" {burst.seconds:.1f} s", file=sys.stderr)
    started, cpu = time.monotonic(), server.worker_cpu_ns()
    while (now := time.monotonic()) < window["ends"]:
        time.sleep(min(1.0, window["ends"] - now))
        with mixed.tally.lock:
            done, errors, lost = mixed.tally.requests(), sum(mixed.tally.errors.values()), mixed.tally.lost_early
        print(f"\r  {name}: {time.monotonic() - started:4.0f} s  {done:6d} requests  {errors} errors  "
              f"{lost} sessions lost early", end="", file=sys.stderr, flush=True)
    mixed.seconds, mixed.server_cpu_seconds = time.monotonic() - started, (server.worker_cpu_ns() - cpu) / 1e9
    with mixed.tally.lock:
        mixed.answered = Counter({kind: len(values) for kind, values in mixed.tally.latencies.items()})
    print("; letting the requests in flight finish", file=sys.stderr)
    for thread in threads:
        thread.join(TIMEOUT + 5)  # their latencies count; the rates count only the window
    return burst, mixed


def report(name: str, burst: Phase, mixed: Phase) -> str:
    """The table for one service."""
    rows = []
    for kind in ("login", "me", "refresh", "logout"):
        values = sorted(mixed.tally.latencies.get(kind, []))
        if not values:
            continue
        cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
        rows.append((kind, mixed.answered[kind], f"{mixed.answered[kind] / mixed.seconds:.1f}",
                     f"{cuts[49] * 1000:.1f}", f"{cuts[98] * 1000:.1f}"))
    total = sum(mixed.answered.values())
    logins = len(burst.tally.latencies.get("login", []))
    errors = burst.tally.errors + mixed.tally.errors
    listed = ", ".join(f"{kind} ×{n}" for kind, n in sorted(errors.items())) or "none"
    return "\n".join([
        f"{name}: {total} requests in {mixed.seconds:.1f} s = {total / mixed.seconds:.0f} requests/s, "
        f"server CPU {mixed.server_cpu_seconds / mixed.seconds:.2f} cores",
        table(["request", "answered", "per second", "p50 ms", "p99 ms"], rows),
        f"errors: {listed}",
        f"sessions lost early: {mixed.tally.lost_early}",
        f"login burst: {logins} logins in {burst.seconds:.1f} s on {os.cpu_count()} shared cores; the workers spent "
        f"{burst.server_cpu_seconds:.1f} s of CPU: {logins / burst.server_cpu_seconds:.2f} logins per second per core",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of mixed load per service (10)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes per service (2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--service", choices=("bearer", "cookie", "both"), default="both")
    args = parser.parse_args()
    start = time.thread_time()
    hash_password("a password to time one scrypt hash")
    print(f"one scrypt hash (the login's cost) takes {(time.thread_time() - start) * 1000:.0f} ms of CPU here",
          file=sys.stderr)
    print(f"{args.clients} clients, gunicorn --workers {args.workers} --threads {args.threads}, "
          f"{args.seconds:.0f} s per service, redis-server on loopback", file=sys.stderr)
    reports = []
    with LocalRedisServer() as redis_server, tempfile.TemporaryDirectory(prefix="authkit-load-") as folder, \
            LocalTLS() as tls, ExitStack() as stack:
        key_file, refresh_key_file = str(Path(folder) / "signing.jwks"), str(Path(folder) / "refresh.jwks")
        write_key_file(key_file, SigningKey.generate("EdDSA"))
        write_key_file(refresh_key_file, SigningKey.generate("HS256"))
        gunicorn = {"workers": args.workers, "threads": args.threads}
        if args.service in ("bearer", "both"):
            env = {"AUTHKIT_REDIS_URL": redis_server.url, "AUTHKIT_SIGNING_KEYS": key_file,
                   "AUTHKIT_REFRESH_KEYS": refresh_key_file, "AUTHKIT_ISSUER": "https://auth.example", "AUTHKIT_AUDIENCE": "https://api.example",
                   **DEMO}
            api = stack.enter_context(GunicornServer("authkit.web.wsgi:bearer_api()", env=env, **gunicorn))
            results = drive("bearer API", api, requests.Session, BearerUser, args.clients, args.seconds)
            reports.append(report("bearer API (login, /me, refresh, logout)", *results))
        if args.service in ("cookie", "both"):
            port = free_port()
            origin = f"https://127.0.0.1:{port}"
            env = {"AUTHKIT_REDIS_URL": redis_server.url, "AUTHKIT_TRUSTED_ORIGINS": origin,
                   "AUTHKIT_SESSION_KEY": secrets.token_urlsafe(32), **DEMO}
            site = stack.enter_context(GunicornServer("authkit.web.wsgi:cookie_app()", env=env, port=port,
                                                      ssl_files=tls.server_files(), **gunicorn))
            results = drive("cookie app", site, lambda: tls.client({"Origin": origin}), CookieUser,
                            args.clients, args.seconds)
            reports.append(report("cookie app over HTTPS (login, /me, logout)", *results))
    print("\n\n".join(reports))


if __name__ == "__main__":
    main()
