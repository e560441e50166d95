"""Root pytest set-up: deterministic notebook kernels, and each notebook's learner copy run beside its nbval cells."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from authkit.course.notebooks import NOTEBOOK_DIR, deterministic_environment

os.environ.update(deterministic_environment())


class LearnerCopy(pytest.Item):
    """The notebook's learner copy (solutions stubbed, outputs cleared) runs top to bottom; every check says Not attempted."""

    def runtest(self) -> None:
        from tests.test_notebooks import assert_learner_copy_runs

        with tempfile.TemporaryDirectory(prefix="authkit-learner-copy-") as folder:
            assert_learner_copy_runs(self.path, Path(folder))

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, f"{self.path.name}: {self.name}"


class CourseNotebook(pytest.File):
    """A course notebook's own tests, collected under its path so that ``--dist loadfile`` runs them on the
    worker that runs its nbval cells: the notebooks spread over the workers instead of queueing in one file."""

    def collect(self) -> Iterator[LearnerCopy]:
        yield LearnerCopy.from_parent(self, name="learner copy runs top to bottom")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> CourseNotebook | None:
    if file_path.suffix == ".ipynb" and file_path.parent == NOTEBOOK_DIR and file_path.name[:2].isdigit():
        return CourseNotebook.from_parent(parent, path=file_path)
    return None
