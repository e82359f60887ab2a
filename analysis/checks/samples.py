"""Selections over the recorded requests that several checks share."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gameday.analysis.outage import Outage, RecoveryLines, outage
from gameday.analysis.run import Run
from gameday.analysis.windows import Window, first_event
from gameday.contract.events import Event


def in_window(df: pd.DataFrame, w: Window) -> pd.DataFrame:
    """The rows with ``w.start <= t_start < w.end``. The recorded requests are sorted by start time
    (gameday.analysis.recorded): then two binary searches and a slice, no mask over every row and no
    copy of every column, which at ten million rows is most of a window's cost."""
    t = df["t_start"].to_numpy()
    if len(t) > 1 and t[0] <= t[-1] and df["t_start"].is_monotonic_increasing:
        lo, hi = np.searchsorted(t, [w.start, w.end], side="left")
        return df.iloc[int(lo):int(hi)]
    return df[(df["t_start"] >= w.start) & (df["t_start"] < w.end)]


def server_errors(df: pd.DataFrame) -> pd.Series:
    """5xx, and requests that got no answer at all (status 0): both are the service failing."""
    status = df["status"].to_numpy(dtype="int32", na_value=0)  # one copy, not a filled one and its int64 copy
    return pd.Series((status >= 500) | (status == 0), index=df.index)


def horizon(run: Run, t0: float) -> float:
    """How long a fault injected at ``t0`` owns what the clients see: until the next fault is
    injected, or the end of the run. A fault window closes when its experiment ends; an outage
    that outlasts it (crews still slow after the experiment saw the API healthy) is still this
    fault's, and its recovery is measured over it, not cut off."""
    later = [float(e["t"]) for e in run.events if e.get("event") == Event.FAULT_INJECTED and float(e["t"]) > t0]
    last = max([w.end for w in run.windows], default=t0)
    if len(run.requests):  # not past the last answer: after the load stopped, silence is not an outage
        last = min(last, float((run.requests["t_start"] + run.requests["latency_ms"] / 1000).max()))
    return max(t0, min(later) if later else last)


def fault_outage(run: Run, w: Window) -> Outage | None:
    """The outage of the fault of window ``w`` (gameday.analysis.outage); None if it was never injected."""
    return next((o for o in outages(run) if o.fault == w.fault), None)


def _fault_outage(run: Run, w: Window) -> Outage | None:
    injected = first_event(run.events, Event.FAULT_INJECTED, fault=w.fault)
    if injected is None:
        return None
    t0 = float(injected["t"])
    return outage(w.fault or "", run.requests, run.acks, t0, horizon(run, t0),
                  RecoveryLines.from_checks(run.checks))


_last: tuple[Run, list[Outage]] | None = None  # one run's outages: several checks ask, per window


def outages(run: Run) -> list[Outage]:
    """Every injected fault's outage (computed once per loaded run)."""
    global _last
    if _last is None or _last[0] is not run:
        _last = (run, [o for w in run.windows if w.is_fault for o in [_fault_outage(run, w)] if o is not None])
    return _last[1]


def outside_outage(run: Run, w: Window, df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``df`` (requests of window ``w``) without any fault's outage, from its injection until the
    service was back within SLA (until the next injection or the end of the run if it never was):
    that stretch is recovery_time's to judge, against its own bound, whichever window it spills
    into. Returns the rows and a note saying what was left out.

    A request is the outage's when it was in flight at any moment of it, not only when it started
    inside it: one sent just before the injection and failed by it (a crew spawn whose database went
    away under it) is what the fault did, and the outage's clock (gameday.analysis.outage) places it
    there by its answer. Cut by start time alone, those requests stayed in the window's own line:
    a CI run whose crew spawns took 3 s had 2 of 7 in flight at a failover's injection, both failed
    by it, and the window was NO-GO on them (``operation_errors``, 2026-12-02)."""
    kept = df
    cut = 0.0
    inflight = 0
    for o in outages(run):
        until = o.back_at if o.back_at is not None else o.window_end
        a, b = max(o.injected, w.start), min(until, w.end)
        if b > a:
            cut += b - a
        if until <= o.injected or kept.empty:
            continue
        start = kept["t_start"].to_numpy(dtype="float64")
        answered = start + np.nan_to_num(kept["latency_ms"].to_numpy(dtype="float64"), nan=0.0) / 1000
        across = (start < until) & (answered >= o.injected)
        inflight += int(np.count_nonzero(across & ((start < a) | (start >= max(a, b)))))
        kept = kept[~across]
    note = f"; {cut:.0f} s of fault outage left to recovery_time" if cut else ""
    if inflight:
        note += f"; {inflight} request{'s' * (inflight != 1)} in flight across an outage left to recovery_time"
    return kept, note
