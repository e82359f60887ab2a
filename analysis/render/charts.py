"""The report's charts (matplotlib, Agg), each with the fault windows shaded and marked.

Every chart is drawn from the run directory alone (a loaded Run): client samples binned by
``BIN_S``, Prometheus series as snapshotted. Time is seconds since the run started. A chart
with no data says so on its face rather than drawing empty axes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from gameday.analysis import alert_evidence
from gameday.analysis.checks.samples import outages, server_errors
from gameday.analysis.prom import read_series
from gameday.analysis.render import binned
from gameday.analysis.render.replicas import replicas
from gameday.analysis.run import Run
from gameday.contract.events import Event

log = logging.getLogger(__name__)

BIN_S = 5.0
FAULT_COLOURS = ["#f4cccc", "#fce5cd", "#d9ead3", "#cfe2f3", "#d9d2e9", "#fff2cc"]


def t0(run: Run) -> float:
    times = [float(e["t"]) for e in run.events[:1]]
    if not times and len(run.requests):
        times = [float(run.requests["t_start"].min())]
    return times[0] if times else 0.0


def _shade(ax: Axes, run: Run, origin: float) -> None:
    faults = [w for w in run.windows if w.is_fault]
    for i, w in enumerate(faults):
        ax.axvspan(w.start - origin, w.end - origin, color=FAULT_COLOURS[i % len(FAULT_COLOURS)], alpha=0.6, lw=0)
        ax.text(w.start - origin, 1.0, f" {w.fault}", transform=ax.get_xaxis_transform(), fontsize=7,
                va="top", ha="left", color="#444")
    for e in run.events:
        if e.get("event") == Event.FAULT_INJECTED:
            ax.axvline(float(e["t"]) - origin, color="#cc0000", lw=1, ls="--")
        elif e.get("event") == Event.FAULT_RECOVERED:
            ax.axvline(float(e["t"]) - origin, color="#38761d", lw=1, ls=":")
    for o in outages(run):  # as the clients lived it (gameday.analysis.outage)
        if o.first_failure_s is not None:
            ax.axvline(o.injected + o.first_failure_s - origin, color="#e69138", lw=1, ls="-.")
        if o.back_at is not None:
            ax.axvline(o.back_at - origin, color="#38761d", lw=1.2, ls="-")


def _binned(df: pd.DataFrame, origin: float) -> pd.core.groupby.DataFrameGroupBy:
    key = ((df["t_start"] - origin) // BIN_S) * BIN_S + BIN_S / 2
    return df.groupby(key)


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no data: {what}", transform=ax.transAxes, ha="center", va="center", color="#999")


def latency(ax: Axes, run: Run, origin: float) -> None:
    df = run.requests
    if df.empty:
        _empty(ax, "no request recorded")
        return
    t = df["t_start"].to_numpy(dtype="float64")
    lat = df["latency_ms"].to_numpy(dtype="float64")
    qs = (0.5, 0.95, 0.99)
    if binned.is_sorted(t):  # the reader sorts: contiguous bins, no group-by over every row
        centres, values = binned.quantiles(t, lat, origin, BIN_S, qs)
    else:
        g = _binned(df, origin)["latency_ms"]
        centres, values = g.quantile(0.5).index.to_numpy(), np.array([g.quantile(q).to_numpy() for q in qs])
    for q, style, v in zip(qs, ("-", "-", ":"), values, strict=True):
        ax.plot(centres, v, style, lw=1.2, label=f"client p{int(q * 100)}")
    prom = read_series(run.path, "latency_p95")
    if prom is not None and not prom.error and not prom.data.empty:
        ax.plot(prom.data["timestamp"] - origin, prom.data["value"] * 1000, lw=1, color="#555", alpha=0.8,
                label="Prometheus p95")
    _line(ax, run.line("p95_ms"))
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms)")
    ax.legend(fontsize=7, loc="upper right")


OPS_BIN_S = 2.0


def _line(ax: Axes, threshold: float | None, scale: float = 1.0) -> None:
    """The threshold's reference line; none where the profile's value is damaged (the judge names it)."""
    if threshold is not None:
        ax.axhline(threshold * scale, color="#cc0000", lw=0.8, alpha=0.6)


def operations(ax: Axes, run: Run, origin: float) -> None:
    """Each operation's p95 per 2 s, with its own line: what the mix's p95 can hide."""
    df = run.requests
    if df.empty:
        _empty(ax, "no request recorded")
        return
    t = df["t_start"].to_numpy(dtype="float64")
    if binned.is_sorted(t):  # the reader sorts: each bin a slice, split by operation (no copy per operation)
        if isinstance(df["name"].dtype, pd.CategoricalDtype):  # the streams' reader: its codes, a byte a row
            codes, names = df["name"].cat.codes.to_numpy(), pd.Index(df["name"].cat.categories)
        else:
            codes, names = pd.factorize(df["name"])
        lat = df["latency_ms"].to_numpy(dtype="float64")
        per_code = binned.quantiles_by_code(t, lat, codes, len(names), origin, OPS_BIN_S, 0.95)
        for code in np.argsort(np.asarray(names.astype(str))):
            centres, p95 = per_code[code]
            if centres.size:  # a category no row has (or only rows without a name) draws nothing
                ax.plot(centres, p95, lw=1, label=f"{names[code]} p95")
    else:
        key = ((df["t_start"] - origin) // OPS_BIN_S) * OPS_BIN_S + OPS_BIN_S / 2
        for name, part in df.groupby("name"):
            s = part.groupby(key.loc[part.index])["latency_ms"].quantile(0.95)
            ax.plot(s.index, s.values, lw=1, label=f"{name} p95")
    _line(ax, run.line("p95_ms"))
    ax.set_yscale("log")
    ax.set_ylabel("latency (ms)")
    ax.legend(fontsize=7, loc="upper right")


def missions(ax: Axes, run: Run, origin: float) -> None:
    s = read_series(run.path, "missions_per_min")
    drawn = False
    if s is not None and not s.error and not s.data.empty:
        ax.plot(s.data["timestamp"] - origin, s.data["value"], lw=1.2, label="completed/min (Prometheus)")
        drawn = True
    if not run.acks.empty:
        key = ((run.acks["t_ack"] - origin) // BIN_S) * BIN_S + BIN_S / 2
        per_min = run.acks.groupby(key).size() * (60 / BIN_S)
        ax.plot(per_min.index, per_min.values, lw=1, alpha=0.7, label="acknowledged/min (client)")
        drawn = True
    if not drawn:
        _empty(ax, "missions")
        return
    _line(ax, run.line("missions_per_min"))
    ax.set_ylabel("missions / min")
    ax.legend(fontsize=7, loc="upper right")


def errors(ax: Axes, run: Run, origin: float) -> None:
    df = run.requests
    if df.empty:
        _empty(ax, "no request recorded")
        return
    bad = server_errors(df).to_numpy(dtype="float64")
    t = df["t_start"].to_numpy(dtype="float64")
    if binned.is_sorted(t):  # no copy of the frame with one more column
        centres, share = binned.means(t, bad, origin, BIN_S)
    else:
        m = pd.Series(bad, index=df.index).groupby(((df["t_start"] - origin) // BIN_S) * BIN_S + BIN_S / 2).mean()
        centres, share = m.index.to_numpy(), m.to_numpy()
    ratio = pd.Series(share * 100, index=centres)
    ax.bar(ratio.index, ratio.values, width=BIN_S * 0.9, color="#cc4125")
    _line(ax, run.line("max_5xx_ratio"), scale=100)
    ax.set_ylabel("5xx + no answer (%)")
    ax.set_ylim(0, max(10.0, float(np.nanmax(ratio.values)) * 1.1 if len(ratio) else 10.0))


SEVERITY_COLOURS = {"P1": "#cc0000", "P2": "#e69138", "P3": "#6d9eeb"}


def alerts(ax: Axes, run: Run, origin: float) -> None:
    """Each alert episode on its own row: pending (light), firing until resolved (dark, coloured by
    severity), a dot where each receiver was notified."""
    try:
        ev = alert_evidence.read(run.path)
    except alert_evidence.AlertDamage as exc:
        _empty(ax, f"alerting evidence damaged: {exc}")
        return
    if ev is None or not ev.episodes:
        _empty(ax, "no alert evidence" if ev is None else "no alert fired")
        return
    names = sorted({e.name for e in ev.episodes})
    end = max([*ev.ok_polls, *(float(e.fired_at) for e in ev.episodes)]) - origin
    for e in ev.episodes:
        y = names.index(e.name)
        colour = SEVERITY_COLOURS.get(e.severity, "#999999")
        fired, resolved = e.fired_at - origin, (e.resolved_at - origin) if e.resolved_at is not None else end
        if e.pending_at is not None and e.pending_at < e.fired_at:
            ax.barh(y, fired - (e.pending_at - origin), left=e.pending_at - origin, height=0.5, color=colour, alpha=0.3)
        ax.barh(y, max(resolved - fired, 0.5), left=fired, height=0.5, color=colour)
        for t in e.notified.values():
            ax.plot([t - origin], [y], marker="o", color="black", ms=4)
    ax.set_yticks(range(len(names)), [f"{n}" for n in names], fontsize=7)
    ax.set_ylim(-0.7, len(names) - 0.3)


def _twin(ax: Axes, run: Run, origin: float, left: str, right: str, left_label: str, right_label: str,
          right_scale: float = 1.0) -> None:
    a = read_series(run.path, left)
    b = read_series(run.path, right)
    if (a is None or a.data.empty) and (b is None or b.data.empty):
        _empty(ax, f"{left}, {right}")
        return
    if a is not None and not a.data.empty:
        for labels, part in a.data.groupby("labels"):
            ax.step(part["timestamp"] - origin, part["value"], where="post", lw=1.2, label=f"{left_label} {labels}")
    ax.set_ylabel(left_label)
    ax2 = ax.twinx()
    if b is not None and not b.data.empty:
        for labels, part in b.data.groupby("labels"):
            ax2.plot(part["timestamp"] - origin, part["value"] * right_scale, lw=1, color="#e69138",
                     label=f"{right_label} {labels}")
    ax2.set_ylabel(right_label)
    for axis, where in ((ax, "upper left"), (ax2, "upper right")):
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=6, loc=where)  # type: ignore[call-overload]


def pool(ax: Axes, run: Run, origin: float) -> None:
    _twin(ax, run, origin, "warm_pool_size", "startup_p95", "warm pool size", "crew start-up p95 (s)")


def deployment(ax: Axes, run: Run, origin: float) -> None:
    _twin(ax, run, origin, "deployment_revision", "health_check_failures", "revision", "failed health checks")


CHARTS: dict[str, tuple[str, Callable[[Axes, Run, float], None]]] = {
    "latency": ("API latency p50 / p95 / p99 (client, exact) and p95 (Prometheus)", latency),
    "operations": ("p95 per operation, 2 s bins (client, exact)", operations),
    "missions": ("Missions per minute", missions),
    "errors": ("Server errors per 5 s", errors),
    "pool": ("Warm pool and agent start-up", pool),
    "deployment": ("Deployment revision and health-check failures", deployment),
    "alerts": ("Alerts: pending (light), firing to resolved (P1 red, P2 orange, P3 blue), notified (dots)", alerts),
    "replicas": ("Replicas per HPA: current, desired, min, max (§6.2), the spike shaded", replicas),
}


def render(run: Run) -> dict[str, bytes]:
    """Every chart as PNG bytes, by name. A chart that damaged evidence cannot draw is left out
    (the judge has already named the damage); the others are drawn."""
    origin = t0(run)
    out: dict[str, bytes] = {}
    for name, (title, draw) in CHARTS.items():
        fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
        try:
            draw(ax, run, origin)
            _shade(ax, run, origin)
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("seconds since the run started")
            ax.grid(alpha=0.3)
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            out[name] = buf.getvalue()
        except (ValueError, KeyError, TypeError, OverflowError) as exc:
            log.warning("chart %s not drawn: %s: %s", name, type(exc).__name__, exc)
        finally:
            plt.close(fig)
    return out
