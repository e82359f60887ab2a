"""Checks over the recorded requests: latency p95 per window, 5xx ratio per window (lost acks: missions.py).

Client-side figures are exact (every request, nearest-rank percentiles). A window with no
request in it has no evidence: INCONCLUSIVE.
"""

from __future__ import annotations

import numpy as np

from gameday.analysis.checks.samples import in_window, outside_outage, server_errors
from gameday.analysis.prom import read_series
from gameday.analysis.recorded import percentile
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import Window

JUDGED_FOR_LATENCY = ("baseline", "cooldown")  # not warm-up, not the fault windows
FAULT_REST_MIN = 50  # requests a fault window must keep outside its outage to be judged on its own


def _prometheus_p95_ms(run: Run, w: Window) -> float | None:
    """The server's view (histogram, bucket-interpolated) over the same window, for comparison."""
    s = read_series(run.path, "latency_p95")
    if s is None or s.error:
        return None
    v = s.values(w)
    return float(np.median(v)) * 1000 if v.size else None


def latency_p95(run: Run) -> list[CheckResult]:
    """Judged on the exact client samples; the Prometheus histogram's p95 is reported beside it."""
    limit = run.threshold("p95_ms")
    out = []
    for w in run.windows:
        if w.name not in JUDGED_FOR_LATENCY:
            continue
        df = in_window(run.requests, w)
        if df.empty:
            out.append(inconclusive("latency_p95", w.label(), "no request recorded in this window", limit))
            continue
        p95 = percentile(df["latency_ms"], 95)
        ok = p95 < limit
        server = _prometheus_p95_ms(run, w)
        beside = "" if server is None else f"; Prometheus histogram p95 {server:.1f} ms ({server - p95:+.1f} ms)"
        out.append(CheckResult(
            "latency_p95", Status.PASS if ok else Status.FAIL, round(p95, 3), limit, w.label(),
            f"{len(df)} client samples (exact)",
            f"p95 {p95:.1f} ms {'<' if ok else '>='} {limit:g} ms{beside}",
            {"samples": len(df), "p50_ms": percentile(df["latency_ms"], 50),
             "p99_ms": percentile(df["latency_ms"], 99), "prometheus_p95_ms": server,
             "disagreement_ms": None if server is None else round(server - p95, 3)}))
    if not out:
        out.append(inconclusive("latency_p95", "baseline/cooldown", "the run has no baseline or cool-down window",
                                limit))
    return out


def error_rate_5xx(run: Run) -> list[CheckResult]:
    """The P1 line in every window. In a fault window, the outage from the injection until the
    service is back within SLA is the recovery-time check's to judge (against its own bound);
    the rest of the window must hold the line like any other."""
    limit = run.threshold("max_5xx_ratio")
    out = []
    for w in run.windows:
        if w.name == "warmup":
            continue
        df, excluded = outside_outage(run, w, in_window(run.requests, w))
        if w.is_fault and excluded and len(df) < FAULT_REST_MIN:
            continue  # the window is (nearly) all outage: recovery_time judges it, not a handful of requests
        if df.empty:
            out.append(inconclusive("error_rate_5xx", w.label(), "no request recorded in this window" + excluded,
                                    limit))
            continue
        bad = int(server_errors(df).sum())
        ratio = bad / len(df)
        ok = ratio < limit
        out.append(CheckResult(
            "error_rate_5xx", Status.PASS if ok else Status.FAIL, round(ratio, 5), limit, w.label(),
            f"{len(df)} client samples", f"{bad} of {len(df)} requests failed server-side ({ratio:.2%}){excluded}",
            {"requests": len(df), "server_errors": bad}))
    if not out:
        out.append(inconclusive("error_rate_5xx", "run", "the run has no judged window", limit))
    return out

