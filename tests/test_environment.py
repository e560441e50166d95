"""environment.yml (conda) and pyproject.toml (pip) must offer the same packages at the same floors."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

#: conda-forge names that differ from the PyPI ones.
CONDA_TO_PYPI = {"redis-py": "redis"}
#: conda-only entries: the interpreter, pip itself, and the server binary the contract tests start.
CONDA_ONLY = {"python", "pip", "redis-server"}


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(requirement: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(?:>=\s*([\w.]+))?\s*(?:;.*)?", requirement)
    assert match, f"unexpected requirement format: {requirement!r}"
    return _normalize(match[1]), match[2] or ""


def pyproject_packages() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return dict(_split(r) for r in requirements)


def conda_packages() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    packages = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str):
            name, floor = _split(entry)
            if name not in CONDA_ONLY:
                packages[CONDA_TO_PYPI.get(name, name)] = floor
    return packages


def test_conda_and_pip_list_the_same_packages() -> None:
    pip, conda = pyproject_packages(), conda_packages()
    assert sorted(set(pip) - set(conda)) == [], "in pyproject.toml but not environment.yml"
    assert sorted(set(conda) - set(pip)) == [], "in environment.yml but not pyproject.toml"


def test_conda_and_pip_floors_agree() -> None:
    pip, conda = pyproject_packages(), conda_packages()
    assert {n: (pip[n], conda[n]) for n in pip if pip[n] != conda.get(n)} == {}


def test_python_floor_matches() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert "python>=3.10" in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
