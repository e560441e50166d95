"""Fixtures shared by every test: Redis on both backends, written once (cachelib-style)."""

from __future__ import annotations

import os
import shutil
from typing import Any, Callable, Iterator

import pytest
import redis

from authkit.web.lab.browser import BrowserMissing, find_chromium, launch_options
from authkit.errors import TOKEN_REASONS, TokenError
from authkit.tokens.keys import KeySet, SigningKey
from authkit.state.redis import LocalRedisServer, connect
from authkit.tokens.issuer import TokenIssuer, TokenVerifier
from authkit.web.lab import Lab
from tests.jwt_forge import AUDIENCE, ISSUER

IN_CI = os.environ.get("CI", "").lower() == "true"

#: What `make check` leaves to `make test`: tests that start a real redis-server, a browser, a kernel or a process.
HEAVY_FIXTURES = {"redis_server", "real_redis", "browser_lab", "chromium_executable", "page", "browser"}
HEAVY_FILES = {
    "test_bff.py", "test_ci_guard.py", "test_cluster.py", "test_deploy.py", "test_drill.py", "test_durability.py",
    "test_kernel_transport.py", "test_lab_browser.py", "test_lock.py", "test_measure.py", "test_progress.py",
    "test_refresh_race.py", "test_site.py", "test_web_server.py", "test_workflow.py", "test_workspace.py",
    "test_browser_lab.py", "test_plots.py", "test_plots_rotation.py", "test_notebooks.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``heavy`` every test `make check` skips (it runs ``-m "not heavy"``); `make test` runs them all."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if (item.path.name in HEAVY_FILES or item.path.suffix == ".ipynb"
                or HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())) or "redis-server" in params.values()):
            item.add_marker(pytest.mark.heavy)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedisServer]:
    """A real redis-server for the whole run (one per pytest-xdist worker); a visible skip locally, a failure under CI=true."""
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed"
        if IN_CI:
            pytest.fail(f"{reason}: CI must run the contract tests on a real redis-server", pytrace=False)
        pytest.skip(f"{reason} (apt-get install redis-server to run the real-server contract tests)")
    with LocalRedisServer() as server:
        yield server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A test that needed Chromium and found none (an exercise check of 06): a visible skip locally, a failure in CI."""
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(BrowserMissing):
        message = call.excinfo.value.args[0]
        if IN_CI:
            report.longrepr = f"{message} — CI must run the browser tests in a real browser"
        else:
            report.outcome, report.longrepr = "skipped", (str(item.path), item.location[1] or 0, f"Skipped: {message}")


@pytest.fixture(scope="session")
def chromium_executable() -> str | None:
    """The Chromium for the browser tests (None: Playwright's own); a visible skip locally, a failure under CI=true."""
    try:
        return find_chromium()
    except BrowserMissing as missing:
        if IN_CI:
            pytest.fail(f"{missing.args[0]} — CI must run the browser tests in a real browser", pytrace=False)
        pytest.skip(missing.args[0])


@pytest.fixture(scope="session")
def browser_type_launch_args(chromium_executable: str | None) -> dict[str, object]:
    """pytest-playwright's launch options: the course's headless Chromium and its flags."""
    return launch_options(executable=chromium_executable)


@pytest.fixture(scope="session")
def browser_lab(chromium_executable: str | None) -> Iterator[Lab]:
    """The browser lab of notebook 06 (bank, attacker, Chromium), shared by the browser tests."""
    with Lab() as lab:
        yield lab


@pytest.fixture
def server_factory() -> Iterator[Callable[..., LocalRedisServer]]:
    """Servers of their own (they are killed), stopped at the end."""
    started: list[LocalRedisServer] = []

    def start(**options: Any) -> LocalRedisServer:
        started.append(LocalRedisServer(**options))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def wipe(client: redis.Redis) -> None:
    """Every key but the durability marker. A FLUSHALL would take the revocation epoch back to 0, which
    every client that saw a higher one rightly treats as Redis losing writes (purge, then 503)."""
    keys = [key for key in client.scan_iter("*", count=1000) if not key.endswith(":durability")]
    for start in range(0, len(keys), 500):
        client.delete(*keys[start:start + 500])


@pytest.fixture
def real_redis(redis_server: LocalRedisServer) -> Iterator[redis.Redis]:
    """A client on the real server, emptied (all but the durability marker) before and after the test."""
    client = connect(redis_server.url)
    wipe(client)
    yield client
    wipe(client)
    client.close()


@pytest.fixture
def fake_redis() -> redis.Redis:
    """A client on a fresh in-process fakeredis server."""
    return connect(fresh=True)


@pytest.fixture(params=["fakeredis", "redis-server"])
def redis_client(request: pytest.FixtureRequest) -> redis.Redis:
    """The contract fixture: every test using it runs once per backend."""
    if request.param == "fakeredis":
        return request.getfixturevalue("fake_redis")
    return request.getfixturevalue("real_redis")


@pytest.fixture
def keys() -> KeySet:
    """One Ed25519 signing key, kid ``k1``."""
    return KeySet(SigningKey.generate("EdDSA", kid="k1"))


@pytest.fixture
def issuer(keys: KeySet) -> TokenIssuer:
    return TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture
def verifier(keys: KeySet) -> TokenVerifier:
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


def refused(call, *args) -> str:
    """The reason of the TokenError ``call(*args)`` raises (and fail if it accepts)."""
    with pytest.raises(TokenError) as caught:
        call(*args)
    assert caught.value.reason in TOKEN_REASONS
    return caught.value.reason
