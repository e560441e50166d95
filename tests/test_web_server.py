"""authkit.web.server: real HTTP and HTTPS on loopback, started and stopped from code."""

from __future__ import annotations

import flask
import pytest
import requests
import trustme

from authkit.web.server import GunicornServer, serve


@pytest.fixture
def hello_app() -> flask.Flask:
    app = flask.Flask("hello")
    app.get("/")(lambda: "hello")
    return app


def test_serves_http_on_loopback_then_stops(hello_app: flask.Flask) -> None:
    with serve(hello_app) as running:
        assert running.url.startswith("http://127.0.0.1:")
        assert requests.get(running.url, timeout=5).text == "hello"
    with pytest.raises(requests.ConnectionError):
        requests.get(running.url, timeout=1)


def test_serves_https_with_a_throwaway_ca(hello_app: flask.Flask) -> None:
    ca = trustme.CA()
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with serve(hello_app, ssl_context=context) as running, ca.cert_pem.tempfile() as ca_file:
        assert running.url.startswith("https://")
        assert requests.get(running.url, verify=ca_file, timeout=5).text == "hello"
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(running.url, timeout=5)  # the system trust store does not know this CA


def hello() -> flask.Flask:
    """The hello app as a factory gunicorn can import (``tests.test_web_server:hello()``)."""
    app = flask.Flask("hello")
    app.get("/")(lambda: "hello")
    return app


def test_the_thread_server_closes_every_connection(hello_app: flask.Flask) -> None:
    with serve(hello_app) as running:
        assert requests.get(running.url, timeout=5).headers["Connection"] == "close"


@pytest.mark.parametrize(("threads", "connection"), [(1, "close"), (2, "keep-alive")])
def test_gunicorn_workers_and_their_cpu_time(threads: int, connection: str) -> None:
    with GunicornServer("tests.test_web_server:hello()", env={}, workers=2, threads=threads) as server:
        assert len(server.worker_pids()) == 2
        before = server.worker_cpu_ns()
        with requests.Session() as client:
            answers = [client.get(server.url, timeout=10) for _ in range(10)]
        assert [a.text for a in answers] == ["hello"] * 10
        assert {a.headers["Connection"].lower() for a in answers} == {connection}
        assert server.worker_cpu_ns() > before
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url, timeout=1)

