"""Recovery time per fault: from the injection until latency and errors are back within SLA.

Client samples after the injection are cut into buckets of ``BUCKET_S``; a bucket is bad when
its server-error ratio reaches the 5xx line or its p95 reaches the latency line. Recovery is
the end of the last bad bucket, measured from the injection; a fault window that ends in a bad
bucket never recovered. A node drain must also keep its failed requests within its budget.
"""

from __future__ import annotations

from analysis.checks.samples import BUCKET_S, in_window, recovered_at, server_errors
from analysis.run import Run
from analysis.verdict import CheckResult, Status, inconclusive
from analysis.windows import first_event

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
        back, buckets = recovered_at(df, t0, w.end, p95_line, err_line)
        failed = int(server_errors(df).sum())
        took = None if back is None else back - t0
        ok = took is not None and took <= bound
        details: dict[str, object] = {"fault": fault, "failed_requests": failed, "requests": len(df),
                                      "buckets": buckets, "recovered": took is not None}
        msg = (f"{fault}: back within SLA {took:.1f} s after injection (bound {bound:g} s), "
               f"{failed} failed requests" if took is not None else
               f"{fault}: still outside SLA when its window ended ({failed} failed requests)")
        if fault == "node-drain":
            budget = int(run.threshold("drain_error_budget", 0))
            details["error_budget"] = budget
            if failed > budget:
                ok = False
                msg += f"; the drain's error budget is {budget}"
        out.append(CheckResult("recovery_time", Status.PASS if ok else Status.FAIL,
                               None if took is None else round(took, 3), bound, w.label(),
                               f"{len(df)} client samples after injection, {BUCKET_S:g} s buckets", msg, details))
    if not out:
        out.append(inconclusive("recovery_time", "faults", "no fault window in this run"))
    return out
