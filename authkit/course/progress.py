"""Progress, kept in the workspace: each ``check()`` run there records its verdict; ``make progress`` prints it."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from authkit.course.notebooks import NOTEBOOK_DIR, course_notebooks
from authkit.course.state import WORKSPACE_DIR, is_workspace, read_json, state_dir, write_json

PROGRESS_FILE = "progress.json"
#: The three verdicts a ``check()`` gives and the workspace records.
CORRECT, INCORRECT, NOT_ATTEMPTED = "Correct", "Incorrect", "Not attempted"


class Spec(Protocol):
    """What progress needs to know of an exercise: its name and the notebook that teaches it."""

    @property
    def name(self) -> str: ...

    @property
    def notebook(self) -> str | None: ...


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path``: two kernels checking at once must not lose a record."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: one kernel at a time is the norm there
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def record(workspace: Path, spec: Spec, status: str, *, hints: int, solution_seen: bool) -> None:
    """Store the verdict of one ``check()`` of exercise ``spec``; hints and the solution, once used, stay counted."""
    path = state_dir(workspace) / PROGRESS_FILE
    with _locked(path):
        progress = read_json(path)
        previous = progress.get(spec.name, {})
        progress[spec.name] = {
            "notebook": spec.notebook,
            "result": status,
            "checks": previous.get("checks", 0) + 1,
            "hints": max(hints, previous.get("hints", 0)),
            "solution_seen": solution_seen or previous.get("solution_seen", False),
        }
        write_json(path, progress)


def forget(workspace: Path, notebook: str) -> list[str]:
    """Clear the recorded progress of one notebook's exercises (``"03"``); return the names cleared."""
    path = state_dir(workspace) / PROGRESS_FILE
    with _locked(path):
        progress = read_json(path)
        cleared = sorted(name for name, entry in progress.items() if entry.get("notebook") == notebook)
        if cleared:
            write_json(path, {name: entry for name, entry in progress.items() if name not in cleared})
    return cleared


def record_here(spec: Spec, status: str, *, hints: int, solution_seen: bool) -> None:
    """Record a check run in a workspace (the kernel's working directory); anywhere else, write nothing."""
    try:
        here = Path.cwd()
        if is_workspace(here):  # not under nbval, make test or make course: the reference notebooks stay untouched
            record(here, spec, status, hints=hints, solution_seen=solution_seen)
    except OSError as exc:  # a full disk or a deleted folder must not turn a check into a crash
        print(f"(progress not saved: {exc})", file=sys.stderr)


def table(specs: Iterable[Spec], workspace: Path = WORKSPACE_DIR, course: Path = NOTEBOOK_DIR) -> str:
    """Per notebook: exercises ``specs`` done and left, the last result of each, as ``make progress`` prints it."""
    progress = read_json(state_dir(workspace) / PROGRESS_FILE)
    titles = {path.name[:2]: path.stem[3:].replace("_", " ") for path in course_notebooks(course)}
    by_notebook: dict[str, list[Spec]] = {}
    for spec in specs:
        by_notebook.setdefault(spec.notebook or "??", []).append(spec)
    lines, done_total, total = [], 0, 0
    for number in sorted(by_notebook):
        specs = by_notebook[number]
        done = sum(progress.get(s.name, {}).get("result") == CORRECT for s in specs)
        done_total, total = done_total + done, total + len(specs)
        heading = f"{number} {titles.get(number, '')}"
        lines.append(f"{heading:<48} {done} of {len(specs)} done, {len(specs) - done} left")
        for spec in specs:
            entry = progress.get(spec.name, {})
            notes = []
            if entry.get("hints"):
                notes.append(f"{entry['hints']} hint{'s' if entry['hints'] > 1 else ''}")
            if entry.get("solution_seen"):
                notes.append("solution seen")
            lines.append(f"   {spec.name:<26} {entry.get('result', NOT_ATTEMPTED):<14} {', '.join(notes)}".rstrip())
    lines.append(f"\n{done_total} of {total} exercises done, {total - done_total} left.")
    if not progress:
        lines.append("Nothing recorded yet: run an exercise's check() in JupyterLab (make lab).")
    return "\n".join(lines)
