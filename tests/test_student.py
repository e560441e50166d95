"""authkit.course.student: solution regions stubbed the nbgrader way, outputs cleared, fail closed."""

from __future__ import annotations

import nbformat
import pytest

from authkit.course.student import UnbalancedSolution, strip_solutions, student_notebook

INSTRUCTOR = '''def f(x):
    """Double x."""
    ### BEGIN SOLUTION
    y = x * 2
    return y
    ### END SOLUTION

print(f)'''


def test_code_region_becomes_an_indented_stub() -> None:
    assert strip_solutions(INSTRUCTOR) == (
        'def f(x):\n    """Double x."""\n    raise NotImplementedError()\n\nprint(f)'
    )


def test_prose_region_becomes_a_placeholder() -> None:
    assert strip_solutions("Answer:\n### BEGIN SOLUTION\nsecret\n### END SOLUTION", code=False) == (
        "Answer:\nYOUR ANSWER HERE"
    )


def test_text_without_markers_is_unchanged() -> None:
    assert strip_solutions("x = 1\n# BEGIN SOLUTION is only a comment here") == (
        "x = 1\n# BEGIN SOLUTION is only a comment here"
    )


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx", "never closed"),
        ("x\n### END SOLUTION", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another"),
    ],
)
def test_unbalanced_markers_refuse_rather_than_leak(source: str, message: str) -> None:
    with pytest.raises(UnbalancedSolution, match=message):
        strip_solutions(source)


def test_student_notebook_clears_outputs_and_keeps_the_original() -> None:
    cell = nbformat.v4.new_code_cell(INSTRUCTOR, execution_count=3)
    cell.outputs = [nbformat.v4.new_output("stream", text="<function f>\n")]
    original = nbformat.v4.new_notebook(cells=[cell])
    copy = student_notebook(original)
    assert copy.cells[0].outputs == [] and copy.cells[0].execution_count is None
    assert "raise NotImplementedError()" in copy.cells[0].source
    assert original.cells[0].execution_count == 3 and "y = x * 2" in original.cells[0].source
