"""The course's matplotlib figures: shown inline and saved as PNG under ``build/figures/``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from authkit.course.notebooks import ROOT

FIGURES_DIR = ROOT / "build" / "figures"


def save_figure(fig: Figure, name: str) -> Path:
    """Write ``fig`` to ``build/figures/<name>.png``, detach it from pyplot, and return the path.

    A closed figure is shown exactly once, as the value of the cell that returns it; left open,
    Jupyter's inline backend may display it a second time at the end of the cell.
    """
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    path = FIGURES_DIR / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _box(ax, x: float, y: float, text: str, colour: str, width: float = 0.3) -> None:
    ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.11), width, 0.22, boxstyle="round,pad=0.02",
                                facecolor=colour, edgecolor="#333333"))
    ax.text(x, y, text, ha="center", va="center", fontsize=9, wrap=True)


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str) -> None:
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "lw": 1.6})
    ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.05, label,
            ha="center", va="bottom", fontsize=8, family="monospace")


def two_approaches(token_bytes: int, cookie_bytes: int, session_record_bytes: int) -> Figure:
    """Who holds the state, what travels on each request, and what the server looks up."""
    fig, (jwt_ax, session_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    state, wire, server = "#ffe9a8", "#d9ecff", "#d7f5d0"

    jwt_ax.set_title("JWT bearer token: the client carries the state")
    _box(jwt_ax, 0.16, 0.72, "browser / app\nholds the signed token\n(the state)", state)
    _box(jwt_ax, 0.84, 0.72, "API\nverifies signature, exp, aud\nwith a key it already has", server)
    _arrow(jwt_ax, (0.32, 0.72), (0.68, 0.72), f"Authorization: Bearer …\n{token_bytes} bytes")
    jwt_ax.text(0.5, 0.25, "no lookup per request\n(revoking early needs extra state: see 04 and 07)",
                ha="center", fontsize=9, style="italic")

    session_ax.set_title("Session cookie: the server keeps the state")
    _box(session_ax, 0.16, 0.72, "browser\nholds a random ID only", wire)
    _box(session_ax, 0.84, 0.72, "server\nhashes the ID,\nlooks it up, slides expiry", server)
    _box(session_ax, 0.84, 0.22, f"Redis\nsession record (the state)\n{session_record_bytes} bytes", state)
    _arrow(session_ax, (0.32, 0.72), (0.68, 0.72), f"Cookie: __Host-sid=…\n{cookie_bytes} bytes")
    session_ax.annotate("", xy=(0.84, 0.34), xytext=(0.84, 0.6), arrowprops={"arrowstyle": "<->", "lw": 1.6})
    session_ax.text(0.6, 0.47, "one round trip per request\n(counted by the server in 05)", ha="center", fontsize=8)

    for ax in (jwt_ax, session_ax):
        ax.set_xlim(-0.04, 1.04)
        ax.set_ylim(0, 1)
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, "00_two_approaches")
    return fig
