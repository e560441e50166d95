"""The key-rotation figure of notebook 02 draws what ``simulate_rotation`` recorded, and nothing else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from authkit.study import plots
from authkit.study.rotation import RotationTimeline, simulate_rotation

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def figures_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Test figures go to a temporary folder, leaving the course's own build/figures alone."""
    monkeypatch.setattr(plots, "FIGURES_DIR", tmp_path / "figures")
    yield tmp_path / "figures"
    plt.close("all")


@pytest.fixture(scope="module")
def runs() -> dict[str, RotationTimeline]:
    return {
        "own refresh keys": simulate_rotation(),
        "one key set, guarded": simulate_rotation(own_refresh_keys=False),
        "one key set, forced": simulate_rotation(own_refresh_keys=False, force_retire=True),
    }


def bar(ax: Axes, gid: str) -> tuple[float, float]:
    """(start, end) in days of the one bar drawn for ``gid``."""
    found = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == gid]
    assert len(found) == 1, f"one bar for {gid!r}, found {len(found)}"
    return found[0].get_x(), found[0].get_x() + found[0].get_width()


def days(delta: timedelta) -> float:
    return delta / DAY


def marks(ax: Axes, gid: str) -> int:
    return sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == gid)


def test_the_figure_is_saved_as_a_png_with_one_panel_per_run(runs, figures_dir: Path) -> None:
    fig = plots.key_rotation(runs)
    assert len(fig.axes) == len(runs) and fig.get_suptitle()
    path = figures_dir / "02_key_rotation.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_each_panel_says_who_was_logged_out(runs) -> None:
    titles = [ax.get_title(loc="left") for ax in plots.key_rotation(runs).axes]
    assert titles == [
        "own refresh keys: nobody logged out",
        "one key set, guarded: nobody logged out",
        "one key set, forced: alice, bob, carol logged out",
    ]


def test_every_check_is_one_mark_and_refusals_of_valid_tokens_are_marked_as_logouts(runs) -> None:
    fig = plots.key_rotation(runs)
    for ax, timeline in zip(fig.axes, runs.values()):
        accepted = sum(c.outcome == "accepted" for c in timeline.checks)
        assert marks(ax, "accepted") == accepted
        assert marks(ax, "logged out") == len(timeline.logged_out())
        assert marks(ax, "expired") == len(timeline.checks) - accepted - len(timeline.logged_out())
    assert marks(fig.axes[0], "logged out") == 0 < marks(fig.axes[2], "logged out")


def test_key_bars_follow_the_recorded_key_events(runs) -> None:
    own, guarded, forced = plots.key_rotation(runs).axes
    assert bar(own, "access-1") == pytest.approx((0, days(DAY + timedelta(hours=1, minutes=15))))
    assert bar(own, "access-2 signs") == pytest.approx((days(DAY + timedelta(hours=1)), 17))
    assert bar(own, "refresh-1 signs") == pytest.approx((0, 2))  # refresh-2 signs from day 2 ...
    assert bar(own, "refresh-1") == pytest.approx((0, 16))  # ... and refresh-1 verifies until its tokens expired
    assert bar(guarded, "access-1") == pytest.approx((0, 15))
    assert bar(forced, "access-1")[1] == pytest.approx(days(DAY + timedelta(hours=1, minutes=15)))
    refused = [t.get_text() for t in guarded.texts if "retire refused" in t.get_text()]
    assert len(refused) == 1 and not [t for t in forced.texts if "retire refused" in t.get_text()]


def test_accepted_tokens_take_the_colour_of_the_key_that_signed_them(runs) -> None:
    own = plots.key_rotation(runs).axes[0]
    colours = {gid: to_hex(p.get_facecolor()) for p in own.patches if (gid := p.get_gid()).endswith(" signs")}
    shown = {to_hex(colour) for c in own.collections if c.get_gid() == "accepted" for colour in c.get_facecolors()}
    signed = {check.kid for check in runs["own refresh keys"].checks if check.outcome == "accepted"}
    assert shown == {colours[f"{kid} signs"] for kid in signed} and len(shown) == 4
