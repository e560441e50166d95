"""The course's matplotlib figures: shown inline and saved as PNG under ``build/figures/``."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch

if TYPE_CHECKING:
    from datetime import timedelta

    from authkit.study.experiments import RequestCost, SlideCost
    from authkit.study.measure import Row
    from authkit.study.rotation import RotationTimeline
    from authkit.study.timeline import Timeline

#: Figures are also saved as PNG files under the repository's build/ folder.
FIGURES_DIR = Path(__file__).resolve().parents[2] / "build" / "figures"
#: Saved at 200 dpi: sharp on a laptop's high-density screen (the inline figures keep matplotlib's 100).
SAVE_DPI = 200


def save_figure(fig: Figure, name: str, folder: Path | None = None) -> Path:
    """Write ``fig`` to ``<folder>/<name>.png`` (default ``build/figures``), detach it from pyplot, return the path.

    A closed figure is shown exactly once, as the value of the cell that returns it; left open,
    Jupyter's inline backend may display it a second time at the end of the cell.
    """
    folder = FIGURES_DIR if folder is None else folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=SAVE_DPI, bbox_inches="tight")
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


# --- notebook 07: the measured trade-offs --------------------------------------------------------

ACCEPTED, REFUSED, LOGOUT, THEFT = "#2e9d4a", "#d9d9d9", "#c0392b", "#e67e22"
POLICY_COLOURS = {"always": "#4c72b0", "half": "#dd8452"}
_NUMBER = re.compile(r"^(-|[×x~]?-?[\d.,]+(e-?\d+)?%?|inf|None)?$")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Rows as aligned plain text, numbers to the right: the exact numbers behind a figure (no pandas)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_NUMBER.match(row[i]) for row in cells[1:]) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Rows as an HTML table; cells are the course's own HTML (links, ``<br>``), not user input."""
    head = "".join(f'<th style="text-align:left">{h}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f'<td style="text-align:left;vertical-align:top">{c}</td>' for c in row)
                   + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _minutes(seconds: float) -> str:
    """``seconds`` as "8 min", "2.5 min" or "40 s"."""
    if seconds == math.inf:
        return "to the end"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def revocation_windows(timelines: Sequence[Timeline]) -> Figure:
    """Figure 1: one bar per strategy and stolen credential, green while the server still accepts it."""
    rows = [(t, label) for t in timelines for label in t.series if label.startswith("stolen")]
    fig, ax = plt.subplots(figsize=(11, 0.62 * len(rows) + 1.6))
    for y, (timeline, label) in enumerate(reversed(rows)):
        for value, colour in ((True, ACCEPTED), (False, REFUSED)):
            spans = [(start / 60, width / 60) for start, width in timeline.spans(label, value)]
            ax.broken_barh(spans, (y - 0.32, 0.64), facecolors=colour)
        window = timeline.revocation_window(label)
        end = timeline.event_time("logout") + window
        text = "refused at logout" if window == 0 else f"{_minutes(window)} after logout"
        ax.text(min(end, timeline.times[-1]) / 60 + 0.2, y, text, va="center", fontsize=9, fontweight="bold")
    logout, theft = timelines[0].event_time("logout") / 60, timelines[0].event_time("steal") / 60
    ax.axvline(theft, color=THEFT, linestyle=":", linewidth=2, label=f"attacker copies the credentials ({theft:g} min)")
    ax.axvline(logout, color=LOGOUT, linestyle="--", linewidth=2, label=f"user logs out ({logout:g} min)")
    ax.set_yticks(range(len(rows)), [f"{t.approach}\n{label}" for t, label in reversed(rows)], fontsize=9)
    ax.set_xlim(0, timelines[0].times[-1] / 60 + 4.5)
    ax.set_xlabel("minutes after login (virtual time; probed every %g s)" % timelines[0].step)
    ax.set_title("How long does a stolen credential keep working after the user logs out?")
    handles = [Patch(color=ACCEPTED, label="server accepts it"), Patch(color=REFUSED, label="server refuses it")]
    ax.legend(handles=handles + ax.get_legend_handles_labels()[0], loc="upper center",
              bbox_to_anchor=(0.5, -0.1 - 0.3 / len(rows)), ncol=4, fontsize=9, frameon=False)
    fig.tight_layout()
    save_figure(fig, "07_revocation_windows")
    return fig


def exposure_by_lifetime(windows: dict[int, list[float]], *, step: float = 10.0) -> Figure:
    """Figure 2: stolen-token exposure after logouts at random moments, per lifetime, mean against theory.

    ``step`` is the probe step the windows were measured with: the theory's mean includes half of it.
    """
    from authkit.study.experiments import exposure_summary  # plots draws; experiments measures

    fig, ax = plt.subplots(figsize=(9, 4.8))
    lifetimes = list(windows)
    data = [[w / 60 for w in windows[minutes]] for minutes in lifetimes]
    ax.boxplot(data, positions=range(len(lifetimes)), widths=0.5, showmeans=False,
               medianprops={"color": "#333333"})
    for x, (values, summary) in enumerate(zip(data, exposure_summary(windows, step=step))):
        jitter = [x + 0.3 * ((i * 0.618034) % 1 - 0.5) for i in range(len(values))]  # spread, not random
        ax.scatter(jitter, values, s=8, alpha=0.3, color=POLICY_COLOURS["always"])
        mean, theory = summary.mean, summary.theory / 60
        ax.errorbar([x + 0.36], [mean.mean / 60], yerr=[[(mean.mean - mean.low) / 60], [(mean.high - mean.mean) / 60]],
                    fmt="o", color=LOGOUT, capsize=5, markersize=5)
        ax.plot([x + 0.28, x + 0.44], [theory, theory], color="#000000", linewidth=2)
        ax.annotate(f"mean {mean.mean / 60:.2f} min\n95% CI {mean.low / 60:.2f}–{mean.high / 60:.2f}\n"
                    f"theory {theory:.2f}", (x + 0.48, mean.mean / 60), fontsize=8, va="center")
    ax.set_xticks(range(len(lifetimes)), [f"{m} min access token" for m in lifetimes])
    ax.set_xlim(-0.6, len(lifetimes) - 0.05)
    ax.set_ylabel("minutes a stolen token still works after logout")
    ax.set_title(f"Does a shorter access token shrink the exposure? Yes, in proportion\n"
                 f"({len(data[0])} logouts at random moments per lifetime; red: mean with its 95% confidence "
                 f"interval;\nblack: theory, half the lifetime plus half the {step:g} s probe step)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, "07_exposure_by_lifetime")
    return fig


def _sliding_panel(ax: Axes, timeline: Timeline, title: str) -> None:
    """Now (x) against the deadlines (y): the session dies where the diagonal meets the lower one."""
    records = [*timeline.logins, *(r for r in timeline.requests if r.accepted)]
    records.sort(key=lambda r: r.at)
    end = timeline.times[-1] / 60
    death = timeline.death("user session")
    stop = (death if death is not None else timeline.times[-1]) / 60
    xs, ys = [], []
    for record, following in zip(records, [*records[1:], None]):
        until = min(following.at / 60 if following else stop, stop)
        xs += [record.at / 60, until]
        ys += [record.idle_deadline / 60] * 2  # type: ignore[operator]
    ax.plot(xs, ys, color=POLICY_COLOURS["always"], linewidth=2, label="idle deadline (reported by the store)")
    cap = records[0].absolute_deadline / 60  # type: ignore[operator]
    ax.axhline(cap, color=LOGOUT, linestyle="--", label="absolute deadline (never moves)")
    ax.plot([0, end], [0, end], color="#777777", linewidth=1, label="now")
    accepted = [r.at / 60 for r in timeline.requests if r.accepted]
    refused = [r.at / 60 for r in timeline.requests if not r.accepted]
    ax.scatter(accepted, accepted, marker="o", color=ACCEPTED, zorder=3, label="request accepted (slides)")
    if refused:
        ax.scatter(refused, refused, marker="x", color=LOGOUT, s=60, zorder=3, label="request refused")
    for start, width in timeline.spans("user session", True):
        ax.axvspan(start / 60, (start + width) / 60, ymax=0.02, color=ACCEPTED, linewidth=0, zorder=0)
    if death is not None:
        reason = next((r.reason for r in timeline.requests if not r.accepted), "")
        ax.annotate(f"dies at {death / 60:g} min\n({reason.replace('_', ' ') or 'no request'})", (death / 60, death / 60),
                    xytext=(death / 60 - 14, death / 60 + 6), arrowprops={"arrowstyle": "->"}, fontsize=9)
    ax.set_xlim(0, end)
    ax.set_ylim(0, max(cap, end) + 8)
    ax.set_xlabel("minutes after login (green strip: probes say alive)")
    ax.set_title(title, fontsize=10)


def sliding_expiration(idle_death: Timeline, absolute_death: Timeline) -> Figure:
    """Figure 3: each request pushes the idle deadline; the absolute deadline caps it."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    _sliding_panel(left, idle_death, "A gap longer than the idle timeout ends it")
    _sliding_panel(right, absolute_death, "Steady use cannot pass the absolute timeout")
    left.set_ylabel("deadline (minutes after login)")
    left.legend(fontsize=8, loc="upper left")
    fig.suptitle("When does a sliding session die? At an idle gap, or at the absolute cap, whichever comes first")
    fig.tight_layout()
    save_figure(fig, "07_sliding_expiration")
    return fig


def write_amplification(costs: Sequence[SlideCost]) -> Figure:
    """Figure 4: Redis writes per 1,000 requests, and how early the session may die, per slide policy."""
    gaps = sorted({c.gap for c in costs})
    by = {(c.policy, c.gap): c for c in costs}
    fig, (writes_ax, early_ax) = plt.subplots(1, 2, figsize=(12, 4.6))
    for offset, policy in ((-0.2, "always"), (0.2, "half")):
        xs = [i + offset for i in range(len(gaps))]
        writes = [by[policy, g].writes_per_1000 for g in gaps]
        early = [by[policy, g].earliest / 60 for g in gaps]
        label = {"always": "slide on every request", "half": "slide only past half the idle window"}[policy]
        writes_ax.bar(xs, writes, width=0.4, color=POLICY_COLOURS[policy], label=label)
        early_ax.bar(xs, early, width=0.4, color=POLICY_COLOURS[policy])
        for x, w, e in zip(xs, writes, early):
            writes_ax.text(x, w * 1.1, f"{w:g}", ha="center", fontsize=8)
            early_ax.text(x, e + 0.3, f"{e:.1f}", ha="center", fontsize=8)
    bound = costs[0].idle / 2 / 60
    early_ax.axhline(bound, color=LOGOUT, linestyle="--", label=f"bound: half the idle window ({bound:g} min)")
    writes_ax.set_yscale("log")
    writes_ax.set_ylim(1, 3000)
    writes_ax.set_ylabel("Redis writes per 1,000 requests (log scale)")
    writes_ax.set_title("How many requests write to Redis?", fontsize=10)
    early_ax.set_ylim(0, bound * 1.25)
    early_ax.set_ylabel("minutes the session may die early")
    early_ax.set_title("The price: the deadline lags, by less than half the idle window", fontsize=10)
    for ax in (writes_ax, early_ax):
        ax.set_xticks(range(len(gaps)), [f"a request every {_minutes(g)}" for g in gaps], fontsize=9)
    handles = writes_ax.get_legend_handles_labels()[0] + early_ax.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle("Is sliding on every request worth a write each time?")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    save_figure(fig, "07_write_amplification")
    return fig


def cost_per_request(costs: Sequence[RequestCost]) -> Figure:
    """Figure 5: CPU per check as a ratio to an HS256 verify, next to Redis round trips per check."""
    fig, (time_ax, trips_ax) = plt.subplots(1, 2, figsize=(12, 0.5 * len(costs) + 2.0),
                                            gridspec_kw={"width_ratios": [3, 1]}, sharey=True)
    ys = list(range(len(costs)))[::-1]
    rounds = next(len(c.cost.ratios) for c in costs if c.cost is not None)
    anchor_micros = next(c.cost.anchor_seconds for c in costs if c.cost is not None) * 1e6
    for y, item in zip(ys, costs):
        if item.cost is None:
            ratio, low, high, label = 1.0, 1.0, 1.0, f"×1, the anchor ({anchor_micros:.0f} µs)"
        else:
            ratio, (low, high) = item.cost.ratio, item.cost.quartiles
            label = f"×{ratio:.2f}  ({item.cost.seconds * 1e6:.0f} µs)"
        time_ax.barh(y, ratio, color=POLICY_COLOURS["always"], xerr=[[ratio - low], [high - ratio]], capsize=3)
        time_ax.text(high, y, f"  {label}", va="center", fontsize=8)
        trips_ax.barh(y, item.round_trips or 0, color=POLICY_COLOURS["half"])
        trips_ax.text((item.round_trips or 0) + 0.05, y, "not counted" if item.round_trips is None
                      else str(item.round_trips), va="center", fontsize=9)
    time_ax.set_yticks(ys, [c.label for c in costs], fontsize=9)
    time_ax.axvline(1.0, color="#777777", linewidth=1)
    time_ax.set_xlabel(f"CPU per check ÷ CPU per HS256 verify (this process + {costs[-1].backend}); "
                       f"median of {rounds} interleaved rounds, whiskers: interquartile range", fontsize=8)
    time_ax.margins(x=0.3)
    counted = "counted by redis-server (MONITOR)" if costs[-1].round_trips is not None else "fakeredis: not counted"
    trips_ax.set_xlabel(f"Redis round trips per check\n({counted})", fontsize=8)
    trips_ax.set_xlim(0, 2.5)
    fig.suptitle("What does checking one request cost?", fontsize=11)
    fig.tight_layout()
    save_figure(fig, "07_cost_per_request")
    return fig


def bench_ratios(rows: Sequence[Row], folder: Path) -> Figure:
    """``make bench``: every ratio of the run against its goal, one bar per row, grouped by benchmark."""
    ratios = [r for r in rows if r.unit == "×"]
    fig, ax = plt.subplots(figsize=(11, 0.42 * len(ratios) + 1.8))
    ys = list(range(len(ratios)))[::-1]
    for y, row in zip(ys, ratios):
        colour = {True: ACCEPTED, False: LOGOUT, None: POLICY_COLOURS["always"]}[row.met]
        low, high = row.low if row.low is not None else row.value, row.high if row.high is not None else row.value
        ax.barh(y, row.value, color=colour, xerr=[[row.value - low], [high - row.value]], capsize=2)
        goal = "" if row.goal is None else f"  (goal ≤ ×{row.goal:g})"
        ax.text(high, y, f"  ×{row.value:.2f}{goal}", va="center", fontsize=8)
        if row.goal is not None:
            ax.plot([row.goal, row.goal], [y - 0.4, y + 0.4], color="#000000", linewidth=2)
    ax.set_yticks(ys, [f"{r.bench}: {r.name}\nvs {r.anchor}" for r in ratios], fontsize=7)
    ax.axvline(1.0, color="#777777", linewidth=1)
    ax.margins(x=0.25)
    ax.set_xlabel("ratio to the anchor, both measured in the same interleaved rounds (median; whiskers: "
                  "interquartile range; black tick: goal; green: met, red: not met)", fontsize=8)
    ax.set_title("make bench: each cost as a ratio to its bare anchor, measured side by side in one run")
    fig.tight_layout()
    save_figure(fig, "ratios", folder)
    return fig


# --- notebook 02: key rotation -------------------------------------------------------------------

#: Each role's keys in shades of one hue, oldest lightest: access keys green, refresh keys blue.
KEY_SHADES = {"access": ("#a1d99b", "#31a354", "#006d2c"), "refresh": ("#9ecae1", "#3182bd", "#08519c")}
EXPIRED = "#bdbdbd"
_DAY = 86400.0


def _days(at: timedelta) -> float:
    return at.total_seconds() / _DAY


def _key_roles(timeline: RotationTimeline) -> dict[str, str]:
    """Each kid's role ("access" or "refresh") in order of first appearance: from its key events, else its tokens."""
    declared: dict[str, str] = {}
    for event in timeline.key_events:
        declared.setdefault(event.kid, event.role)
    signed: dict[str, str] = {}
    for check in timeline.checks:
        signed.setdefault(check.kid, check.kind)
    seen = sorted([(e.at, e.kid) for e in timeline.key_events] + [(c.at, c.kid) for c in timeline.checks])
    return {kid: declared.get(kid) or signed[kid] for _, kid in seen}


def _key_colours(roles: dict[str, str]) -> dict[str, str]:
    """One colour per kid: its role's hue, darker for each newer key of that role."""
    colours: dict[str, str] = {}
    for kid, role in roles.items():
        shades = KEY_SHADES[role]
        older = sum(1 for other in colours if roles[other] == role)
        colours[kid] = shades[min(older, len(shades) - 1)]
    return colours


def _key_row(ax: Axes, timeline: RotationTimeline, kid: str, y: float, colour: str, end: float) -> None:
    """One key: pale while in its set, solid while it signs; where a retire was refused, and when it was retired."""
    roles = _key_roles(timeline)
    events = [e for e in timeline.key_events if roles.get(e.kid) == roles[kid]]

    def first(action: str, of: str, default: float) -> float:
        return min((_days(e.at) for e in events if e.kid == of and e.action == action), default=default)

    promoted = {other: first("promoted", other, 0.0) for other, role in roles.items() if role == roles[kid]}
    start = min(first("added", kid, end), promoted[kid])
    stop = first("retired", kid, end)
    signs_until = min((t for t in promoted.values() if t > promoted[kid]), default=stop)
    ax.barh(y, stop - start, left=start, height=0.6, color=colour, alpha=0.4, gid=kid)
    ax.barh(y, signs_until - promoted[kid], left=promoted[kid], height=0.6, color=colour, gid=f"{kid} signs")
    if stop < end:
        ax.text(stop + 0.1, y, "retired", va="center", fontsize=7)
    for event in events:
        if event.kid == kid and event.action == "retire refused":
            ax.plot(_days(event.at), y, marker="v", color="#333333", markersize=5)
            ax.text(_days(event.at) + 0.15, y, "retire refused: tokens it signed are live", va="center", fontsize=7)


def _rotation_panel(ax: Axes, timeline: RotationTimeline, title: str, colours: dict[str, str]) -> None:
    """One row per key, then one per user and token kind with a mark per check: accepted, expired, logged out."""
    end = max(_days(c.at) for c in timeline.checks)
    roles = _key_roles(timeline)
    order = list(dict.fromkeys(roles.values()))
    kids = sorted(roles, key=lambda kid: order.index(roles[kid]))  # access keys first, each role oldest first
    holders = list(dict.fromkeys((c.user, c.kind) for c in timeline.checks))
    rows = [f"key {kid}" for kid in kids] + [f"{user}'s {kind} token" for user, kind in holders]
    y_of = {label: len(rows) - 1 - i for i, label in enumerate(rows)}
    for kid in kids:
        _key_row(ax, timeline, kid, y_of[f"key {kid}"], colours[kid], end)
    for user, kind in holders:
        checks = [c for c in timeline.checks if (c.user, c.kind) == (user, kind)]
        y = y_of[f"{user}'s {kind} token"]
        accepted = [c for c in checks if c.outcome == "accepted"]
        expired = [c for c in checks if c.outcome != "accepted" and not c.live]
        logged_out = [c for c in checks if c.outcome != "accepted" and c.live]
        ax.scatter([_days(c.at) for c in accepted], [y] * len(accepted), marker="s", s=14,
                   c=[colours[c.kid] for c in accepted], gid="accepted")
        ax.scatter([_days(c.at) for c in expired], [y] * len(expired), marker=".", s=10, color=EXPIRED, gid="expired")
        ax.scatter([_days(c.at) for c in logged_out], [y] * len(logged_out), marker="x", s=30, color=LOGOUT,
                   gid="logged out")
    users = sorted({c.user for c in timeline.logged_out()})
    ax.set_title(f"{title}: {', '.join(users) + ' logged out' if users else 'nobody logged out'}", fontsize=10,
                 loc="left")
    ax.set_yticks([y_of[label] for label in rows], rows, fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(-0.2, end + 0.2)
    ax.set_xticks(range(int(end) + 1))
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)


def key_rotation(runs: dict[str, RotationTimeline]) -> Figure:
    """One panel per ``simulate_rotation`` run: when each key signs, and which of the users' tokens still verify."""
    from matplotlib.lines import Line2D

    roles: dict[str, str] = {}
    for timeline in runs.values():
        for kid, role in _key_roles(timeline).items():
            roles.setdefault(kid, role)
    order = list(dict.fromkeys(roles.values()))
    colours = _key_colours({kid: roles[kid] for kid in sorted(roles, key=lambda kid: order.index(roles[kid]))})
    heights = [len(_key_roles(t)) + len({(c.user, c.kind) for c in t.checks}) for t in runs.values()]
    fig, axes = plt.subplots(len(runs), 1, figsize=(12, 0.3 * sum(heights) + 0.8 * len(runs) + 1.0), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    for ax, (title, timeline) in zip(axes[:, 0], runs.items()):
        _rotation_panel(ax, timeline, title, colours)
    axes[-1, 0].set_xlabel("days after the first login (virtual time; every token checked every 6 hours)")
    handles = [Patch(color=colour, label=kid) for kid, colour in colours.items()]
    handles += [
        Patch(color="#777777", label="solid: the key signs new tokens"),
        Patch(color="#777777", alpha=0.4, label="pale: it signs no more, still verifies"),
        Line2D([], [], marker="s", linestyle="", color="#777777", label="token accepted (colour: its key)"),
        Line2D([], [], marker=".", linestyle="", color=EXPIRED, label="refused: it had expired anyway"),
        Line2D([], [], marker="x", linestyle="", color=LOGOUT, label="refused while valid: logged out"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.suptitle("Rotating the signing keys: does anyone get logged out?")
    fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 1))
    save_figure(fig, "02_key_rotation")
    return fig
