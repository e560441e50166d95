"""The course notebooks: structure, instructor checks all Correct; learner copies run and say Not attempted
(each one collected beside its notebook by the root conftest.py: ``notebooks/NN_….ipynb::learner copy …``)."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest

from authkit.course.answers import solution_source
from authkit.course.catalog import catalog
from authkit.course.exercise import Exercise
from authkit.course.progress import CORRECT, NOT_ATTEMPTED
from authkit.course.notebooks import NOTEBOOK_DIR, course_notebooks, execute
from authkit.course.student import BEGIN, CODE_STUB, student_notebook

NOTEBOOKS = course_notebooks()
DECLARATION = re.compile(r"""\bexercise\(\s*["'](?P<name>\w+)["']\s*\)""")
CHECK_CALL = re.compile(r"^\s*\w+\.check\(\)\s*$", re.MULTILINE)
LINK = re.compile(r"\]\((?P<target>[^)#\s]+\.ipynb)(?:#[^)]*)?\)")


def load(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def check_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    """The first line printed by every cell that calls ``<exercise>.check()``."""
    lines = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            lines.append(text.splitlines()[0] if text else "")
    return lines


def declared_exercises(notebook: nbformat.NotebookNode) -> list[str]:
    return [m["name"] for c in notebook.cells if c.cell_type == "code" for m in DECLARATION.finditer(c.source)]


def test_the_syllabus_is_in_place() -> None:
    assert [p.name[:2] for p in NOTEBOOKS][:1] == ["00"]
    assert len(NOTEBOOKS) == len({p.name[:2] for p in NOTEBOOKS}), "one notebook per number"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_with_outputs_from_one_top_to_bottom_run(path: Path) -> None:
    cells = [c for c in load(path).cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in cells]
    assert None not in counts, "every code cell is saved executed"
    assert counts == list(range(1, len(cells) + 1)), "executed once, in order, in a fresh kernel"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_navigation_and_interview_questions(path: Path) -> None:
    notebook = load(path)
    first, last = notebook.cells[0].source, notebook.cells[-1].source
    assert "[Contents](00_start_here.ipynb)" in first or path.name.startswith("00"), "nav line at the top"
    assert LINK.search(last), "nav line at the bottom"
    for cell in notebook.cells:
        for match in LINK.finditer(cell.source if cell.cell_type == "markdown" else ""):
            assert (NOTEBOOK_DIR / match["target"]).exists(), f"broken link to {match['target']}"
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "## Interview questions" in prose
    minimum = 3 if path.name.startswith("00") else 6
    assert prose.count("<details>") >= minimum, f"at least {minimum} interview questions with model answers"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_instructor_checks_all_say_correct(path: Path) -> None:
    notebook = load(path)
    outputs = check_outputs(notebook)
    assert len(outputs) >= len(declared_exercises(notebook)) >= 1
    assert [line.split(":")[0] for line in outputs] == [CORRECT] * len(outputs), outputs


def test_every_exercise_is_declared_in_exactly_one_notebook() -> None:
    declared = [name for path in NOTEBOOKS for name in declared_exercises(load(path))]
    assert sorted(declared) == sorted(catalog()), "catalog and notebooks agree"


def assert_learner_copy_runs(path: Path, folder: Path) -> None:
    """Run in ``folder`` the learner copy of ``path``; collected beside the notebook by the root conftest.py."""
    copy = student_notebook(load(path))
    assert BEGIN not in "".join(c.source for c in copy.cells), "no solution leaks into the learner copy"
    student = folder / path.name
    nbformat.write(copy, student)
    executed = execute(student, cwd=NOTEBOOK_DIR)  # raises CellExecutionError on any failing cell
    outputs = check_outputs(executed)
    assert outputs and [line.split(":")[0] for line in outputs] == [NOT_ATTEMPTED] * len(outputs), outputs


def printed_solution(name: str) -> str:
    """What ``solution()`` prints for exercise ``name`` in a fresh kernel, as the learner would copy it."""
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        Exercise(catalog()[name], {}).solution()
    return shown.getvalue().removesuffix("\n")


def paste(cell_source: str, answer: str) -> str:
    """Replace the stub line of a learner cell by ``answer``, as a learner selects that line and pastes."""
    lines = cell_source.splitlines()
    [stub] = [n for n, line in enumerate(lines) if line.strip() == CODE_STUB]
    return "\n".join(lines[:stub] + [answer] + lines[stub + 1:])


def assert_pasted_solutions_pass(path: Path, folder: Path) -> None:
    """In the learner copy of ``path``, paste each exercise's ``solution()`` over its stub: every check says Correct.

    Collected beside the notebook by the root conftest.py; the copy runs up to its last ``check()`` cell."""
    reference = load(path)
    copy = student_notebook(reference)
    names = declared_exercises(reference)
    assert sorted(names) == sorted(n for n, s in catalog().items() if s.notebook == path.name[:2]) != []
    code = [n for n, c in enumerate(reference.cells) if c.cell_type == "code"]
    for name in names:
        source = solution_source([reference.cells[n].source for n in code], name)
        [cell] = [n for n in code if reference.cells[n].source == source]
        copy.cells[cell].source = paste(copy.cells[cell].source, printed_solution(name))
    stubs = [line for c in copy.cells if c.cell_type == "code" for line in c.source.splitlines()
             if line.strip() == CODE_STUB]
    assert stubs == [] and BEGIN not in "".join(c.source for c in copy.cells), "every stub is answered"
    last_check = max(n for n, c in enumerate(copy.cells) if c.cell_type == "code" and CHECK_CALL.search(c.source))
    copy.cells = copy.cells[:last_check + 1]
    pasted = folder / path.name
    nbformat.write(copy, pasted)
    outputs = check_outputs(execute(pasted, cwd=NOTEBOOK_DIR))
    assert len(outputs) >= len(names) and [line.split(":")[0] for line in outputs] == [CORRECT] * len(outputs), outputs


def hint_calls(source: str) -> list[str]:
    """The ``hint()`` and ``<exercise>.hint()`` calls a code cell makes (IPython magics and shell lines skipped)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    return [ast.unparse(node) for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)
            and (getattr(node.func, "id", None) == "hint" or getattr(node.func, "attr", None) == "hint")]


def test_a_hint_is_shown_only_when_the_learner_asks() -> None:
    assert hint_calls("ex.check()\n# ex.hint()\nprint('call ex.hint()')") == []
    assert hint_calls("%time ex.hint()\nex.hint()\nhint()") == ["ex.hint()", "hint()"]
    pre_written = {f"{path.name} cell {n}": hint_calls(cell.source) for path in NOTEBOOKS
                   for n, cell in enumerate(load(path).cells) if cell.cell_type == "code" and hint_calls(cell.source)}
    assert pre_written == {}, "hint() is for the learner to call, in prose only"
