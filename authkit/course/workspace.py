"""The learner's workspace, ``my-course/``: their copies of the notebooks, never overwritten once they are theirs."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from authkit.course.notebooks import NOTEBOOK_DIR, course_notebooks
from authkit.course.progress import forget
from authkit.course.state import COPIES_FILE, WORKSPACE_DIR, read_json, state_dir, write_json
from authkit.course.student import student_notebook

BACKUP_DIR = "backups"

ADDED, UPDATED, KEPT, CURRENT = "added", "updated", "kept", "current"


class UnknownNotebook(ValueError):
    """A notebook name or number that is not part of the course."""


def fingerprint(notebook: nbformat.NotebookNode) -> str:
    """A digest of what a person can change in a notebook: each cell's type and text (not outputs or metadata)."""
    cells = [[cell.cell_type, cell.source] for cell in notebook.cells]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def _fingerprint_of_file(path: Path) -> str | None:
    try:
        return fingerprint(nbformat.read(path, as_version=4))
    except (OSError, ValueError, KeyError):  # unreadable or not a notebook: treat it as the learner's own
        return None


@dataclass(frozen=True)
class Copy:
    """What ``sync`` did with one notebook of the course."""

    name: str
    action: str  # ADDED, UPDATED (the learner had not changed it), KEPT (the learner's work, a newer course), CURRENT


def sync(workspace: Path = WORKSPACE_DIR, course: Path = NOTEBOOK_DIR) -> list[Copy]:
    """Bring ``workspace`` up to date with ``course`` without ever overwriting a notebook the learner changed."""
    copies_path = state_dir(workspace) / COPIES_FILE
    started_from = read_json(copies_path)
    report = []
    for source in course_notebooks(course):
        fresh = student_notebook(nbformat.read(source, as_version=4))
        new, base = fingerprint(fresh), started_from.get(source.name)
        target = workspace / source.name
        if not target.exists():
            action = ADDED
        else:
            mine = _fingerprint_of_file(target)
            if mine == new:
                action = CURRENT
            elif mine is not None and mine == base:
                action = UPDATED  # the learner never changed it: they expect the course's new version
            else:
                action = CURRENT if base == new else KEPT  # the learner's work: announce a newer course version
        if action in (ADDED, UPDATED):
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(fresh, target)
        if action != KEPT:
            started_from[source.name] = new
        report.append(Copy(source.name, action))
    write_json(copies_path, started_from)
    return report


def find_notebook(name: str, course: Path = NOTEBOOK_DIR) -> Path:
    """The course notebook called ``name``: its number (``3``, ``03``) or its file name, with or without ``.ipynb``."""
    wanted = Path(name).name.removesuffix(".ipynb")
    notebooks = course_notebooks(course)
    for path in notebooks:
        if wanted in (path.stem, path.name[:2]) or (wanted.isdigit() and int(wanted) == int(path.name[:2])):
            return path
    known = ", ".join(p.stem for p in notebooks)
    raise UnknownNotebook(f"no course notebook {name!r}; choose one of: {known}")


def reset(name: str, workspace: Path = WORKSPACE_DIR, course: Path = NOTEBOOK_DIR) -> tuple[Path, Path | None]:
    """Replace the learner's copy of one notebook by the course's current one and clear its progress (a fresh
    copy has nothing solved); return the copy and the backup made."""
    source = find_notebook(name, course)
    fresh = student_notebook(nbformat.read(source, as_version=4))
    target = workspace / source.name
    backup = None
    if target.exists() and _fingerprint_of_file(target) != fingerprint(fresh):
        backup = workspace / BACKUP_DIR / f"{source.stem}.{time.strftime('%Y%m%d-%H%M%S')}.ipynb"
        backup.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(fresh, target)
    copies_path = state_dir(workspace) / COPIES_FILE
    write_json(copies_path, {**read_json(copies_path), source.name: fingerprint(fresh)})
    forget(workspace, source.name[:2])
    return target, backup


def describe(report: list[Copy], workspace: Path) -> str:
    """What ``make lab`` tells the learner about their workspace before JupyterLab starts."""
    shown = _shown(workspace)
    lines = [f"Your workspace is {shown}/: your copies of the notebooks (exercises to solve, no solutions)."]
    for copy in report:
        if copy.action == ADDED:
            lines.append(f"  added    {copy.name}")
        elif copy.action == UPDATED:
            lines.append(f"  updated  {copy.name} (a newer version from the course; you had not changed your copy)")
        elif copy.action == KEPT:
            lines.append(f"  kept     {copy.name}: the course has a newer version, and your copy has your work in it.")
            lines.append(f"           To take the new one (yours is moved to {shown}/{BACKUP_DIR}/ first): "
                         f"make reset NB={copy.name[:2]}")
    if not any(copy.action != CURRENT for copy in report):
        lines.append("  every notebook is up to date with the course")
    return "\n".join(lines)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
