"""Each figure of notebook 07 is drawn from measured data and saved as a non-empty PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from authkit.study import plots
from authkit.study.experiments import RequestCost, exposure_windows, revocation_timelines, slide_costs, sliding_timelines
from authkit.study.measure import Comparison, Row

DEFAULT_FIGURES_DIR = plots.FIGURES_DIR  # read before any test redirects it


@pytest.fixture(autouse=True)
def figures_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Test figures go to a temporary folder, leaving the course's own build/figures alone."""
    monkeypatch.setattr(plots, "FIGURES_DIR", tmp_path / "figures")
    yield tmp_path / "figures"
    plt.close("all")


def costs() -> list[RequestCost]:
    """Figure 5's input, made up: an anchor, a verify twice as costly, a lookup counted on the server."""
    def compared(name: str, ratios: tuple[float, ...]) -> Comparison:
        return Comparison(name, "HS256 verify", ratios, 2e-4, 1e-4, 3e-5)
    return [RequestCost("HS256 verify", 0, None, "redis-server"),
            RequestCost("EdDSA verify", 0, compared("EdDSA verify", (2.0, 2.1, 1.9)), "redis-server"),
            RequestCost("session validate", 1, compared("session validate", (1.2, 1.3, 1.1)), "redis-server")]


@pytest.mark.parametrize(("name", "draw"), [
    ("07_revocation_windows", lambda: plots.revocation_windows(revocation_timelines(step=30))),
    ("07_exposure_by_lifetime", lambda: plots.exposure_by_lifetime(exposure_windows((5, 15), samples=10, step=30),
                                                                   step=30)),
    ("07_sliding_expiration", lambda: plots.sliding_expiration(*sliding_timelines(step=30))),
    ("07_write_amplification", lambda: plots.write_amplification(slide_costs((60, 300), requests=50))),
    ("07_cost_per_request", lambda: plots.cost_per_request(costs())),
])
def test_each_figure_is_saved_as_a_png(name: str, draw, figures_dir: Path) -> None:
    path = figures_dir / f"{name}.png"
    assert not path.exists()
    fig = draw()
    assert fig.axes and all(ax.get_title() or fig.get_suptitle() for ax in fig.axes[:1]), "a title asks the question"
    assert path.exists() and path.stat().st_size > 10_000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_go_under_build_figures_at_the_repository_root() -> None:
    from authkit.course.notebooks import ROOT

    assert DEFAULT_FIGURES_DIR == ROOT / "build" / "figures"


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


def test_the_exposure_figure_shows_each_mean_with_its_interval_and_the_theory() -> None:
    fig = plots.exposure_by_lifetime(exposure_windows((5, 15), samples=10, step=30), step=30)
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert len(notes) == 2 and all("95% CI" in n and "theory" in n for n in notes)
    assert "theory 2.75" in notes[0] and "theory 7.75" in notes[1], "half the lifetime plus half the 30 s step"


def test_the_cost_figure_says_what_it_shows_and_labels_every_bar() -> None:
    fig = plots.cost_per_request(costs())
    time_ax, trips_ax = fig.axes
    assert fig.get_suptitle() == "What does checking one request cost?"
    assert [t.get_text() for t in trips_ax.texts] == ["0", "0", "1"], "one round-trip label per bar"
    bars = [t.get_text().strip() for t in time_ax.texts]
    assert bars == ["×1, the anchor (100 µs)", "×2.00  (200 µs)", "×1.20  (200 µs)"]
    assert "3 interleaved rounds" in time_ax.get_xlabel()


def test_the_bench_figure_marks_each_goal_met_or_not(tmp_path: Path) -> None:
    rows = [Row("b", "met", 0.6, anchor="a", goal=0.7, low=0.5, high=0.65, clock="cpu"),
            Row("b", "not met", 1.4, anchor="a", goal=1.1, low=1.3, high=1.5, clock="cpu"),
            Row("b", "no goal", 2.0, anchor="a"),
            Row("b", "a count", 1.0, unit="round trips")]
    fig = plots.bench_ratios(rows, tmp_path)
    assert (tmp_path / "ratios.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    colours = [bar.get_facecolor()[:3] for bar in fig.axes[0].patches]
    assert len(colours) == 3, "one bar per ratio; counts are not ratios"
    assert [t.get_text().strip() for t in fig.axes[0].texts] == ["×0.60  (goal ≤ ×0.7)", "×1.40  (goal ≤ ×1.1)", "×2.00"]
    assert colours[0] != colours[1]
