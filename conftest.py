"""Root pytest set-up: deterministic notebook kernels, and each notebook's learner copy run beside its nbval cells."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from authkit.course.notebooks import KERNEL_MANAGER_CONFIG, NOTEBOOK_DIR, deterministic_environment

os.environ.update(deterministic_environment())


def pytest_configure(config: pytest.Config) -> None:
    """nbval's kernels talk over CurveZMQ-encrypted TCP too, as in the lab and ``execute`` (nbval offers no setting)."""
    if config.getoption("nbval", default=False):
        from functools import partial

        import nbval.kernel
        from jupyter_client.manager import KernelManager

        nbval.kernel.KernelManager = partial(KernelManager, **KERNEL_MANAGER_CONFIG)


class LearnerCopy(pytest.Item):
    """The notebook's learner copy (solutions stubbed, outputs cleared) runs top to bottom; every check says Not attempted."""

    def runtest(self) -> None:
        from tests.test_notebooks import assert_learner_copy_runs

        with tempfile.TemporaryDirectory(prefix="authkit-learner-copy-") as folder:
            assert_learner_copy_runs(self.path, Path(folder))

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, f"{self.path.name}: {self.name}"


class PastedSolutions(pytest.Item):
    """The learner copy with each exercise's ``solution()`` pasted over its stub: every check says Correct."""

    def runtest(self) -> None:
        from tests.test_notebooks import assert_pasted_solutions_pass

        with tempfile.TemporaryDirectory(prefix="authkit-pasted-solutions-") as folder:
            assert_pasted_solutions_pass(self.path, Path(folder))

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, f"{self.path.name}: {self.name}"


class CourseNotebook(pytest.File):
    """A course notebook's own tests, collected under its path so that ``--dist loadfile`` runs them on the
    worker that runs its nbval cells: the notebooks spread over the workers instead of queueing in one file."""

    def collect(self) -> Iterator[pytest.Item]:
        yield LearnerCopy.from_parent(self, name="learner copy runs top to bottom")
        yield PastedSolutions.from_parent(self, name="learner copy with every solution() pasted says Correct")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CourseNotebook | None:
    if file_path.suffix == ".ipynb" and file_path.parent == NOTEBOOK_DIR and file_path.name[:2].isdigit():
        return CourseNotebook.from_parent(parent, path=file_path)
    return None


#: The files that take longest (about 20–50 s each on two cores), started first: with ``--dist loadfile`` a
#: long file begun last keeps one worker busy while the others have nothing left to do.
LONGEST_FIRST = (
    "tests/test_lab_browser.py",
    "notebooks/07_revocation_windows_and_sliding_expiration.ipynb",
    "notebooks/06_the_browser_lab.ipynb",
    "tests/test_durability.py",
    "tests/test_measure.py",
    "tests/test_deploy.py",
    "tests/test_cookie_app.py",
    "tests/test_browser_lab.py",
    "tests/test_site.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first; every file keeps its own order (a notebook's cells run in sequence)."""
    root = Path(str(config.rootpath))
    rank = {root / name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.path)), len(rank)))
