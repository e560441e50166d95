"""Without redis-server the real-backend contract tests skip visibly on a laptop and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_TEST = "tests/test_redis.py::test_contract_fixture_round_trip"


def run_without_redis_server(ci: str) -> subprocess.CompletedProcess[str]:
    """Run one contract test (both backends) with a PATH on which no redis-server can be found."""
    env = {**os.environ, "PATH": str(Path(sys.executable).parent), "CI": ci}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", CONTRACT_TEST],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_laptop_without_redis_server_sees_a_skip_with_the_reason() -> None:
    result = run_without_redis_server(ci="")
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout
    assert "redis-server is not installed" in result.stdout


@pytest.mark.parametrize("ci", ["true", "TRUE"])
def test_ci_without_redis_server_fails(ci: str) -> None:
    result = run_without_redis_server(ci=ci)
    assert result.returncode != 0, result.stdout
    assert "CI must run the contract tests on a real redis-server" in result.stdout
