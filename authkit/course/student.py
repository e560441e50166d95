"""Learner copies: solution regions replaced, outputs cleared (nbgrader's markers, no nbgrader)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CODE_STUB = "raise NotImplementedError()"
PROSE_STUB = "YOUR ANSWER HERE"
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>### (?:BEGIN|END) SOLUTION)[ \t]*$")


class UnbalancedSolution(ValueError):
    """A BEGIN SOLUTION without its END (or the reverse): refuse rather than leak an answer."""


def strip_solutions(source: str, *, code: bool = True) -> str:
    """Replace every solution region in one cell's ``source`` by the stub."""
    out: list[str] = []
    inside: str | None = None
    for number, line in enumerate(source.splitlines(), start=1):
        match = _MARKER.match(line)
        if match and match["marker"] == BEGIN:
            if inside is not None:
                raise UnbalancedSolution(f"line {number}: {BEGIN} inside another solution")
            inside = match["indent"]
            out.append(inside + (CODE_STUB if code else PROSE_STUB))
        elif match and match["marker"] == END:
            if inside is None:
                raise UnbalancedSolution(f"line {number}: {END} without {BEGIN}")
            inside = None
        elif inside is None:
            out.append(line)
    if inside is not None:
        raise UnbalancedSolution(f"{BEGIN} is never closed")
    return "\n".join(out)


def student_notebook(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with solutions stubbed and every output cleared."""
    copy = nbformat.from_dict(notebook)
    for cell in copy.cells:
        if cell.cell_type in ("code", "markdown"):
            cell.source = strip_solutions(cell.source, code=cell.cell_type == "code")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return copy


def write_student_copies(paths: Iterable[Path], out_dir: Path) -> list[Path]:
    """Write one learner copy per notebook into ``out_dir``; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        target = out_dir / path.name
        nbformat.write(student_notebook(nbformat.read(path, as_version=4)), target)
        written.append(target)
    return written
