"""Without redis-server or a browser, the tests that need them skip visibly on a laptop and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: One test that needs a real redis-server (it runs on both backends) and one that needs Chromium.
GUARDED = (
    "tests/test_redis.py::test_contract_fixture_round_trip",
    "tests/test_browser_lab.py::test_the_browser_thread_works_where_an_asyncio_loop_runs",
)


def run_without_redis_server_or_browser(ci: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run the guarded tests with a PATH that finds neither redis-server nor chromium, and no Playwright download."""
    env = {key: value for key, value in os.environ.items() if key != "AUTHKIT_CHROMIUM"}
    env.update(PATH=str(Path(sys.executable).parent), PLAYWRIGHT_BROWSERS_PATH=str(tmp_path), CI=ci,
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")  # the guarded tests use no plugin: skip loading them all
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *GUARDED],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_laptop_without_them_sees_skips_with_the_install_commands(tmp_path: Path) -> None:
    result = run_without_redis_server_or_browser("", tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped" in result.stdout  # the fakeredis variant still runs
    assert "apt-get install redis-server" in result.stdout
    assert "apt-get install chromium" in result.stdout


@pytest.mark.parametrize("ci", ["true", "TRUE"])
def test_ci_without_them_fails_naming_what_to_install(ci: str, tmp_path: Path) -> None:
    result = run_without_redis_server_or_browser(ci, tmp_path)
    assert result.returncode != 0, result.stdout
    assert "CI must run the contract tests on a real redis-server" in result.stdout
    assert "CI must run the browser tests in a real browser" in result.stdout
    assert "apt-get install chromium" in result.stdout
