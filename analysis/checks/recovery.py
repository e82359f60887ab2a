"""Recovery time per fault: from the injection until latency and errors are back within SLA.

Client samples after the injection are cut into buckets of ``BUCKET_S``; a bucket is bad when
its server-error ratio reaches the 5xx line or its p95 reaches the latency line. Recovery is
the end of the last bad bucket, measured from the injection; a fault window that ends in a bad
bucket never recovered. A node drain must also keep its failed requests within its budget.
"""

from __future__ import annotations

import numpy as np

from analysis.checks.client import in_window, server_errors
from analysis.run import Run
from analysis.verdict import CheckResult, Status, inconclusive
from analysis.windows import first_event

BUCKET_S = 5.0
DEFAULT_BOUNDS = {"db-failover": 120.0, "redis-primary-kill": 30.0, "node-drain": 60.0, "bad-release": 120.0}


def recovery_time(run: Run) -> list[CheckResult]:
    p95_line = run.threshold("p95_ms", 200)
    err_line = run.threshold("max_5xx_ratio", 0.05)
    bounds = {**DEFAULT_BOUNDS, **(run.checks.get("recovery_s") or {})}
    out = []
    for w in [x for x in run.windows if x.is_fault]:
        fault = w.fault or ""
        bound = float(bounds.get(fault, 120.0))
        injected = first_event(run.events, "fault_injected", fault=fault)
        if injected is None:
            out.append(inconclusive("recovery_time", w.label(), f"{fault} was never injected (no fault_injected)",
                                    bound))
            continue
        t0 = float(injected["t"])
        df = in_window(run.requests, w)
        df = df[df["t_start"] >= t0]
        if df.empty:
            out.append(inconclusive("recovery_time", w.label(), "no request recorded after the injection", bound))
            continue
        edges = np.arange(t0, w.end + BUCKET_S, BUCKET_S)
        idx = np.digitize(df["t_start"].to_numpy(), edges) - 1
        bad_err = server_errors(df).to_numpy()
        lat = df["latency_ms"].to_numpy()
        last_bad_end: float | None = None
        last_bucket_bad = False
        buckets = 0
        for b in np.unique(idx):
            sel = idx == b
            buckets += 1
            ratio = float(bad_err[sel].mean())
            p95 = float(np.percentile(lat[sel], 95, method="inverted_cdf"))
            bad = ratio >= err_line or p95 >= p95_line
            last_bucket_bad = bad
            if bad:
                last_bad_end = float(edges[b] + BUCKET_S)
        failed = int(bad_err.sum())
        recovered = not last_bucket_bad
        took = 0.0 if last_bad_end is None else min(last_bad_end, w.end) - t0
        ok = recovered and took <= bound
        details = {"fault": fault, "failed_requests": failed, "requests": len(df), "buckets": buckets,
                   "recovered": recovered}
        msg = (f"{fault}: back within SLA {took:.1f} s after injection (bound {bound:g} s), "
               f"{failed} failed requests" if recovered else
               f"{fault}: still outside SLA when its window ended ({failed} failed requests)")
        if fault == "node-drain":
            budget = int(run.threshold("drain_error_budget", 0))
            details["error_budget"] = budget
            if failed > budget:
                ok = False
                msg += f"; the drain's error budget is {budget}"
        out.append(CheckResult("recovery_time", Status.PASS if ok else Status.FAIL,
                               round(took, 3) if recovered else None, bound, w.label(),
                               f"{len(df)} client samples after injection, {BUCKET_S:g} s buckets", msg, details))
    if not out:
        out.append(inconclusive("recovery_time", "faults", "no fault window in this run"))
    return out
