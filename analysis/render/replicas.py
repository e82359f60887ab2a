"""The replicas chart (§6.2): desired and current replicas, min and max, per HPA, the spike shaded.

Drawn from the HPA series of the run directory (kube-state-metrics names, see
analysis/checks/autoscaling.py); a run without them says so on the chart's face.
"""

from __future__ import annotations

from matplotlib.axes import Axes

from gameday.analysis.checks.autoscaling import load_hpas, spike_windows
from gameday.analysis.run import Run

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]


def replicas(ax: Axes, run: Run, origin: float) -> None:
    hpas, why = load_hpas(run)
    if why:
        ax.text(0.5, 0.5, f"no data: {why[:90]}", transform=ax.transAxes, ha="center", va="center", color="#999",
                fontsize=7)
        return
    for w in spike_windows(run):
        if w is not None:
            ax.axvspan(w.start - origin, w.end - origin, color="#fff2cc" if w.name == "spike" else "#f3f3f3",
                       alpha=0.8, lw=0)
            ax.text(w.start - origin, 1.0, f" {w.name}", transform=ax.get_xaxis_transform(), fontsize=7,
                    va="top", ha="left", color="#444")
    for i, h in enumerate(hpas):
        c = COLOURS[i % len(COLOURS)]
        ax.step(h.current["timestamp"] - origin, h.current["value"], where="post", color=c, lw=1.6,
                label=f"{h.name} current")
        ax.step(h.desired["timestamp"] - origin, h.desired["value"], where="post", color=c, lw=1, ls="--",
                label=f"{h.name} desired")
        for df, style in ((h.min, ":"), (h.max, "-.")):
            ax.step(df["timestamp"] - origin, df["value"], where="post", color=c, lw=0.8, ls=style, alpha=0.6)
    ax.set_ylabel("replicas (min dotted, max dash-dot)", fontsize=7)
    ax.legend(fontsize=6, loc="upper left")
