"""authkit.course.workspace: my-course/ holds the learner's copies; their work is never overwritten."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from authkit.course.notebooks import NOTEBOOK_DIR, ROOT, course_notebooks
from authkit.course.student import CODE_STUB, student_notebook
from authkit.course.state import is_workspace
from authkit.course.workspace import (
    ADDED,
    BACKUP_DIR,
    CURRENT,
    KEPT,
    UPDATED,
    UnknownNotebook,
    describe,
    find_notebook,
    reset,
    sync,
)

SOLVED = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"


def write_course_notebook(folder: Path, name: str, prose: str = "# A notebook") -> Path:
    cell = nbformat.v4.new_code_cell(SOLVED, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "4"}, execution_count=1)]
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(prose), cell]), path)
    return path


def learner_edits(path: Path, answer: str = "def double(x):\n    return x + x") -> None:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source = answer
    nbformat.write(notebook, path)


def actions(report) -> dict[str, str]:
    return {copy.name: copy.action for copy in report}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    write_course_notebook(folder, "00_start.ipynb")
    write_course_notebook(folder, "01_next.ipynb")
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "my-course"


def test_the_first_run_writes_exactly_the_learner_copies(course: Path, workspace: Path) -> None:
    assert actions(sync(workspace, course)) == {"00_start.ipynb": ADDED, "01_next.ipynb": ADDED}
    for path in course_notebooks(course):
        expected = student_notebook(nbformat.read(path, as_version=4))
        assert nbformat.read(workspace / path.name, as_version=4) == expected
    assert is_workspace(workspace) and not is_workspace(course)


def test_the_real_course_gives_notebook_00_with_the_exercise_to_solve(workspace: Path) -> None:
    sync(workspace, NOTEBOOK_DIR)
    notebook = nbformat.read(workspace / "00_start_here.ipynb", as_version=4)
    answer = next(c.source for c in notebook.cells if c.source.startswith("def is_expired"))
    assert answer.splitlines()[1].strip() == CODE_STUB
    assert all(not c.get("outputs") for c in notebook.cells), "outputs cleared"
    assert sorted(p.name for p in workspace.glob("*.ipynb")) == [p.name for p in course_notebooks()]


def test_the_learners_edit_survives_a_second_run(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    learner_edits(workspace / "00_start.ipynb")
    assert actions(sync(workspace, course))["00_start.ipynb"] == CURRENT
    assert "return x + x" in (workspace / "00_start.ipynb").read_text()


def test_an_untouched_copy_takes_the_courses_new_version(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    write_course_notebook(course, "00_start.ipynb", prose="# A better notebook")
    assert actions(sync(workspace, course))["00_start.ipynb"] == UPDATED
    assert "A better notebook" in (workspace / "00_start.ipynb").read_text()


def test_outputs_the_learner_ran_do_not_make_a_copy_theirs(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    ran = nbformat.read(workspace / "00_start.ipynb", as_version=4)
    ran.cells[1].outputs = [nbformat.v4.new_output("stream", text="NotImplementedError\n")]
    ran.cells[1].execution_count = 1
    ran.metadata["language_info"] = {"name": "python", "version": "3.12.1"}  # what JupyterLab adds on save
    nbformat.write(ran, workspace / "00_start.ipynb")
    write_course_notebook(course, "00_start.ipynb", prose="# A better notebook")
    assert actions(sync(workspace, course))["00_start.ipynb"] == UPDATED


def test_a_changed_copy_is_kept_and_the_new_version_announced(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    learner_edits(workspace / "01_next.ipynb")
    write_course_notebook(course, "01_next.ipynb", prose="# A better notebook")
    report = sync(workspace, course)
    assert actions(report) == {"00_start.ipynb": CURRENT, "01_next.ipynb": KEPT}
    assert "return x + x" in (workspace / "01_next.ipynb").read_text()
    message = describe(report, workspace)
    assert "kept     01_next.ipynb" in message and "make reset NB=01" in message
    assert actions(sync(workspace, course))["01_next.ipynb"] == KEPT, "announced again until the learner decides"


def test_a_new_course_notebook_is_added_and_a_deleted_copy_restored(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    write_course_notebook(course, "02_later.ipynb")
    (workspace / "00_start.ipynb").unlink()
    assert actions(sync(workspace, course)) == {
        "00_start.ipynb": ADDED, "01_next.ipynb": CURRENT, "02_later.ipynb": ADDED,
    }
    assert (workspace / "02_later.ipynb").exists() and (workspace / "00_start.ipynb").exists()


def test_without_its_record_the_workspace_still_never_overwrites(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    learner_edits(workspace / "00_start.ipynb")
    (workspace / ".authkit" / "copies.json").unlink()
    assert actions(sync(workspace, course))["00_start.ipynb"] == KEPT
    assert "return x + x" in (workspace / "00_start.ipynb").read_text()


def test_a_copy_that_is_not_a_notebook_any_more_is_left_alone(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    (workspace / "00_start.ipynb").write_text("{ half a save")
    write_course_notebook(course, "00_start.ipynb", prose="# A better notebook")
    assert actions(sync(workspace, course))["00_start.ipynb"] == KEPT
    assert (workspace / "00_start.ipynb").read_text() == "{ half a save"


def test_reset_takes_the_new_version_and_keeps_the_learners_copy(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    learner_edits(workspace / "01_next.ipynb")
    write_course_notebook(course, "01_next.ipynb", prose="# A better notebook")
    target, backup = reset("01", workspace, course)
    assert target == workspace / "01_next.ipynb" and "A better notebook" in target.read_text()
    assert backup is not None and backup.parent == workspace / BACKUP_DIR and backup.name.startswith("01_next.")
    assert "return x + x" in backup.read_text()
    assert actions(sync(workspace, course))["01_next.ipynb"] == CURRENT, "no longer announced"


def test_reset_of_an_untouched_copy_needs_no_backup(course: Path, workspace: Path) -> None:
    sync(workspace, course)
    assert reset("0", workspace, course) == (workspace / "00_start.ipynb", None)
    assert not (workspace / BACKUP_DIR).exists()


@pytest.mark.parametrize("name", ["01", "1", "01_next", "01_next.ipynb", "my-course/01_next.ipynb"])
def test_a_notebook_is_named_by_number_or_file_name(course: Path, name: str) -> None:
    assert find_notebook(name, course) == course / "01_next.ipynb"


def test_an_unknown_notebook_lists_the_choices(course: Path, workspace: Path) -> None:
    with pytest.raises(UnknownNotebook, match="choose one of: 00_start, 01_next"):
        reset("09", workspace, course)


def test_the_workspace_is_ignored_by_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "my-course/00_start_here.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0


def test_make_lab_serves_the_workspace_and_never_the_reference_notebooks() -> None:
    dry_run = subprocess.run(["make", "-n", "-o", ".venv/.installed", "lab"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    assert f"--ServerApp.root_dir={ROOT / 'my-course'}" in dry_run
    assert "--LabApp.default_url=/lab/tree/00_start_here.ipynb" in dry_run
    assert f"workspace --workspace {ROOT / 'my-course'} --course {NOTEBOOK_DIR}" in dry_run
