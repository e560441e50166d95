"""The GitHub workflow is checked here, offline, against its published schema: a broken file fails before a push."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["test"]["steps"]


def test_the_workflow_matches_the_github_workflow_schema() -> None:
    result = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    result = subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(broken)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


def test_the_workflow_runs_what_ci_runs_and_keeps_the_site() -> None:
    runs = "\n".join(step.get("run", "") for step in steps())
    assert "bash .ci/run" in runs and "make course" in runs
    upload = next(step for step in steps() if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "build/site"
    cache = next(step for step in steps() if step.get("uses", "").startswith("actions/cache@"))
    assert "hashFiles('uv.lock')" in cache["with"]["key"]


#: The first major of each action that runs on Node 24 (the Node 20 ones are deprecated).
NODE24 = {"actions/checkout": 5, "actions/setup-python": 6, "actions/cache": 5, "actions/upload-artifact": 6}


def test_the_actions_are_current_majors() -> None:
    for step in steps():
        if "uses" in step:
            action, _, version = step["uses"].partition("@")
            assert action in NODE24, f"{action}: which major runs on Node 24?"
            assert int(version.removeprefix("v")) >= NODE24[action], step["uses"]


def test_the_readme_shows_the_badge() -> None:
    first = (ROOT / "README.md").read_text().splitlines()[:3]
    assert any("actions/workflows/ci.yml/badge.svg" in line for line in first)
