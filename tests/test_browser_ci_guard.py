"""Without a browser the browser tests skip visibly on a laptop and fail under CI=true, naming the install command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BROWSER_TEST = "tests/test_browser_lab.py::test_the_browser_thread_works_where_an_asyncio_loop_runs"


def run_without_a_browser(ci: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run one browser test with no chromium on PATH, no AUTHKIT_CHROMIUM and no Playwright download."""
    env = {key: value for key, value in os.environ.items() if key != "AUTHKIT_CHROMIUM"}
    env.update(PATH=str(Path(sys.executable).parent), PLAYWRIGHT_BROWSERS_PATH=str(tmp_path), CI=ci)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", BROWSER_TEST],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_laptop_without_chromium_sees_a_skip_with_the_install_command(tmp_path: Path) -> None:
    result = run_without_a_browser("", tmp_path)
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "apt-get install chromium" in result.stdout


@pytest.mark.parametrize("ci", ["true", "TRUE"])
def test_ci_without_chromium_fails_with_the_install_command(ci: str, tmp_path: Path) -> None:
    result = run_without_a_browser(ci, tmp_path)
    assert result.returncode != 0, result.stdout
    assert "CI must run the browser tests in a real browser" in result.stdout
    assert "apt-get install chromium" in result.stdout
