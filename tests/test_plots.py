"""Each figure of notebook 07 is drawn from measured data and saved as a non-empty PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from authkit import plots
from authkit.experiments import exposure_windows, revocation_timelines, slide_costs, sliding_timelines

DEFAULT_FIGURES_DIR = plots.FIGURES_DIR  # read before any test redirects it


@pytest.fixture(autouse=True)
def figures_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Test figures go to a temporary folder, leaving the course's own build/figures alone."""
    monkeypatch.setattr(plots, "FIGURES_DIR", tmp_path / "figures")
    yield tmp_path / "figures"
    plt.close("all")


@pytest.mark.parametrize(("name", "draw"), [
    ("07_revocation_windows", lambda: plots.revocation_windows(revocation_timelines(step=30))),
    ("07_exposure_by_lifetime", lambda: plots.exposure_by_lifetime(exposure_windows((5, 15), samples=10, step=30))),
    ("07_sliding_expiration", lambda: plots.sliding_expiration(*sliding_timelines(step=30))),
    ("07_write_amplification", lambda: plots.write_amplification(slide_costs((60, 300), requests=50))),
    ("07_cost_per_request", lambda: plots.cost_per_request(
        [("HS256 verify", 5e-5, 0), ("session on redis-server", None, 1)], note="a test run")),
])
def test_each_figure_is_saved_as_a_png(name: str, draw, figures_dir: Path) -> None:
    path = figures_dir / f"{name}.png"
    assert not path.exists()
    fig = draw()
    assert fig.axes and all(ax.get_title() or fig.get_suptitle() for ax in fig.axes[:1]), "a title asks the question"
    assert path.exists() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_go_under_build_figures_at_the_repository_root() -> None:
    assert DEFAULT_FIGURES_DIR == Path(plots.ROOT) / "build" / "figures"


def test_the_revocation_figure_labels_every_window() -> None:
    fig = plots.revocation_windows(revocation_timelines(step=30))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("refused at logout") == 4
    assert "8 min after logout" in texts and "3 min after logout" in texts


def test_tables_align_their_columns() -> None:
    text = plots.table(["strategy", "window (s)"], [["session", 0], ["stateless JWT", 480]])
    assert text.splitlines() == [
        "strategy       window (s)",
        "-------------  ----------",
        "session                 0",
        "stateless JWT         480",
    ]
