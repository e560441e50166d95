"""Run the course notebooks the same way every time: fixed hash seed, headless plots, embedded Redis."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import nbformat

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
TIMEOUT_SECONDS = 600

#: What every kernel sees, in the lab, in nbval and here (see ``deterministic_environment``).
DETERMINISTIC_ENV = {"PYTHONHASHSEED": "0", "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
#: Kernels talk over CurveZMQ-encrypted TCP (the kernel spec declares it), not plain text: no eavesdropping, and
#: no "running over TCP without encryption" warning (in execute and nbval; the lab's server cannot yet use it).
KERNEL_MANAGER_CONFIG = {"transport_encryption": "auto"}


def deterministic_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """``environ`` with the seed and backend fixed and any real-Redis URL removed."""
    env = dict(os.environ if environ is None else environ)
    env.update(DETERMINISTIC_ENV)
    env.pop("AUTHKIT_REDIS_URL", None)
    return env


def course_notebooks(folder: Path = NOTEBOOK_DIR) -> list[Path]:
    """The course notebooks in syllabus order (``00_…`` to ``08_…``)."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def execute(path: Path, *, output: Path | None = None, cwd: Path | None = None) -> nbformat.NotebookNode:
    """Execute ``path`` top to bottom in a fresh kernel; write the result to ``output`` if given."""
    import nbformat  # imported here: jsonschema's format checkers make it cost seconds, and few callers need it
    from nbclient import NotebookClient
    from traitlets.config import Config

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # drop the wall-clock stamps an earlier run may have left
        cell.metadata.pop("execution", None)
    previous = dict(os.environ)
    os.environ.clear()
    os.environ.update(deterministic_environment(previous))
    try:
        NotebookClient(
            notebook,
            timeout=TIMEOUT_SECONDS,
            kernel_name="python3",
            record_timing=False,  # wall-clock stamps in every cell would change the files on each run
            config=Config(KernelManager=KERNEL_MANAGER_CONFIG),
            resources={"metadata": {"path": str(cwd or path.parent)}},
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(previous)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, output)
    return notebook


def execute_in_place(paths: Iterable[Path]) -> None:
    """Re-run notebooks and save them with their fresh outputs (what gets committed)."""
    from tqdm import tqdm

    paths = list(paths)
    for path in tqdm(paths, desc="executing notebooks", unit="nb"):
        execute(path, output=path)
