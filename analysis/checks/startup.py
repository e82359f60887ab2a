"""Crew start-up with the warm pool in place (checklist: agent startup, warm pool, p95 < 2 s).

Judged on the exact start-up every acknowledged crew's 201 reported (``startup_ms``, ``pool``
in acks.*.csv), nearest rank, over every crew of the baseline: a crew that had to start cold
because the pool ran dry is a start-up the user waited for, so it counts. Beside it: the
warm-only p95, the pool hit rate and the Prometheus histogram's p95 (bucket-interpolated, which
is why it differs). A run whose 201s carried no start-up (an older run, a target that leaves it
out) falls back to the histogram, and says so.
"""

from __future__ import annotations

import numpy as np

from gameday.analysis.prom import missing_reason, read_series
from gameday.analysis.recorded import percentile
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import Window

STEADY = ("baseline",)


def _histogram_p95_s(run: Run, w: Window) -> tuple[float | None, str | None]:
    s = read_series(run.path, "startup_p95")
    why = missing_reason(run.path, "startup_p95", s)
    if s is None or why is not None:
        return None, why
    v = s.values(w)
    return (float(np.median(v)), None) if v.size else (None, "no Prometheus point in this window")


def agent_startup_warm(run: Run) -> list[CheckResult]:
    limit = run.threshold("warm_startup_p95_s")
    windows = [w for w in run.windows if w.name in STEADY]
    if not windows:
        return [inconclusive("agent_startup_warm", "baseline", "the run has no baseline window", limit)]
    out = []
    for w in windows:
        acks = run.acks[(run.acks["t_ack"] >= w.start) & (run.acks["t_ack"] < w.end)]
        crews = acks.dropna(subset=["startup_ms"])
        hist, why = _histogram_p95_s(run, w)
        if crews.empty:
            if hist is None:
                out.append(inconclusive("agent_startup_warm", w.label(), "no crew start-up reported by the 201s, "
                                        f"and {why}", limit))
                continue
            ok = hist < limit
            out.append(CheckResult(
                "agent_startup_warm", Status.PASS if ok else Status.FAIL, round(hist, 3), limit, w.label(),
                "Prometheus agent_startup_seconds (no client start-up samples: the 201s carried none)",
                f"crew start-up p95 {hist:.2f} s {'<' if ok else '>='} {limit:g} s (histogram)",
                {"source": "prometheus", "histogram_p95_s": hist}))
            continue
        ms = crews["startup_ms"].to_numpy(dtype="float64")
        p95 = percentile(ms, 95) / 1000
        pools = crews["pool"].fillna("").astype(str)
        warm = int((pools == "warm").sum())
        cold = int((pools == "cold").sum())
        hit = warm / (warm + cold) if warm + cold else float("nan")
        warm_p95 = percentile(ms[(pools == "warm").to_numpy()], 95) / 1000 if warm else float("nan")
        ok = p95 < limit
        beside = f"; Prometheus histogram p95 {hist:.2f} s" if hist is not None else ""
        hit_text = f"{hit:.0%}" if warm + cold else "not reported"
        warm_text = f"{warm_p95:.3f} s" if warm else "-"
        out.append(CheckResult(
            "agent_startup_warm", Status.PASS if ok else Status.FAIL, round(p95, 4), limit, w.label(),
            f"{len(crews)} acknowledged crews' startup_ms (exact)",
            f"crew start-up p95 {p95:.3f} s {'<' if ok else '>='} {limit:g} s; warm-pool crews p95 {warm_text}, "
            f"pool hit rate {hit_text} ({warm} warm, {cold} cold){beside}",
            {"source": "client", "crews": len(crews), "warm": warm, "cold": cold,
             "pool_hit_rate": None if np.isnan(hit) else round(hit, 4),
             "warm_p95_s": None if np.isnan(warm_p95) else round(warm_p95, 4), "histogram_p95_s": hist,
             "p50_s": round(percentile(ms, 50) / 1000, 4)}))
    return out
