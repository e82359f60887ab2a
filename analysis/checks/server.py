"""Checks over the Prometheus evidence: throughput, automated rollback.

Each reads the snapshotted series of the run directory only (gameday.analysis.prom). A series that
failed or came back empty makes the check INCONCLUSIVE, with the reason.
"""

from __future__ import annotations

import numpy as np

from gameday.analysis.counters import growth
from gameday.analysis.injection import injected_at, not_injected_reason
from gameday.analysis.prom import missing_reason, read_series
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import Window, first_event
from gameday.contract.events import Event

STEADY = ("baseline",)
# the shortest stretch of a window a counter's growth is turned into a rate over (and never less
# than one scrape interval): shorter, a few missions more or less swing the rate by tens per minute
MIN_SPAN_S = 10.0


def _steady_windows(run: Run) -> list[Window]:
    return [w for w in run.windows if w.name in STEADY]


def throughput(run: Run) -> list[CheckResult]:
    """Missions completed per minute in the baseline: from the growth of ``missions_completed_total``
    inside the window where the raw counter was snapshotted (gameday.analysis.counters: the rate series'
    points average a range that reaches back before a short baseline), else the median of the rate
    series as the profile's PromQL computes it."""
    need = run.threshold("missions_per_min")
    windows = _steady_windows(run)
    if not windows:
        return [inconclusive("throughput", "baseline", "the run has no baseline window", need)]
    s = read_series(run.path, "missions_per_min")
    why = missing_reason(run.path, "missions_per_min", s)
    counter = read_series(run.path, "missions_completed")
    usable = None if counter is None or missing_reason(run.path, "missions_completed", counter) else counter
    out = []
    for w in windows:
        acks_in = run.acks[(run.acks["t_ack"] >= w.start) & (run.acks["t_ack"] < w.end)]
        client_rate = len(acks_in) / ((w.end - w.start) / 60) if w.end > w.start else float("nan")
        values = s.values(w) if s is not None and why is None else np.array([])
        grew = (growth(usable, w, lambda lab: lab.get("status") == "completed",
                       max(MIN_SPAN_S, usable.scrape_interval_s or 0.0)) if usable is not None else None)
        if grew is not None and usable is not None:
            rate = grew.per_min
            ok = rate >= need
            median_v = round(float(np.median(values)), 2) if values.size else None
            median = f"; the rate series' median {median_v:.1f} beside" if median_v is not None else ""
            out.append(CheckResult(
                "throughput", Status.PASS if ok else Status.FAIL, round(rate, 2), need, w.label(),
                f"Prometheus missions_completed_total{{status=\"completed\"}}, its growth inside the window "
                f"({usable.resolution()})",
                f"{rate:.1f} missions completed/min {'>=' if ok else '<'} {need:g} ({grew.increase:g} completed "
                f"in the {grew.span_s:.0f} s between two scrapes inside the window{median})",
                {"client_acks_per_min": round(client_rate, 2), "completed": grew.increase,
                 "span_s": round(grew.span_s, 3), "rate_series_median": median_v, "resolution": usable.resolution(),
                 "scrape_interval_s": usable.scrape_interval_s}))
            continue
        if values.size == 0:
            out.append(inconclusive("throughput", w.label(), why or "no Prometheus point in this window", need))
            continue
        rate = float(np.median(values))
        ok = rate >= need
        out.append(CheckResult(
            "throughput", Status.PASS if ok else Status.FAIL, round(rate, 2), need, w.label(),
            f"Prometheus missions_completed_total, median of {values.size} points ({s.resolution() if s else ''})",
            f"{rate:.1f} missions completed/min {'>=' if ok else '<'} {need:g} (the rate series' median: "
            f"{'the counter changed at fewer than two scrapes inside the window; ' if usable is not None else ''}"
            f"{s.resolution() if s else 'resolution unknown'})",
            {"client_acks_per_min": round(client_rate, 2), "promql": s.query if s else "",
             "resolution": s.resolution() if s else None,
             "scrape_interval_s": s.scrape_interval_s if s else None}))
    return out


def automated_rollback(run: Run) -> list[CheckResult]:
    """The bad release: rolled back on the expected failed health check, within the bound, with
    the revision that served before it serving again.

    A release that was never shipped is INCONCLUSIVE with the reason (the steady state did not
    hold, the experiment could not run), never FAIL. The Prometheus counters change between two
    scrapes: the rollback happened after the last point that does not show it and before the first
    that does (or the experiment's recovery, if earlier); it is judged within the bound only when
    that whole range is, FAIL only when none of it is, INCONCLUSIVE in between. The window is read
    one scrape interval past its end: what happened inside it reaches Prometheus up to one scrape
    later."""
    expected = int(run.threshold("rollback_on_failure"))
    within = run.threshold("rollback_within_s")
    w = next((x for x in run.windows if x.name == "fault:bad-release"), None)
    if w is None:
        return [inconclusive("automated_rollback", "fault:bad-release", "no bad release in this run",
                             float(expected))]
    why_not = not_injected_reason(run.events, "bad-release")
    t0 = injected_at(run.events, "bad-release")
    if why_not is not None or t0 is None:
        return [inconclusive("automated_rollback", w.label(), why_not or "bad-release was never injected",
                             float(expected))]
    series = {n: read_series(run.path, n) for n in ("deployment_rollbacks", "health_check_failures",
                                                      "deployment_revision")}
    for n, s in series.items():
        why = missing_reason(run.path, n, s)
        if why:
            return [inconclusive("automated_rollback", w.label(), why, float(expected))]
    scrape_s = max((s.scrape_interval_s or 0.0) for s in series.values() if s is not None)
    step_s = max((s.step_s or 0.0) for s in series.values() if s is not None)
    end = w.end + scrape_s  # a change inside the window is scraped up to one interval later
    resolution = next(s for s in series.values() if s is not None).resolution()
    # the counters and the revision just before the injection, then what happened inside the window
    whole = {n: s.points().groupby("timestamp")["value"].max()  # type: ignore[union-attr]
             for n, s in series.items()}
    rb_all, hc_all = whole["deployment_rollbacks"], whole["health_check_failures"]
    rev_all = whole["deployment_revision"]
    inside = (rb_all.index >= t0) & (rb_all.index <= end)
    if not inside.any() or not (rev_all.index < t0).any():
        return [inconclusive("automated_rollback", w.label(), f"no Prometheus point around the bad release "
                             f"({resolution})", float(expected))]
    before_rb = float(rb_all[rb_all.index < t0].iloc[-1]) if (rb_all.index < t0).any() else 0.0
    hc_before = float(hc_all[hc_all.index < t0].iloc[-1]) if (hc_all.index < t0).any() else 0.0
    revision_before = float(rev_all[rev_all.index < t0].iloc[-1])
    rb_by_t = rb_all[inside]
    hc_by_t = hc_all[(hc_all.index >= t0) & (hc_all.index <= end)]
    rev_in = rev_all[(rev_all.index >= t0) & (rev_all.index <= end)]
    revision_end = float(rev_in.iloc[-1]) if not rev_in.empty else revision_before
    after = rb_by_t[rb_by_t > before_rb]
    if after.empty:
        return [CheckResult("automated_rollback", Status.FAIL, None, float(expected), w.label(),
                            f"Prometheus deployment_rollbacks_total ({resolution})",
                            "the bad release was shipped and no rollback happened in the fault window",
                            {"revision_before": revision_before, "revision_end": revision_end,
                             "health_check_failures": float(hc_by_t.iloc[-1] - hc_before) if not hc_by_t.empty
                             else None, "resolution": resolution})]
    t_seen = float(after.index[0])
    failures = float(hc_by_t[hc_by_t.index <= t_seen].iloc[-1] - hc_before) if (hc_by_t.index <= t_seen).any() \
        else 0.0
    recovered = first_event(run.events, Event.FAULT_RECOVERED, fault="bad-release")
    t_recovered = float(recovered["t"]) if recovered is not None else None
    # the rollback: after the previous scrape (up to one interval and one step before it was seen)
    latest = min(t_seen, t_recovered) if t_recovered is not None else t_seen
    earliest = max(t0, t_seen - scrape_s - step_s)
    took_max, took_min = latest - t0, min(earliest, latest) - t0
    # the counter may show one more failure than the controller saw when it rolled back
    on_time = expected <= failures <= expected + 1
    revision_ok = revision_end == revision_before
    timing = "=" if took_max - took_min < 0.05 else f"between {took_min:.1f} and"
    msg = (f"rolled back {timing} {took_max:.1f} s after the release (bound {within:g} s), after {failures:.0f} "
           f"failed health checks (expected {expected}), revision {revision_before:g} -> {revision_end:g}; "
           f"Prometheus: {resolution}")
    if not on_time or not revision_ok or took_min > within:
        status = Status.FAIL
    elif took_max <= within:
        status = Status.PASS
    else:
        status = Status.INCONCLUSIVE
        msg += f"; at this resolution it cannot be told whether that was within {within:g} s"
    return [CheckResult("automated_rollback", status, failures, float(expected),
                        w.label(), f"Prometheus deployment_rollbacks_total, health_check_failures_total, "
                        f"deployment_revision ({resolution}); the experiment's recovery", msg,
                        {"rollback_after_s": round(took_max, 3), "rollback_after_min_s": round(took_min, 3),
                         "within_s": within, "revision_before": revision_before, "revision_end": revision_end,
                         "resolution": resolution, "scrape_interval_s": scrape_s or None})]
