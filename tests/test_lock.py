"""uv.lock, what `make` installs from, must be the resolution of pyproject.toml as it is now (`make lock` after a change)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_environment import pyproject_packages

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def locked_project(lock: dict) -> dict:
    return next(p for p in lock["package"] if p["name"] == "authkit")


def test_the_lock_records_the_requirements_of_pyproject() -> None:
    """Same names, same floors, same extras: a dependency added, dropped or raised without `make lock` fails here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    recorded = locked_project(locked())["metadata"]
    floors = {_normalize(r["name"]): r.get("specifier", "").removeprefix(">=") for r in recorded["requires-dist"]}
    assert floors == pyproject_packages()
    assert recorded["provides-extras"] == list(project["optional-dependencies"])


def test_every_package_is_pinned_to_one_version_from_an_index() -> None:
    """A fresh clone gets exactly these versions: every package but the project has a version and a source index."""
    for package in locked()["package"]:
        if package["name"] != "authkit":
            assert package.get("version") and "registry" in package["source"], package["name"]


@pytest.mark.skipif(UV is None, reason="uv is not installed (make .venv/.installed installs it)")
def test_uv_finds_the_lock_up_to_date_offline() -> None:
    result = subprocess.run([UV, "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr + "\nrun: make lock"
