"""``make lab`` as a new learner meets it, through a real browser: solve notebook 00, close, reopen, work kept.

The lab runs in a fresh ``git clone`` of this repository. To save a reinstall, the clone borrows this
checkout's virtual environment (``make lab VENV=…`` with ``-o`` so make never reinstalls into it) and puts
its own source first on ``PYTHONPATH``, so the server and the kernel import the clone's ``authkit``.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests
from playwright.sync_api import expect

from authkit.course.notebooks import ROOT
from authkit.state.redis import free_port

VENV = ROOT / ".venv"
URL = re.compile(r"http://127\.0\.0\.1:\d+/lab/tree/00_start_here\.ipynb\?token=\w+")
ANSWER = "def is_expired(exp: int, now: int) -> bool:\n    return now >= exp"
CORRECT = "Correct: is_expired passes every case"
# The browser: pytest-playwright's ``page``, launched with tests/conftest.py's ``browser_type_launch_args``.


def run(clone: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """A command in the clone, with the borrowed environment; fails loudly."""
    return subprocess.run(args, cwd=clone, env=clone_env(clone), capture_output=True, text=True, check=True,
                          timeout=300, **kwargs)


def clone_env(clone: Path) -> dict[str, str]:
    """The clone's source first on the path; Jupyter's own state in the clone's temporary home, not the user's."""
    home = clone.parent / "jupyter-home"
    return {
        **os.environ,
        "PYTHONPATH": str(clone),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }


def make(*targets: str) -> list[str]:
    return ["make", "-o", str(VENV / ".installed"), *targets, f"VENV={VENV}"]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this repository, as a new learner gets it."""
    if not (VENV / "bin" / "jupyter").exists():
        pytest.skip("no .venv with JupyterLab in this checkout (make .venv/.installed)")
    target = tmp_path_factory.mktemp("learner") / "authkit"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    return target


class Lab:
    """One ``make lab`` in the clone, until it is closed."""

    def __init__(self, clone: Path) -> None:
        self.clone, self.lines = clone, queue.Queue()
        self.output: list[str] = []
        started = time.monotonic()
        env = {**clone_env(clone), "JUPYTER_PORT": str(free_port())}
        self.process = subprocess.Popen(make("lab", "LAB_OPTIONS=--ServerApp.open_browser=False"), cwd=clone,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        self.url = self._wait_for_url(timeout=180)
        self._wait_until_it_answers(timeout=60)
        self.seconds_to_url = time.monotonic() - started

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def _wait_for_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if match := URL.search(line):
                return match[0]
        self.close()
        pytest.fail("make lab printed no URL:\n" + "".join(self.output), pytrace=False)

    def _wait_until_it_answers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url, timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.close()
        pytest.fail(f"{self.url} does not answer:\n" + "".join(self.output), pytrace=False)

    def close(self) -> None:
        """What Ctrl-C in the terminal does: JupyterLab shuts its kernels down and exits.

        A machine busy enough to keep it shutting down for a minute gets it killed, as a learner closing
        the terminal would: the work is on disk already, which is what the next ``make lab`` must find.
        """
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


@pytest.fixture
def lab_runs(clone: Path) -> Iterator[list[Lab]]:
    labs: list[Lab] = []
    yield labs
    for lab in labs:
        lab.close()


def open_notebook_00(page: Any, lab: Lab) -> Any:
    """Load the lab's URL and wait for notebook 00's warm-up answer cell; return that cell."""
    page.goto(lab.url)
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text="def is_expired")
    cell.wait_for(state="attached", timeout=90_000)
    cell.scroll_into_view_if_needed()  # JupyterLab renders only the cells in view
    return cell


def run_cell(cell: Any) -> None:
    """Run one cell as a learner does (click into it, Shift+Enter) and wait until the kernel has run it.

    Each step waits for its evidence: on a busy machine JupyterLab may still be drawing when the next key
    arrives, and a key sent to the wrong cell would fail the test for the wrong reason.
    """
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    cell.page.keyboard.press("Shift+Enter")
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=90_000)


def source_of(cell: Any) -> str:
    """The text in a cell's editor."""
    return cell.locator(".cm-content").text_content()


def test_a_learner_solves_notebook_00_and_finds_the_work_again(clone: Path, lab_runs: list[Lab], page: Any) -> None:
    first = Lab(clone)
    lab_runs.append(first)
    assert "added    00_start_here.ipynb" in "".join(first.output)
    answer_cell = open_notebook_00(page, first)
    assert "raise NotImplementedError()" in source_of(answer_cell), "the exercise arrives unsolved"

    cells = page.locator(".jp-Notebook .jp-CodeCell")
    run_cell(cells.filter(has_text='exercise("is_expired")'))  # declare the exercise
    answer_cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(ANSWER)  # as typed, without the editor's auto-indent doubling the indentation
    expect(answer_cell.locator(".cm-content")).to_contain_text("return now >= exp")
    run_cell(answer_cell)
    check_cell = cells.filter(has_text="expiry.check()")
    run_cell(check_cell)
    expect(check_cell.locator(".jp-OutputArea")).to_contain_text(CORRECT, timeout=90_000)
    page.keyboard.press("Control+s")

    saved = clone / "my-course" / "00_start_here.ipynb"
    deadline = time.monotonic() + 30
    while "return now >= exp" not in saved.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "return now >= exp" in saved.read_text(), "JupyterLab saved the answer in the workspace"
    first.close()

    second = Lab(clone)
    lab_runs.append(second)
    assert not re.search(r"(added|updated|kept)\s+00_start_here", "".join(second.output)), "the learner's copy stays"
    answer_cell = open_notebook_00(page, second)
    assert "return now >= exp" in source_of(answer_cell) and "NotImplementedError" not in source_of(answer_cell)
    second.close()

    progress = run(clone, *make("-s", "progress")).stdout
    assert re.search(r"^00 start here\s+1 of \d+ done, \d+ left$", progress, re.M), progress
    assert re.search(r"^\s+is_expired\s+Correct\b", progress, re.M), progress

    nbval = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "notebooks/sanitize.cfg"]
    run(clone, str(VENV / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *nbval,
        "notebooks/00_start_here.ipynb")  # the reference still matches, the learner's work beside it
    assert run(clone, "git", "status", "--porcelain").stdout == ""
    print(f"make lab answered after {first.seconds_to_url:.1f} s, then {second.seconds_to_url:.1f} s "
          "(this checkout's .venv reused)")
