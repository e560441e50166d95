"""Serve a WSGI app on 127.0.0.1: in a background thread (werkzeug), or in gunicorn's worker processes.

The thread is for notebooks and tests: quiet, started and stopped from code, one ``Connection: close``
answer per connection (werkzeug's development server never keeps a connection alive). gunicorn is how
the services deploy: several processes, and with ``threads`` > 1 connections kept alive.
"""

from __future__ import annotations

import logging
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from authkit.state.redis import free_port

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # request logs would land in notebook stderr


@dataclass
class RunningServer:
    """A server thread on loopback; ``url`` is its base URL. Use as a context manager or call ``stop``."""

    server: BaseWSGIServer
    scheme: str
    thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        return self.server.server_port

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(app: Any, *, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> RunningServer:
    """Start ``app`` on a free port of 127.0.0.1 (HTTPS when ``ssl_context`` is given)."""
    server = make_server("127.0.0.1", port, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"authkit-{server.server_port}", daemon=True)
    thread.start()
    return RunningServer(server, "https" if ssl_context else "http", thread)


_READY = "authkit: app loaded"
#: A gunicorn config file: each worker logs once it has called the app factory.
_READY_HOOK = f"""
def post_worker_init(worker):
    worker.log.info("{_READY} in worker %s", worker.pid)
"""


class GunicornServer:
    """gunicorn serving ``app`` (``"module:factory()"``) from worker processes on a free loopback port.

    ``env`` holds the service's settings: no ``AUTHKIT_*`` variable of this process reaches the workers.
    ``threads`` > 1 selects gunicorn's threaded worker, the one that keeps connections alive.
    ``access_log_format`` (gunicorn's atoms, e.g. ``%(p)s`` for the worker's pid) turns the access log on.
    """

    def __init__(self, app: str, *, env: Mapping[str, str], workers: int = 2, threads: int = 1,
                 ssl_files: tuple[str, str] | None = None, access_log_format: str | None = None,
                 port: int | None = None, ready_timeout: float = 30.0) -> None:
        self.port = port or free_port()
        self.scheme = "https" if ssl_files else "http"
        self._logs = tempfile.TemporaryDirectory(prefix="authkit-gunicorn-")
        self.access_log = str(Path(self._logs.name) / "access.log")
        self.error_log = str(Path(self._logs.name) / "error.log")
        hooks = Path(self._logs.name) / "hooks.py"
        hooks.write_text(_READY_HOOK)
        command = [sys.executable, "-m", "gunicorn", "--config", str(hooks), "--bind", f"127.0.0.1:{self.port}",
                   "--workers", str(workers), "--threads", str(threads), "--keep-alive", "30",
                   "--error-logfile", self.error_log]
        if access_log_format:
            command += ["--access-logfile", self.access_log, "--access-logformat", access_log_format]
        if ssl_files:
            command += ["--certfile", ssl_files[0], "--keyfile", ssl_files[1]]
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("AUTHKIT_")}
        self.process = subprocess.Popen([*command, app], env={**inherited, **env}, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_until_booted(workers, ready_timeout)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The worker processes' IDs (children of the gunicorn master)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended while we looked
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return sorted(children)

    def worker_cpu_ns(self) -> int:
        """CPU time the workers have used so far, every thread counted, in nanoseconds (Linux schedstat)."""
        total = 0
        for pid in self.worker_pids():
            for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
                try:
                    total += int(stat.read_text().split()[0])
                except OSError:  # a thread ended while we looked
                    continue
        return total

    def log(self) -> str:
        """gunicorn's own log (boot messages, worker errors)."""
        path = Path(self.error_log)
        return path.read_text(errors="replace") if path.exists() else ""

    def _wait_until_booted(self, workers: int, timeout: float) -> None:
        """Until ``workers`` workers have loaded the app; a master that exits (the app failed to load) raises."""
        deadline = time.monotonic() + timeout
        while self.log().count(_READY) < workers:
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"gunicorn did not start the app:\n{log}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the master and its workers (SIGINT: quick shutdown, kept-alive connections are not waited for)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._logs.cleanup()

    def __enter__(self) -> "GunicornServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
