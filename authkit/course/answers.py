"""The model answers: the code between an exercise's solution markers, in the course notebook that declares it.

Read from the reference notebooks (``notebooks/``) when ``solution()`` is called: the learner's copy in
``my-course/`` has its solutions stubbed, and a kernel run anywhere else (nbval, a temporary folder) finds the
reference notebooks through the installed package just the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from authkit.course.notebooks import NOTEBOOK_DIR, course_notebooks

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_MARKER = re.compile(r"^[ \t]*(?P<marker>### (?:BEGIN|END) SOLUTION)[ \t]*$")


def _code_cells(path: Path) -> list[str]:
    """The source of every code cell of a notebook, read as plain JSON (no schema check: this runs in a kernel)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in cells
            if c["cell_type"] == "code"]


def solution_region(source: str) -> str | None:
    """The lines between the first BEGIN and END SOLUTION markers of a cell, verbatim (indentation kept)."""
    lines, inside = [], False
    for line in source.splitlines():
        match = _MARKER.match(line)
        if match and match["marker"] == BEGIN:
            inside = True
        elif match and inside:
            return "\n".join(lines)
        elif inside:
            lines.append(line)
    return None


def solution_source(sources: list[str], name: str) -> str | None:
    """The cell of ``sources`` that holds the answer to exercise ``name``: the one with solution markers that
    defines ``name``, else the first one with markers from the cell that declares ``exercise("name")`` on."""
    defines = re.compile(rf"^(?:def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*(?::[^=]*)?=", re.M)
    with_markers = [(n, s) for n, s in enumerate(sources) if solution_region(s) is not None]
    for _, source in with_markers:
        if defines.search(source):
            return source
    declared = re.compile(rf"""\bexercise\(\s*["']{re.escape(name)}["']\s*\)""")
    start = next((n for n, s in enumerate(sources) if declared.search(s)), None)
    if start is None:
        return None
    return next((s for n, s in with_markers if n >= start), None)


def notebook_of(number: str, course: Path = NOTEBOOK_DIR) -> Path | None:
    """The course notebook numbered ``number`` ("04"), if the course is here."""
    return next((p for p in course_notebooks(course) if p.name[:2] == number), None)


def model_answer(name: str, number: str | None, course: Path = NOTEBOOK_DIR) -> str | None:
    """The code between the solution markers of exercise ``name`` in notebook ``number``; None if not found."""
    path = notebook_of(number, course) if number else None
    if path is None:
        return None
    try:
        source = solution_source(_code_cells(path), name)
    except (OSError, ValueError, KeyError):
        return None
    return None if source is None else solution_region(source)
