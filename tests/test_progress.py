"""authkit.course.progress: each check() in the workspace is recorded there, and nowhere else."""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.synchronize
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from authkit.course.catalog import catalog
from authkit.course.exercise import Exercise
from authkit.course.notebooks import NOTEBOOK_DIR, ROOT, execute
from authkit.course.progress import PROGRESS_FILE, record, table
from authkit.course.state import STATE_DIR
from authkit.course.workspace import sync


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "my-course"
    sync(folder, NOTEBOOK_DIR)
    return folder


def recorded(workspace: Path) -> dict:
    return json.loads((workspace / STATE_DIR / PROGRESS_FILE).read_text())


def test_a_check_in_the_workspace_records_its_result_and_the_help_used(
        workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(workspace)
    expiry = Exercise(catalog()["is_expired"], {"is_expired": lambda exp, now: now > exp})
    expiry.check()
    expiry.hint(), expiry.hint()
    expiry.namespace["is_expired"] = lambda exp, now: now >= exp
    expiry.check()
    assert recorded(workspace)["is_expired"] == {
        "notebook": "00", "result": "Correct", "checks": 2, "hints": 2, "solution_seen": False,
    }
    fresh_kernel = Exercise(catalog()["is_expired"], {})  # a restarted kernel has shown no hints yet
    fresh_kernel.solution()
    fresh_kernel.check()
    assert recorded(workspace)["is_expired"] == {
        "notebook": "00", "result": "Not attempted", "checks": 3, "hints": 2, "solution_seen": True,
    }
    assert capsys.readouterr().out.count("Correct: is_expired passes every case") == 1


def test_a_check_anywhere_else_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Exercise(catalog()["is_expired"], {"is_expired": lambda exp, now: now >= exp}).check()
    assert list(tmp_path.iterdir()) == []


def test_the_table_counts_done_and_left_per_notebook(workspace: Path) -> None:
    specs = catalog()
    record(workspace, specs["is_expired"], "Correct", hints=1, solution_seen=False)
    record(workspace, specs["b64url_encode"], "Correct", hints=0, solution_seen=True)
    record(workspace, specs["b64url_decode"], "Incorrect", hints=3, solution_seen=False)
    lines = table(specs.values(), workspace, NOTEBOOK_DIR).splitlines()
    in_00 = sum(spec.notebook == "00" for spec in specs.values())
    in_01 = sum(spec.notebook == "01" for spec in specs.values())
    first_of_01 = next(i for i, line in enumerate(lines) if line.startswith("01 jwt anatomy"))
    assert lines[0].startswith("00 start here") and lines[0].endswith(f"1 of {in_00} done, {in_00 - 1} left")
    assert lines[1].split() == ["is_expired", "Correct", "1", "hint"]
    assert lines[first_of_01].endswith(f"1 of {in_01} done, {in_01 - 1} left")
    assert lines[first_of_01 + 1].split() == ["b64url_encode", "Correct", "solution", "seen"]
    assert lines[first_of_01 + 2].split() == ["b64url_decode", "Incorrect", "3", "hints"]
    assert lines[first_of_01 + 3].split() == ["hs256_token", "Not", "attempted"]
    assert lines[-1] == f"2 of {len(specs)} exercises done, {len(specs) - 2} left."


ROUNDS = 40


def _record_many(workspace: str, names: list[str], start: multiprocessing.synchronize.Barrier) -> None:
    specs = catalog()
    start.wait()
    for _ in range(ROUNDS):
        for name in names:
            record(Path(workspace), specs[name], "Incorrect", hints=0, solution_seen=False)


def test_two_kernels_checking_at_once_lose_no_record(workspace: Path) -> None:
    names = sorted(catalog())
    halves = [names[::2], names[1::2]]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(halves))
    workers = [context.Process(target=_record_many, args=(str(workspace), half, start)) for half in halves]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert {name: entry["checks"] for name, entry in recorded(workspace).items()} == {name: ROUNDS for name in names}


def test_a_kernel_in_the_workspace_records_and_the_reference_run_records_nothing(workspace: Path) -> None:
    copy = workspace / "00_start_here.ipynb"
    notebook = nbformat.read(copy, as_version=4)
    for cell in notebook.cells:
        if cell.source.startswith("def is_expired"):
            cell.source = "def is_expired(exp: int, now: int) -> bool:\n    return now >= exp"
    nbformat.write(notebook, copy)
    execute(copy)  # a kernel whose working directory is the workspace, as JupyterLab starts it
    assert recorded(workspace)["is_expired"]["result"] == "Correct"
    before = subprocess.run(["git", "status", "--porcelain", "--ignored", "notebooks"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    execute(NOTEBOOK_DIR / "00_start_here.ipynb")  # what nbval and make course do: nothing is written
    after = subprocess.run(["git", "status", "--porcelain", "--ignored", "notebooks"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout
    assert after == before and not (NOTEBOOK_DIR / STATE_DIR).exists()


def test_make_progress_prints_the_table(workspace: Path) -> None:
    record(workspace, catalog()["is_expired"], "Correct", hints=0, solution_seen=False)
    out = subprocess.run(["make", "-s", "-o", ".venv/.installed", "progress", f"WORKSPACE={workspace}"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    in_00 = sum(spec.notebook == "00" for spec in catalog().values())
    assert out.splitlines()[0].endswith(f"1 of {in_00} done, {in_00 - 1} left") and "is_expired" in out


def test_progress_before_any_check_says_how_to_start(workspace: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "authkit.course", "progress", "--workspace", str(workspace)],
                         capture_output=True, text=True, check=True).stdout
    assert "0 of" in out and "Nothing recorded yet" in out


def test_make_reset_clears_that_notebooks_progress_only(workspace: Path) -> None:
    specs = catalog()
    for name in ("is_expired", "b64url_encode", "b64url_decode"):
        record(workspace, specs[name], "Correct", hints=1, solution_seen=False)
    subprocess.run(["make", "-s", "-o", ".venv/.installed", "reset", "NB=01", f"WORKSPACE={workspace}"],
                   cwd=ROOT, capture_output=True, text=True, check=True)
    assert set(recorded(workspace)) == {"is_expired"}, "notebook 00's progress stays"
    out = subprocess.run(["make", "-s", "-o", ".venv/.installed", "progress", f"WORKSPACE={workspace}"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout.splitlines()
    first_of_01 = next(n for n, line in enumerate(out) if line.startswith("01 "))
    in_00 = sum(spec.notebook == "00" for spec in catalog().values())
    assert out[0].endswith(f"1 of {in_00} done, {in_00 - 1} left") and " 0 of " in out[first_of_01]
    assert not any("Correct" in line for line in out[first_of_01:]), "a fresh copy has nothing solved"
