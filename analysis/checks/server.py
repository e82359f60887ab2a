"""Checks over the Prometheus evidence: throughput, warm-pool agent start-up, automated rollback.

Each reads the snapshotted series of the run directory only (analysis.prom). A series that
failed or came back empty makes the check INCONCLUSIVE, with the reason.
"""

from __future__ import annotations

import numpy as np

from analysis.prom import missing_reason, read_series
from analysis.run import Run
from analysis.verdict import CheckResult, Status, inconclusive
from analysis.windows import Window, first_event

STEADY = ("baseline",)


def _steady_windows(run: Run) -> list[Window]:
    return [w for w in run.windows if w.name in STEADY]


def throughput(run: Run) -> list[CheckResult]:
    need = run.threshold("missions_per_min", 50)
    windows = _steady_windows(run)
    if not windows:
        return [inconclusive("throughput", "baseline", "the run has no baseline window", need)]
    s = read_series(run.path, "missions_per_min")
    why = missing_reason(run.path, "missions_per_min", s)
    out = []
    for w in windows:
        acks_in = run.acks[(run.acks["t_ack"] >= w.start) & (run.acks["t_ack"] < w.end)]
        client_rate = len(acks_in) / ((w.end - w.start) / 60) if w.end > w.start else float("nan")
        values = s.values(w) if s is not None and why is None else np.array([])
        if values.size == 0:
            out.append(inconclusive("throughput", w.label(), why or "no Prometheus point in this window", need))
            continue
        rate = float(np.median(values))
        ok = rate >= need
        out.append(CheckResult(
            "throughput", Status.PASS if ok else Status.FAIL, round(rate, 2), need, w.label(),
            f"Prometheus missions_completed_total, median of {values.size} points",
            f"{rate:.1f} missions completed/min {'>=' if ok else '<'} {need:g}",
            {"client_acks_per_min": round(client_rate, 2), "promql": s.query if s else ""}))
    return out


def agent_startup_warm(run: Run) -> list[CheckResult]:
    limit = run.threshold("warm_startup_p95_s", 2.0)
    windows = _steady_windows(run)
    if not windows:
        return [inconclusive("agent_startup_warm", "baseline", "the run has no baseline window", limit)]
    s = read_series(run.path, "startup_p95")
    why = missing_reason(run.path, "startup_p95", s)
    by_pool = read_series(run.path, "startup_by_pool")
    out = []
    for w in windows:
        values = s.values(w) if s is not None and why is None else np.array([])
        if values.size == 0:
            out.append(inconclusive("agent_startup_warm", w.label(), why or "no crew was assembled in this window",
                                    limit))
            continue
        p95 = float(np.median(values))
        warm = float(np.mean(by_pool.values(w, pool="warm"))) if by_pool is not None and by_pool.values(
            w, pool="warm").size else 0.0
        cold = float(np.mean(by_pool.values(w, pool="cold"))) if by_pool is not None and by_pool.values(
            w, pool="cold").size else 0.0
        hit = warm / (warm + cold) if warm + cold > 0 else float("nan")
        ok = p95 < limit
        out.append(CheckResult(
            "agent_startup_warm", Status.PASS if ok else Status.FAIL, round(p95, 3), limit, w.label(),
            f"Prometheus agent_startup_seconds, median of {values.size} p95 points",
            f"crew start-up p95 {p95:.2f} s {'<' if ok else '>='} {limit:g} s; pool hit rate {hit:.0%}",
            {"pool_hit_rate": None if np.isnan(hit) else round(hit, 4)}))
    return out


def automated_rollback(run: Run) -> list[CheckResult]:
    """The bad release: rolled back on the expected failed health check, within the bound, with
    the revision that served before it serving again."""
    expected = int(run.threshold("rollback_on_failure", 4))
    within = run.threshold("rollback_within_s", 60)
    w = next((x for x in run.windows if x.name == "fault:bad-release"), None)
    if w is None:
        return [inconclusive("automated_rollback", "fault:bad-release", "no bad release was injected in this run",
                             float(expected))]
    injected = first_event(run.events, "fault_injected", fault="bad-release")
    t0 = float(injected["t"]) if injected else w.start
    series = {n: read_series(run.path, n) for n in ("deployment_rollbacks", "health_check_failures",
                                                      "deployment_revision")}
    for n, s in series.items():
        why = missing_reason(run.path, n, s)
        if why:
            return [inconclusive("automated_rollback", w.label(), why, float(expected))]
    # the counters and the revision just before the injection, then what happened inside the window
    whole = {n: s.points().groupby("timestamp")["value"].max()  # type: ignore[union-attr]
             for n, s in series.items()}
    rb_all, hc_all = whole["deployment_rollbacks"], whole["health_check_failures"]
    rev_all = whole["deployment_revision"]
    inside = (rb_all.index >= t0) & (rb_all.index <= w.end)
    if not inside.any() or not (rev_all.index < t0).any():
        return [inconclusive("automated_rollback", w.label(), "no Prometheus point around the bad release",
                             float(expected))]
    before_rb = float(rb_all[rb_all.index < t0].iloc[-1]) if (rb_all.index < t0).any() else 0.0
    hc_before = float(hc_all[hc_all.index < t0].iloc[-1]) if (hc_all.index < t0).any() else 0.0
    revision_before = float(rev_all[rev_all.index < t0].iloc[-1])
    rb_by_t = rb_all[inside]
    hc_by_t = hc_all[(hc_all.index >= t0) & (hc_all.index <= w.end)]
    rev_in = rev_all[(rev_all.index >= t0) & (rev_all.index <= w.end)]
    revision_end = float(rev_in.iloc[-1]) if not rev_in.empty else revision_before
    after = rb_by_t[rb_by_t > before_rb]
    if after.empty:
        return [CheckResult("automated_rollback", Status.FAIL, None, float(expected), w.label(),
                            "Prometheus deployment_rollbacks_total", "no rollback happened in the fault window",
                            {"revision_before": revision_before, "revision_end": revision_end,
                             "health_check_failures": float(hc_by_t.iloc[-1] - hc_before) if not hc_by_t.empty
                             else None})]
    t_rb = float(after.index[0])
    failures = float(hc_by_t[hc_by_t.index <= t_rb].iloc[-1] - hc_before) if (hc_by_t.index <= t_rb).any() else 0.0
    took = t_rb - t0
    # Prometheus samples each second: the counter may show one more failure than the controller saw
    on_time = expected <= failures <= expected + 1
    ok = on_time and took <= within and revision_end == revision_before
    msg = (f"rolled back {took:.1f} s after the release, after {failures:.0f} failed health checks "
           f"(expected {expected}), revision {revision_before:g} -> {revision_end:g}")
    return [CheckResult("automated_rollback", Status.PASS if ok else Status.FAIL, failures, float(expected),
                        w.label(), "Prometheus deployment_rollbacks_total, health_check_failures_total, "
                        "deployment_revision", msg,
                        {"rollback_after_s": round(took, 3), "within_s": within,
                         "revision_before": revision_before, "revision_end": revision_end})]
