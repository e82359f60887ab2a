"""Crew assembly and watchdog recovery actions in the baseline: shown always, judged where the
profile sets a line.

``crew_assembly_total{result}`` (a result other than ``ok`` is a failed assembly) and
``watchdog_recovery_actions_total{action}`` have no checklist number: a healthy baseline has
neither, yet a platform may retry by design. So the report shows them (``missions.shown``), and
``checks.max_crew_assembly_failures`` / ``checks.max_watchdog_actions`` turn each into a check.
Counts come from the snapshotted rates, integrated over the window (≈, to the rate's precision).
"""

from __future__ import annotations

import json

import numpy as np

from gameday.analysis.prom import Series, missing_reason, read_series
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import Window

OK_RESULTS = ("ok",)


def counts_by_label(s: Series, w: Window | None, key: str) -> dict[str, float]:
    """Σ value × step per value of label ``key``: a per-second rate becomes a count over ``w``."""
    df = s.points(w)
    if w is not None:
        df = df[df["timestamp"] < w.end]  # half-open: a point on the boundary is the next window's step
    if df.empty:
        return {}
    stamps = np.unique(s.data["timestamp"].to_numpy(dtype="float64"))
    step = float(np.median(np.diff(stamps))) if stamps.size > 1 else 1.0
    out: dict[str, float] = {}
    for labels, value in zip(df["labels"], df["value"], strict=True):
        if not np.isfinite(value):
            continue
        name = str(json.loads(str(labels) if isinstance(labels, str) else "{}").get(key, ""))
        out[name] = out.get(name, 0.0) + float(value) * step
    return out


def baseline_counts(run: Run, series: str, key: str) -> tuple[Window, dict[str, float]] | str:
    """Counts by ``key`` of a rate series over the baseline, or why there are none."""
    w = next((x for x in run.windows if x.name == "baseline"), None)
    if w is None:
        return "the run has no baseline window"
    s = read_series(run.path, series)
    why = missing_reason(run.path, series, s)
    if s is None or why is not None:
        return why or f"no Prometheus snapshot of {series!r}"
    return w, counts_by_label(s, w, key)


def _line_check(run: Run, check_id: str, line_key: str, series: str, key: str, what: str,
                bad: tuple[str, ...] | None) -> list[CheckResult]:
    """``bad``: the label values that count (None: every value counts)."""
    line = run.checks.get(line_key)
    if line is None:
        if check_id in (run.checks.get("required") or []):
            return [inconclusive(check_id, "baseline", f"required, but no line is set (checks.{line_key})")]
        return []  # shown in the report, not judged
    limit = float(line)
    got = baseline_counts(run, series, key)
    if isinstance(got, str):
        return [inconclusive(check_id, "baseline", got, limit)]
    w, counts = got
    counted = {k: round(v) for k, v in counts.items() if bad is None or k not in bad}
    n = sum(counted.values())
    ok = n <= limit
    text = ", ".join(f"{k} ≈{v}" for k, v in sorted(counted.items()) if v) or "none"
    return [CheckResult(check_id, Status.PASS if ok else Status.FAIL, float(n), limit, w.label(),
                        f"Prometheus {series} (rates integrated over the window)",
                        f"≈{n} {what} in the baseline ({text}) {'<=' if ok else '>'} {limit:g}",
                        {"by_label": {k: round(v, 1) for k, v in counts.items()}})]


def crew_assembly(run: Run) -> list[CheckResult]:
    return _line_check(run, "crew_assembly", "max_crew_assembly_failures", "crew_assembly_by_result", "result",
                       "failed crew assemblies", OK_RESULTS)


def watchdog_actions(run: Run) -> list[CheckResult]:
    return _line_check(run, "watchdog_actions", "max_watchdog_actions", "watchdog_actions", "action",
                       "watchdog recovery actions", None)


def counter_increase(s: Series, key: str) -> dict[str, float]:
    """What raw counters (one series per pod) counted over the snapshot, by label ``key``.

    Per series: every rise, a reset's new value (a restarted pod counts from 0), and the first
    value of a series that appeared after the snapshot began (a new pod, or a label first used
    in the run). A series already there at the start keeps its earlier counts out.
    """
    df = s.data.dropna(subset=["value"])
    if df.empty:
        return {}
    stamps = np.unique(df["timestamp"].to_numpy(dtype="float64"))
    step = float(np.median(np.diff(stamps))) if stamps.size > 1 else 1.0
    first_seen = float(stamps[0])
    out: dict[str, float] = {}
    for labels, g in df.groupby("labels", sort=False):
        v = g.sort_values("timestamp")["value"].to_numpy(dtype="float64")
        d = np.diff(v)
        inc = float(d[d > 0].sum() + v[1:][d < 0].sum())
        if float(g["timestamp"].min()) > first_seen + 2 * step:
            inc += float(v[0])
        name = str(json.loads(str(labels)).get(key, ""))
        out[name] = out.get(name, 0.0) + inc
    return out
