"""The learner's workspace state: where it is, and its small JSON files (copies, progress, drill boxes).

Kept apart from ``workspace``, which writes notebooks: a ``check()`` in a kernel records its result through
this module without loading any notebook tooling.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from authkit.course.notebooks import ROOT

WORKSPACE_DIR = ROOT / "my-course"
#: The workspace's own files (hidden in JupyterLab): which course version each copy started from, progress, drill.
STATE_DIR = ".authkit"
COPIES_FILE = "copies.json"


def state_dir(workspace: Path) -> Path:
    """Where the workspace keeps its own small files."""
    return workspace / STATE_DIR


def is_workspace(folder: Path) -> bool:
    """True if ``folder`` was prepared by ``sync`` (checks record progress only there)."""
    return (state_dir(folder) / COPIES_FILE).is_file()


def write_json(path: Path, data: object) -> None:
    """Replace ``path`` with ``data`` in one step, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path) -> dict:
    """The JSON object in ``path``; an empty one if the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
