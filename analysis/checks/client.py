"""Checks over the recorded requests: latency p95 per window, 5xx ratio per window, lost acks.

Client-side figures are exact (every request, nearest-rank percentiles). A window with no
request in it has no evidence: INCONCLUSIVE.
"""

from __future__ import annotations

import pandas as pd

from analysis.requests import percentile
from analysis.run import Run
from analysis.verdict import CheckResult, Status, inconclusive
from analysis.windows import Window

JUDGED_FOR_LATENCY = ("baseline", "cooldown")  # not warm-up, not the fault windows


def in_window(df: pd.DataFrame, w: Window) -> pd.DataFrame:
    return df[(df["t_start"] >= w.start) & (df["t_start"] < w.end)]


def server_errors(df: pd.DataFrame) -> pd.Series:
    """5xx, and requests that got no answer at all (status 0): both are the service failing."""
    status = df["status"].fillna(0).astype("int64")
    return (status >= 500) | (status == 0)


def latency_p95(run: Run) -> list[CheckResult]:
    limit = run.threshold("p95_ms", 200)
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
        out.append(CheckResult(
            "latency_p95", Status.PASS if ok else Status.FAIL, round(p95, 3), limit, w.label(),
            f"{len(df)} client samples (exact)",
            f"p95 {p95:.1f} ms {'<' if ok else '>='} {limit:g} ms",
            {"samples": len(df), "p50_ms": percentile(df["latency_ms"], 50),
             "p99_ms": percentile(df["latency_ms"], 99)}))
    if not out:
        out.append(inconclusive("latency_p95", "baseline/cooldown", "the run has no baseline or cool-down window",
                                limit))
    return out


def error_rate_5xx(run: Run) -> list[CheckResult]:
    limit = run.threshold("max_5xx_ratio", 0.05)
    out = []
    for w in run.windows:
        if w.name == "warmup":
            continue
        df = in_window(run.requests, w)
        if df.empty:
            out.append(inconclusive("error_rate_5xx", w.label(), "no request recorded in this window", limit))
            continue
        bad = int(server_errors(df).sum())
        ratio = bad / len(df)
        ok = ratio < limit
        out.append(CheckResult(
            "error_rate_5xx", Status.PASS if ok else Status.FAIL, round(ratio, 5), limit, w.label(),
            f"{len(df)} client samples", f"{bad} of {len(df)} requests failed server-side ({ratio:.2%})",
            {"requests": len(df), "server_errors": bad}))
    if not out:
        out.append(inconclusive("error_rate_5xx", "run", "the run has no judged window", limit))
    return out


def lost_acks(run: Run) -> list[CheckResult]:
    limit = run.threshold("max_lost_acks", 0)
    window = "end of run"
    if run.acks.empty:
        return [inconclusive("lost_acks", window, "no acknowledged mission recorded", limit)]
    if run.readback is None:
        return [inconclusive("lost_acks", window, "acknowledged missions were never read back (no readback.json)",
                             limit)]
    acked = set(run.acks["mission_id"].astype(str))
    found = run.readback.found
    lost = sorted(acked - set(found))
    never = sorted(m for m in acked & set(found) if found[m] != "completed")
    ok = len(lost) <= limit
    return [CheckResult(
        "lost_acks", Status.PASS if ok else Status.FAIL, float(len(lost)), limit, window,
        f"{len(acked)} acknowledged missions read back",
        f"{len(lost)} lost, {len(never)} never completed, {len(acked) - len(lost) - len(never)} completed",
        {"acknowledged": len(acked), "lost": lost[:100], "lost_count": len(lost),
         "never_completed": never[:100], "never_completed_count": len(never)})]
