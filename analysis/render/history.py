"""The history page: every run in a table, and trend charts across game days.

Self-contained like the run report (PNG charts embedded as data: URIs, no script, nothing
fetched), so it opens offline and can be attached to a ticket. ``history.json`` beside it
holds the same rows for tooling. Only runs that ``Row.in_trends`` admits are charted; the
verdict chart shows every certification run, incomplete ones as hollow markers.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from gameday.analysis.history import Row, fault_ids
from gameday.contract.atomic import write_atomic
from gameday.contract.rundir import HISTORY_SCHEMA_VERSION

TEMPLATES = Path(__file__).parent / "templates"
THRESHOLD_COLOUR = "#cc0000"
VERDICT_COLOURS = {"GO": "#38761d", "NO-GO": "#cc0000", "INCONCLUSIVE": "#e69138", None: "#999999"}
VERDICT_LEVELS = {"GO": 3, "INCONCLUSIVE": 2, "NO-GO": 1, None: 0}
Series = list[tuple[float, float]]  # (matplotlib date number, value)


def _when(r: Row) -> float:
    """The run's start as a matplotlib date number (the date axis formats it as UTC)."""
    assert r.started is not None  # callers pass only rows with a start time
    return float(mdates.date2num(dt.datetime.fromtimestamp(r.started, dt.UTC)))  # type: ignore[no-untyped-call]


def _points(rows: Sequence[Row], value: Callable[[Row], float | None]) -> Series:
    out = []
    for r in rows:
        v = value(r)
        if r.in_trends and v is not None:
            out.append((_when(r), v))
    return out


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no data: {what}", transform=ax.transAxes, ha="center", va="center", color="#999")


def _threshold(ax: Axes, pts: Series, label: str, colour: str = THRESHOLD_COLOUR) -> None:
    """One line for a threshold every run shared; a step through them when the profile changed it."""
    values = {v for _, v in pts}
    if len(values) == 1:
        ax.axhline(values.pop(), label=label, color=colour, lw=1, ls="--", alpha=0.7)
    elif pts:
        ax.step([t for t, _ in pts], [v for _, v in pts], where="mid", label=label, color=colour, lw=1, ls="--",
                alpha=0.7)


def _line(ax: Axes, pts: Series, label: str, colour: str | None = None) -> None:
    ax.plot([t for t, _ in pts], [v for _, v in pts], marker="o", ms=5, lw=1.4, label=label, color=colour)


def _trend(ax: Axes, rows: Sequence[Row], value: Callable[[Row], float | None],
           threshold: Callable[[Row], float | None], label: str, ylabel: str, what: str) -> None:
    """A baseline figure per run, with the threshold each run was judged against."""
    pts = _points(rows, value)
    if not pts:
        _empty(ax, f"no {what} in a completed run")
        return
    _line(ax, pts, label)
    _threshold(ax, _points(rows, threshold), "threshold")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)


def p95(ax: Axes, rows: Sequence[Row]) -> None:
    _trend(ax, rows, lambda r: r.p95_baseline_ms, lambda r: r.p95_threshold_ms, "p95 (client, exact)", "ms",
           "baseline p95")


def missions(ax: Axes, rows: Sequence[Row]) -> None:
    _trend(ax, rows, lambda r: r.missions_per_min, lambda r: r.missions_threshold, "completed / min (Prometheus)",
           "missions / min", "baseline throughput")


def recovery(ax: Axes, rows: Sequence[Row]) -> None:
    """One line per fault id, its bound dashed in the same colour; a run that never came back
    within its window is an X at the bound."""
    drawn = False
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, fault in enumerate(fault_ids([r for r in rows if r.in_trends])):
        colour = colours[i % len(colours)]
        got = [r for r in rows if r.in_trends and fault in r.recovery]
        pts = [(_when(r), s) for r in got if (s := r.recovery[fault].seconds) is not None]
        bounds = [(_when(r), b) for r in got if (b := r.recovery[fault].bound) is not None]
        never = [(_when(r), b) for r in got
                 if r.recovery[fault].seconds is None and r.recovery[fault].status == "FAIL"
                 and (b := r.recovery[fault].bound) is not None]
        if pts:
            _line(ax, pts, fault, colour)
        if never:
            ax.plot([t for t, _ in never], [b for _, b in never], "X", ms=9, color=colour,
                    label=f"{fault}: not back within its window")
        _threshold(ax, bounds, f"{fault} bound", colour)
        drawn = drawn or bool(pts or never)
    if not drawn:
        _empty(ax, "no fault judged in a completed run")
        return
    ax.set_ylabel("seconds after injection")
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(bottom=0)


def lost(ax: Axes, rows: Sequence[Row]) -> None:
    pts = _points(rows, lambda r: r.lost_acks)
    if not pts:
        _empty(ax, "no read-back in a completed run")
        return
    _line(ax, pts, "lost acknowledged missions", "#990000")
    _threshold(ax, _points(rows, lambda r: r.lost_acks_threshold), "allowed")
    ax.set_ylabel("missions")
    ax.set_ylim(bottom=-0.5, top=max(5.0, max(v for _, v in pts) * 1.2))


def verdicts(ax: Axes, rows: Sequence[Row]) -> None:
    """Every certification run: filled when completed, hollow with its status when not."""
    shown = [r for r in rows if r.kind == "certification" and r.started is not None]
    if not shown:
        _empty(ax, "no certification run")
        return
    for r in shown:
        colour = VERDICT_COLOURS.get(r.verdict, "#999999")
        y = VERDICT_LEVELS.get(r.verdict, 0)
        face = colour if r.in_trends else "none"
        ax.plot([_when(r)], [y], "o", ms=11, markerfacecolor=face, markeredgecolor=colour, markeredgewidth=2)
        if not r.in_trends:
            ax.annotate(r.status, (_when(r), y), textcoords="offset points", xytext=(0, -16),
                        ha="center", fontsize=7, color="#666")
    ax.set_yticks(list(VERDICT_LEVELS.values()), ["not judged" if k is None else k for k in VERDICT_LEVELS])
    ax.set_ylim(-0.8, 3.6)


CHARTS: dict[str, tuple[str, Callable[[Axes, Sequence[Row]], None]]] = {
    "verdict": ("Verdict per run (hollow: did not complete, not charted elsewhere)", verdicts),
    "p95": ("API latency p95 in the baseline window", p95),
    "missions": ("Missions completed per minute in the baseline window", missions),
    "recovery": ("Recovery time per fault (from injection until back within SLA)", recovery),
    "lost_acks": ("Lost acknowledged missions", lost),
}


def _xlim(rows: Sequence[Row]) -> tuple[float, float] | None:
    """One time range for every chart, so the charts line up under each other (at least 10 min
    of padding: a single run still gets a readable axis)."""
    times = [_when(r) for r in rows if r.started is not None]
    if not times:
        return None
    lo, hi = min(times), max(times)
    pad = max((hi - lo) * 0.05, 10 / (24 * 60))
    return lo - pad, hi + pad


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(tz=dt.UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=dt.UTC))  # type: ignore[no-untyped-call]


def charts(rows: Sequence[Row]) -> dict[str, bytes]:
    """Every trend chart as PNG bytes, by name."""
    xlim = _xlim(rows)
    out: dict[str, bytes] = {}
    for name, (title, draw) in CHARTS.items():
        fig, ax = plt.subplots(figsize=(10, 2.6 if name == "verdict" else 3.0), dpi=100)
        try:
            draw(ax, rows)
            if xlim is not None:
                ax.set_xlim(*xlim)
            _date_axis(ax)
            ax.set_title(title, fontsize=10)
            ax.set_xlabel("run started (UTC)")
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
            # the same margins on every chart (legends outside, on the right), so their time axes line up
            fig.subplots_adjust(left=0.12, right=0.78, top=0.88, bottom=0.2)
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            out[name] = buf.getvalue()
        finally:
            plt.close(fig)
    return out


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def render(rows: Sequence[Row], title: str, pngs: dict[str, bytes]) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    charted = [r for r in rows if r.in_trends]
    return env.get_template("history.html.j2").render(
        title=title, rows=rows, faults=fault_ids(list(rows)), fmt=_fmt, charted=len(charted),
        latest=charted[-1] if charted else None,
        charts=[{"name": n, "data": base64.b64encode(b).decode()} for n, b in pngs.items()])


def to_json(rows: Sequence[Row], runs_dir: Path) -> str:
    """``history.json``; docs/history.schema.json (generated from gameday.contract.schemas.History) describes it."""
    return json.dumps({"schema_version": HISTORY_SCHEMA_VERSION, "runs_dir": str(runs_dir),
                       "rows": [r.as_dict() for r in rows]}, indent=2)


def write(out: Path, rows: Sequence[Row], runs_dir: Path) -> Path:
    """The page at ``out`` and ``history.json`` beside it; returns the JSON's path."""
    write_atomic(out, render(rows, str(runs_dir), charts(rows)))
    data = out.with_name("history.json")
    write_atomic(data, to_json(rows, runs_dir))
    return data
