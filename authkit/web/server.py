"""Serve a WSGI app on 127.0.0.1 in a background thread, over HTTP or HTTPS, quietly."""

from __future__ import annotations

import logging
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

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
