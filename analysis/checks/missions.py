"""Checks over the read-back: what became of every acknowledged mission, and how long it took.

At the end of a run every acknowledged mission is one of four outcomes, each judged by one
check, so a target that breaks one of them fails exactly that check:

* ``lost_acks``       — unknown to the target although it acknowledged it (data loss);
* ``missions_stuck``  — still ``queued``/``running`` after the read-back waited
  ``checks.mission_settle_s`` for in-flight missions to finish;
* ``mission_success`` — completed / ended (completed + failed): stuck and lost missions are the
  two checks above's, not counted twice;
* ``mission_time``    — acknowledgement (``created_at``) to completion (``completed_at``), p95 of the
  completed missions acknowledged in the baseline and in the cool-down; fault windows are shown.
  A mission of those windows still in flight when a fault window began is the fault's (its delay
  is that fault's recovery's to judge): it is counted apart, not in the window's p95.

Each outcome is attributed to the window its acknowledgement fell in (client ``t_ack``), and the
Prometheus figures (``missions_completed_total{status}``, ``agent_task_duration_seconds``) are
reported beside the client ones. No read-back, a failed read-back or no acknowledgement at all is
INCONCLUSIVE, never PASS.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from gameday.analysis.checks.platform import baseline_counts, counter_increase
from gameday.analysis.prom import missing_reason, read_series
from gameday.analysis.recorded import percentile
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import Window

END = "end of run"
IN_FLIGHT = ("queued", "running")
JUDGED_FOR_TIME = ("baseline", "cooldown")  # as latency: a fault's own delay is its recovery's to judge
OUTSIDE = "outside the phases"  # acknowledged between phases or after the cool-down
LISTED = 20  # ids listed per window in a result's details


@dataclass(frozen=True)
class Outcomes:
    """Every acknowledged mission's status at the read-back (None: lost) and its window."""

    status: dict[str, str | None]
    window: dict[str, str]

    @cached_property
    def _by_status(self) -> dict[str | None, list[str]]:
        """The ids of each status, sorted once: four checks ask, and sorting two million ids
        (an hour's soak) each time costs seconds."""
        by: dict[str | None, list[str]] = {}
        for m, s in self.status.items():
            by.setdefault(s, []).append(m)
        for ids in by.values():
            ids.sort()
        return by

    def ids(self, *statuses: str | None) -> list[str]:
        lists = [self._by_status.get(s, []) for s in dict.fromkeys(statuses)]
        if len(lists) == 1:
            return list(lists[0])
        return sorted(m for ids in lists for m in ids)

    def ids_other_than(self, *statuses: str | None) -> list[str]:
        return self.ids(*(s for s in self._by_status if s not in statuses))

    def by_window(self, ids: list[str]) -> dict[str, int]:
        return dict(sorted(Counter(self.window[m] for m in ids).items()))

    def listed(self, ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for m in ids:
            if len(out.setdefault(self.window[m], [])) < LISTED:
                out[self.window[m]].append(m)
        return out


def _windows_of(run: Run) -> dict[str, str]:
    """Each acknowledged mission's window, by its first acknowledgement. The acks are sorted by
    time (gameday.analysis.recorded): a window is a slice; and the dict is built from the end, so a
    mission acknowledged twice keeps its first window without a pass to drop duplicates (an
    hour's soak acknowledges two million missions: each pass over them is a second)."""
    acks = run.acks
    t = acks["t_ack"].to_numpy(dtype="float64")
    names = np.full(t.shape, OUTSIDE, dtype=object)
    ordered = bool(np.all(t[1:] >= t[:-1]))
    for w in run.windows:
        if ordered:
            lo, hi = np.searchsorted(t, [w.start, w.end], side="left")
            names[lo:hi] = w.name
        else:
            names[(t >= w.start) & (t < w.end)] = w.name
    ids = [str(m) for m in acks["mission_id"].tolist()]
    return dict(zip(reversed(ids), reversed(names.tolist()), strict=True))


def outcomes(run: Run, check_id: str, limit: float | None) -> Outcomes | CheckResult:
    """The outcomes, or the INCONCLUSIVE result saying why there are none."""
    if run.acks.empty:
        return inconclusive(check_id, END, "no acknowledged mission recorded", limit)
    if run.readback is None:
        return inconclusive(check_id, END, "acknowledged missions were never read back (no readback.json)", limit)
    if run.readback.error:
        return inconclusive(check_id, END, f"the read-back failed: {run.readback.error}", limit)
    global _last
    if _last is None or _last[0] is not run:  # four checks ask; a million acks take a second each time
        window = _windows_of(run)
        found = run.readback.found
        status = found.get  # one look-up a mission, not two (its values are strings: gameday.analysis.run checked)
        _last = (run, Outcomes({m: status(m) for m in window}, window))
    return _last[1]


_last: tuple[Run, Outcomes] | None = None


def _per_window(counts: dict[str, int]) -> str:
    return ", ".join(f"{w}: {n}" for w, n in counts.items())


def lost_acks(run: Run) -> list[CheckResult]:
    """Acknowledged, then unknown to the target. Failed and stuck missions are judged elsewhere."""
    limit = run.threshold("max_lost_acks")
    o = outcomes(run, "lost_acks", limit)
    if isinstance(o, CheckResult):
        return [o]
    lost = o.ids(None)
    ok = len(lost) <= limit
    where = f" (acknowledged in {_per_window(o.by_window(lost))})" if lost else ""
    return [CheckResult(
        "lost_acks", Status.PASS if ok else Status.FAIL, float(len(lost)), limit, END,
        f"{len(o.status)} acknowledged missions read back",
        f"{len(lost)} lost of {len(o.status)} acknowledged{where}",
        {"acknowledged": len(o.status), "lost": lost[:100], "lost_count": len(lost),
         "lost_by_window": o.by_window(lost), "lost_ids_by_window": o.listed(lost)})]


def _prometheus_outcomes(run: Run) -> tuple[str, dict[str, float]]:
    """``missions_completed_total`` by status over the run, as the workers counted it (scraped once a step:
    what a worker counted after its last scrape is not in it)."""
    s = read_series(run.path, "missions_completed")
    why = missing_reason(run.path, "missions_completed", s)
    if s is None or why is not None:
        return f"; Prometheus: {why}", {}
    counts = {k: round(v, 1) for k, v in counter_increase(s, "status").items()}
    text = ", ".join(f"{k} {v:.0f}" for k, v in sorted(counts.items()))
    return f"; Prometheus missions_completed_total: {text or 'nothing counted'}", counts


def mission_success(run: Run) -> list[CheckResult]:
    need = run.threshold("min_mission_success")
    o = outcomes(run, "mission_success", need)
    if isinstance(o, CheckResult):
        return [o]
    completed = o.ids("completed")
    in_flight, lost = o.ids(*IN_FLIGHT), o.ids(None)
    not_completed = o.ids_other_than("completed", *IN_FLIGHT, None)  # failed, or off-contract
    ended = len(completed) + len(not_completed)
    beside, prom = _prometheus_outcomes(run)
    if ended == 0:
        return [inconclusive("mission_success", END, f"no acknowledged mission ended ({len(in_flight)} still "
                             f"queued/running, {len(lost)} lost){beside}", need)]
    ratio = len(completed) / ended
    ok = ratio >= need
    where = f" (acknowledged in {_per_window(o.by_window(not_completed))})" if not_completed else ""
    statuses = dict(sorted(Counter(str(o.status[m]) for m in not_completed).items()))
    return [CheckResult(
        "mission_success", Status.PASS if ok else Status.FAIL, round(ratio, 5), need, END,
        f"read-back of {len(o.status)} acknowledged missions; {len(in_flight)} stuck and {len(lost)} lost are "
        "judged by missions_stuck and lost_acks",
        f"{len(completed)} of {ended} ended missions completed ({ratio:.2%} {'>=' if ok else '<'} {need:.0%}); "
        f"{len(not_completed)} failed{where}{beside}",
        {"acknowledged": len(o.status), "completed": len(completed), "failed": len(not_completed),
         "failed_statuses": statuses, "failed_by_window": o.by_window(not_completed),
         "failed_ids_by_window": o.listed(not_completed), "in_flight": len(in_flight), "lost": len(lost),
         "prometheus_by_status": prom})]


def missions_stuck(run: Run) -> list[CheckResult]:
    limit = run.threshold("max_stuck_missions")
    o = outcomes(run, "missions_stuck", limit)
    if isinstance(o, CheckResult):
        return [o]
    assert run.readback is not None
    stuck = o.ids(*IN_FLIGHT)
    bound = run.readback.settle_bound_s
    if stuck and bound is None:
        return [inconclusive("missions_stuck", END, f"{len(stuck)} missions queued/running, but the read-back "
                             "did not wait for in-flight missions (no settle bound recorded)", limit)]
    if len(stuck) > limit and run.readback.settle_error:
        return [inconclusive("missions_stuck", END, f"{len(stuck)} missions queued/running at the first read; "
                             f"asking again failed: {run.readback.settle_error}", limit)]
    ok = len(stuck) <= limit
    where = f" (acknowledged in {_per_window(o.by_window(stuck))})" if stuck else ""
    statuses = dict(sorted(Counter(str(o.status[m]) for m in stuck).items()))
    return [CheckResult(
        "missions_stuck", Status.PASS if ok else Status.FAIL, float(len(stuck)), limit, END,
        f"read-back of {len(o.status)} acknowledged missions, in-flight ones awaited up to {bound or 0:g} s",
        f"{len(stuck)} of {len(o.status)} acknowledged missions still queued/running {bound or 0:g} s after "
        f"the load stopped{where}",
        {"acknowledged": len(o.status), "stuck": len(stuck), "stuck_statuses": statuses,
         "stuck_by_window": o.by_window(stuck), "stuck_ids_by_window": o.listed(stuck), "settle_bound_s": bound})]


def mission_times(run: Run, o: Outcomes) -> dict[str, np.ndarray]:
    """Seconds from ``created_at`` to ``completed_at`` of the completed missions read with times, by window."""
    assert run.readback is not None
    by: dict[str, list[float]] = {}
    for m in o.ids("completed"):
        created, done = run.readback.times.get(m, (None, None))
        if created is not None and done is not None:
            by.setdefault(o.window[m], []).append(done - created)
    return {w: np.asarray(v, dtype="float64") for w, v in by.items()}


def in_flight_into_a_fault(run: Run, o: Outcomes) -> set[str]:
    """Completed missions of a judged window that were still running when a fault window began.

    A mission acknowledged a second before the database fails waits out the outage: its time is
    the fault's, as a request's is (recovery_time judges it), not the baseline's. Its life on the
    client's clock is its first acknowledgement plus the target's ``completed_at - created_at``
    (the two clocks are never compared)."""
    assert run.readback is not None
    faults = [w for w in run.windows if w.is_fault]
    times = run.readback.times
    judged = [m for m in times if o.window.get(m) in JUDGED_FOR_TIME]
    if not faults or not judged:
        return set()
    acks = run.acks[run.acks["mission_id"].astype(str).isin(judged)].drop_duplicates("mission_id")
    acked = dict(zip(acks["mission_id"].astype(str).tolist(), acks["t_ack"].astype("float64").tolist(), strict=True))
    out = set()
    for m in judged:
        created, done = times[m]
        if created is None or done is None or m not in acked:
            continue
        start, end = acked[m], acked[m] + (done - created)
        if any(start < f.end and end > f.start for f in faults):
            out.add(m)
    return out


def task_p95(run: Run, w: Window) -> float | None:
    """The workers' view: one agent task's p95 (histogram, median over the window); a mission adds queueing."""
    s = read_series(run.path, "task_p95")
    if s is None or s.error:
        return None
    v = s.values(w)
    return float(np.median(v)) if v.size else None


def mission_time(run: Run) -> list[CheckResult]:
    limit = run.threshold("mission_p95_s")
    o = outcomes(run, "mission_time", limit)
    if isinstance(o, CheckResult):
        return [o]
    assert run.readback is not None
    rb = run.readback
    if not rb.times:
        why = rb.times_error or "the read-back holds no mission times (created_at/completed_at)"
        return [inconclusive("mission_time", END, why, limit)]
    times = mission_times(run, o)
    into_fault = in_flight_into_a_fault(run, o)
    apart = o.by_window(sorted(into_fault))
    if into_fault:  # the judged p95 leaves them out; the shown one (p95_s_by_window) keeps every mission
        kept = mission_times(run, Outcomes({m: s for m, s in o.status.items() if m not in into_fault}, o.window))
        times = {**times, **{w: kept.get(w, np.array([])) for w in JUDGED_FOR_TIME}}
    sample = f"{len(rb.times)} of {rb.times_of} ended missions read with their times" + (
        "" if len(rb.times) >= rb.times_of else " (an evenly spaced sample)")
    every = {w: round(percentile(v, 95), 3) for w, v in mission_times(run, o).items()}
    out = []
    for w in run.windows:
        if w.name not in JUDGED_FOR_TIME:
            continue
        v = times.get(w.name, np.array([]))
        n_apart = apart.get(w.name, 0)
        left = "" if not n_apart else (f"; {n_apart} still in flight when a fault began, left to that fault's "
                                       "recovery_time")
        if v.size == 0:
            out.append(inconclusive("mission_time", w.label(), "no completed mission acknowledged in this window "
                                    f"has its times in the read-back ({sample}){left}", limit))
            continue
        p95 = percentile(v, 95)
        ok = p95 < limit
        task = task_p95(run, w)
        beside = "" if task is None else f"; Prometheus agent_task_duration_seconds p95 {task:.2f} s (one task)"
        out.append(CheckResult(
            "mission_time", Status.PASS if ok else Status.FAIL, round(p95, 3), limit, w.label(),
            f"{v.size} completed missions, created_at to completed_at (target's clock); {sample}",
            f"mission time p95 {p95:.2f} s {'<' if ok else '>='} {limit:g} s (p50 {percentile(v, 50):.2f} s, "
            f"max {float(v.max()):.2f} s){beside}{left}",
            {"missions": int(v.size), "in_flight_into_fault": n_apart,
             "p50_s": round(percentile(v, 50), 3), "max_s": round(float(v.max()), 3),
             "task_p95_s": task, "p95_s_by_window": every, "times_error": rb.times_error}))
    if not out:
        out.append(inconclusive("mission_time", "baseline/cooldown", "the run has no baseline or cool-down window",
                                limit))
    return out


@dataclass(frozen=True)
class Shown:
    """A figure the report shows without judging it (no line in the profile, or a fault window)."""

    figure: str
    window: str
    value: str
    source: str


def _fmt_counts(counts: dict[str, float]) -> str:
    return ", ".join(f"{k} ≈{round(v)}" for k, v in sorted(counts.items())) or "none"


def shown(run: Run) -> list[Shown]:
    """Crew assembly and watchdog actions in the baseline, mission time and agent task p95 in every
    window. Pure over the run directory; a figure without evidence says so, one that cannot be
    computed says why (the report is still written)."""
    try:
        return _shown(run)
    except Exception as exc:
        return [Shown("shown figures", "run", f"not computed: {type(exc).__name__}: {exc}", "")]


def _shown(run: Run) -> list[Shown]:
    out: list[Shown] = []
    for figure, series, key in (("crew assemblies by result", "crew_assembly_by_result", "result"),
                                ("watchdog recovery actions", "watchdog_actions", "action")):
        got = baseline_counts(run, series, key)
        out.append(Shown(figure, "baseline", got if isinstance(got, str) else _fmt_counts(got[1]),
                         f"Prometheus {series}"))
    o = outcomes(run, "mission_time", None)
    times = {} if isinstance(o, CheckResult) else mission_times(run, o)
    for w in run.windows:
        v = times.get(w.name)
        task = task_p95(run, w)
        value = (f"p95 {percentile(v, 95):.2f} s of {v.size}" if v is not None and v.size else "no times") + (
            "" if task is None else f"; agent task p95 {task:.2f} s")
        out.append(Shown("mission time", w.label(), value, "read-back created_at→completed_at; "
                         "Prometheus agent_task_duration_seconds"))
    return out
