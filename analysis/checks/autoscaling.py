"""Autoscaling under a spike (checklist §6.2), from the HPA series and the workers' queue.

The evidence is what kube-state-metrics exports for each HorizontalPodAutoscaler (the sandbox's
controller exports the same names): desired and current replicas, min and max, and the metric
the HPA scales on beside its target; and ``queue_depth``. One result per HPA:

* ``autoscale_out``: once the metric is over its target (beyond the HPA's 10 % tolerance) for a
  whole scale-up window, the current replicas must have risen within that window plus
  ``scale_out_bound_s`` of the first crossing, or, when the metric fell back inside the tolerance
  before a whole window had passed (the HPA's scale-up stabilization starts over), of the start of
  the stretch that stayed over it for the window. The value is the scale-out latency from that
  start to the first rise. A metric never over its target long enough: INCONCLUSIVE (the
  spike did not exercise it), never PASS.
* ``autoscale_bounds``: desired replicas always within [min, max]; current replicas too, outside
  fault windows (a drain or a rollout surges, as on Kubernetes).
* ``autoscale_in``: every scale-in after the spike's start came at least the scale-down window
  after the metric was last at its target (the HPA had no reason to keep the pods); and, once the
  metric has asked for fewer pods (``ceil(replicas x metric / target) < replicas``, beyond the
  tolerance) for that window plus the bound, it did scale in. A metric under its target but high
  enough for the HPA to keep its pods (0.8 of it on 4 pods) makes no scale-in due: INCONCLUSIVE.
* ``queue_drained``: after the spike, ``queue_depth`` back under ``queue_max`` within
  ``queue_drain_s``.

Pure: reads the run directory (profile, timeline, ``prometheus/hpa_*.csv``, ``queue_depth.csv``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gameday.analysis.damage import Damage, DamagedEvidence, Evidence
from gameday.analysis.prom import Series, held_at, missing_reason, read_series
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import Window
from gameday.contract import rundir
from gameday.contract.checks import CHECKLIST_HPAS

TOLERANCE = 0.1  # the HPA controller's default (--horizontal-pod-autoscaler-tolerance)
SLACK_S = 3.0  # sampling: a scrape every second of a gauge the HPA sets every sync period (2 s on the sandbox)
SERIES = ("hpa_current", "hpa_desired", "hpa_min", "hpa_max", "hpa_metric", "hpa_target")
HPA_LABEL = "horizontalpodautoscaler"
TYPE_LABEL = "metric_target_type"


def _checklist_hpas() -> dict[str, dict[str, object]]:
    return {k: dict(v) for k, v in CHECKLIST_HPAS.items()}


class Lines(BaseModel):
    """``checks.autoscaling`` as the judge reads it (the profile's model: gameday.harness.profile.AutoscalingChecks)."""

    model_config = ConfigDict(extra="ignore")
    scale_up_window_s: float = Field(30, ge=0)
    scale_down_window_s: float = Field(300, ge=0)
    scale_out_bound_s: float = Field(30, ge=0)
    queue_max: float = Field(100, gt=0)
    queue_drain_s: float = Field(120, gt=0)
    hpas: dict[str, dict[str, object]] = Field(default_factory=lambda: _checklist_hpas())


def lines(run: Run) -> Lines:
    raw = run.checks.get("autoscaling") or {}
    try:
        return Lines.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise DamagedEvidence(Damage(Evidence.PROFILE, rundir.PROFILE, None,
                                     f"checks.autoscaling.{field}: {err['msg']}")) from None


@dataclass(frozen=True)
class Hpa:
    """One HPA's series over the run, each a (timestamp, value) frame sorted by time."""

    name: str
    current: pd.DataFrame
    desired: pd.DataFrame
    min: pd.DataFrame
    max: pd.DataFrame
    metric: pd.DataFrame
    target: pd.DataFrame
    scrape_s: float = 0.0  # the longest scrape interval of its series: what a sample time can be off by


def _of(s: Series, name: str, target_type: str | None = None) -> pd.DataFrame:
    df = s.data
    labels = df["labels"].map(lambda text: json.loads(str(text)))
    keep = labels.map(lambda lab: lab.get(HPA_LABEL) == name
                      and (target_type is None or lab.get(TYPE_LABEL) in (None, target_type)))
    out = df[keep][["timestamp", "value"]].dropna()
    return out.sort_values("timestamp").reset_index(drop=True)


def _target_type(target: Series | None, name: str) -> str | None:
    """The ``metric_target_type`` of the HPA's target (kube-state-metrics: value | utilization | average),
    None when the series do not carry it. kube-state-metrics exports a Resource metric's status twice under
    one ``metric_name`` (``utilization`` in %, ``average`` in cores): only the rows of the target's type
    compare with it. Of several (a spec with both), utilization, then value, then average."""
    if target is None or target.error:
        return None
    types = {json.loads(str(t)).get(TYPE_LABEL) for t in target.data["labels"]
             if json.loads(str(t)).get(HPA_LABEL) == name} - {None}
    return next((t for t in ("utilization", "value", "average") if t in types), min(types) if types else None)


def _scrape_s(*series: Series | None) -> float:
    """The longest scrape interval among the series (0 when unknown: an older run directory). A change
    seen at a sample happened up to one scrape interval before it: each timing below is judged over
    that range, PASS only when all of it passes, FAIL only when none of it does (as automated_rollback)."""
    return max((s.scrape_interval_s or 0.0 for s in series if s is not None), default=0.0)


def load_hpas(run: Run) -> tuple[list[Hpa], str | None]:
    """Every HPA in the evidence, or why there is none to judge."""
    series = {n: read_series(run.path, n) for n in SERIES}
    for n in ("hpa_current", "hpa_desired", "hpa_min", "hpa_max"):
        why = missing_reason(run.path, n, series[n])
        if why:
            return [], why + " (no HPA series: is an autoscaler there, exported as kube-state-metrics does?)"
    cur = series["hpa_current"]
    assert cur is not None
    names = sorted({json.loads(str(t)).get(HPA_LABEL) for t in cur.data["labels"]} - {None})
    empty = pd.DataFrame({"timestamp": [], "value": []})
    out = []
    for name in names:
        kind = _target_type(series["hpa_target"], name)
        frames = {n: (_of(s, name, kind if n in ("hpa_metric", "hpa_target") else None)
                      if s is not None and not s.error else empty) for n, s in series.items()}
        out.append(Hpa(name, frames["hpa_current"], frames["hpa_desired"], frames["hpa_min"], frames["hpa_max"],
                       frames["hpa_metric"], frames["hpa_target"], _scrape_s(series["hpa_current"],
                                                                             series["hpa_metric"])))
    return out, None if out else "the HPA series name no horizontalpodautoscaler"


def spike_windows(run: Run) -> tuple[Window | None, Window | None]:
    by = {w.name: w for w in run.windows}
    return by.get("spike"), by.get("after-spike")


def _at(df: pd.DataFrame, t: float) -> float | None:
    """The last value at or before ``t`` (a gauge holds its value between samples)."""
    before = df[df["timestamp"] <= t]
    return None if before.empty else float(before["value"].iloc[-1])


def _held(df: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """``_at`` for many times at once (NaN before the first sample)."""
    return held_at(df["timestamp"].to_numpy(dtype="float64"), df["value"].to_numpy(dtype="float64"), times)


def _ratio(h: Hpa) -> pd.DataFrame:
    """metric / target at each metric sample (the target as it stood then)."""
    ts = h.metric["timestamp"].to_numpy(dtype="float64")
    target = _held(h.target, ts)
    known = target > 0  # NaN (no target yet) compares False
    return pd.DataFrame({"timestamp": ts[known], "ratio": h.metric["value"].to_numpy(dtype="float64")[known]
                         / target[known]})


def _first_over_run(ratio: pd.DataFrame, start: float, end: float, hold_s: float) -> tuple[float | None, float | None,
                                                                                           float]:
    """(first crossing, start of the first over-target stretch lasting ``hold_s``, longest stretch)."""
    r = ratio[(ratio["timestamp"] >= start) & (ratio["timestamp"] <= end)]
    first = run_start = due_from = None
    longest = 0.0
    for t, v in zip(r["timestamp"], r["ratio"], strict=True):
        if v > 1 + TOLERANCE:
            first = t if first is None else first
            run_start = t if run_start is None else run_start
            longest = max(longest, t - run_start)
            if due_from is None and t - run_start >= hold_s:
                due_from = run_start
        else:
            run_start = None
    return first, due_from, longest


def _label(h: Hpa, w: str) -> str:
    return f"{w} {h.name}"


def _no_spike(check: str) -> list[CheckResult]:
    return [inconclusive(check, "run", "the run has no spike phase (phases.spike): nothing pushed the platform "
                                       "past its steady state")]


def autoscale_out(run: Run) -> list[CheckResult]:
    spike, after = spike_windows(run)
    if spike is None:
        return _no_spike("autoscale_out")
    hpas, why = load_hpas(run)
    if why:
        return [inconclusive("autoscale_out", spike.label(), why)]
    ln = lines(run)
    bound = ln.scale_up_window_s + ln.scale_out_bound_s
    end = after.end if after is not None else spike.end
    out = []
    for h in hpas:
        label = _label(h, spike.label())
        first, due_from, longest = _first_over_run(_ratio(h), spike.start, end, ln.scale_up_window_s)
        if first is None:
            out.append(inconclusive("autoscale_out", label, f"{h.name}: its metric never went over its target "
                                    f"(+{TOLERANCE:.0%}) during the spike: the spike did not exercise it", bound))
            continue
        before = _at(h.current, first) or 0.0
        rose = h.current[(h.current["timestamp"] > first) & (h.current["value"] > before)]
        t_up = float(rose["timestamp"].iloc[0]) if not rose.empty else None
        top = _at(h.max, first)
        details = {"hpa": h.name, "crossed_at": first, "replicas_before": before, "rose_at": t_up,
                   "max_replicas": top, "peak_replicas": float(h.current["value"].max())}
        # Timed as the HPA's scale-up stabilization times it: from the start of the stretch that stayed
        # over the target for a whole window (the first crossing, unless the metric fell back inside the
        # tolerance before a window had passed and the HPA started over); a rise before any such stretch
        # is timed from the first crossing and is early, never late.
        anchor = due_from if t_up is not None and due_from is not None and due_from <= t_up else first
        scrape = h.scrape_s  # the rise and the crossing are each seen up to one scrape late
        details["scrape_interval_s"] = scrape or None
        if t_up is not None and (t_up - anchor + scrape <= bound or (due_from is not None and t_up < due_from)):
            latency = t_up - anchor
            if latency > bound:  # rose before the metric had been over its target for a whole window
                since = (f"its metric crossed its target, before it had been over it for a whole "
                         f"{ln.scale_up_window_s:g} s window (early, not late)")
            elif anchor == first:
                since = "its metric crossed its target"
            else:
                since = (f"its metric went over its target for good ({anchor - first:.0f} s after the first "
                         f"crossing: it fell back in between and the HPA's window started over)")
            details["timed_from"] = anchor
            out.append(CheckResult(
                "autoscale_out", Status.PASS, round(latency, 3), bound, label, "HPA series (kube-state-metrics names)",
                f"{h.name}: {before:g} -> {_at(h.current, t_up):g} replicas {latency:.1f} s after {since} "
                f"(<= {ln.scale_up_window_s:g} s window + {ln.scale_out_bound_s:g} s); peak "
                f"{details['peak_replicas']:g}", details))
            continue
        if due_from is None and t_up is not None:  # rose, but the scrape leaves it open whether in time
            out.append(inconclusive(
                "autoscale_out", label, f"{h.name}: replicas rose {t_up - first:.1f} s after its metric crossed its "
                f"target, within one scrape interval ({scrape:g} s) of the {bound:g} s bound, and the samples show "
                f"no whole {ln.scale_up_window_s:g} s window over it: the evidence cannot tell on time from late",
                bound))
            continue
        if due_from is None:
            out.append(inconclusive("autoscale_out", label, f"{h.name}: its metric was over its target for at most "
                                    f"{longest:.0f} s at a time, less than the {ln.scale_up_window_s:g} s scale-up "
                                    f"window: no scale-out was due", bound))
            continue
        due = due_from + bound
        last = float(h.current["timestamp"].max())
        if t_up is None and last < due + scrape:
            out.append(inconclusive("autoscale_out", label, f"{h.name}: the evidence ends {due + scrape - last:.0f} s "
                                    f"before a scale-out was due and seen", bound))
            continue
        if t_up is not None and t_up - due_from - scrape <= bound:
            out.append(inconclusive(
                "autoscale_out", label, f"{h.name}: replicas rose {t_up - due_from:.1f} s after its metric went over "
                f"its target for a whole window, within one scrape interval ({scrape:g} s) of the {bound:g} s "
                f"bound: the evidence cannot tell on time from late", bound))
            continue
        at_max = top is not None and before >= top
        why_not = f" (it was at its maxReplicas {top:g})" if at_max else ""
        late = f"rose only {t_up - due_from:.1f} s after" if t_up is not None else "never rose after"
        details["timed_from"] = due_from
        out.append(CheckResult(
            "autoscale_out", Status.FAIL, None if t_up is None else round(t_up - due_from, 3), bound, label,
            "HPA series (kube-state-metrics names)",
            f"{h.name}: replicas {late} its metric went over its target for a whole window{why_not} "
            f"({due_from - first:.0f} s after the first crossing; a scale-out was due within {bound:g} s of "
            f"that)", details))
    return out


def autoscale_bounds(run: Run) -> list[CheckResult]:
    hpas, why = load_hpas(run)
    if why:
        return [inconclusive("autoscale_bounds", "run", why)]
    faults = [w for w in run.windows if w.is_fault]
    out = []
    for h in hpas:
        bad: list[str] = []
        samples = 0
        for kind, df in (("desired", h.desired), ("current", h.current)):
            for t, v in zip(df["timestamp"], df["value"], strict=True):
                lo, hi = _at(h.min, float(t)), _at(h.max, float(t))
                if lo is None or hi is None:
                    continue
                if kind == "current" and any(w.start <= t <= w.end for w in faults):
                    continue
                samples += 1
                if not lo <= v <= hi:
                    bad.append(f"{kind} {v:g} at +{t - run.windows[0].start if run.windows else t:.0f} s "
                               f"outside [{lo:g}, {hi:g}]")
        if not samples:
            out.append(inconclusive("autoscale_bounds", f"run {h.name}", f"{h.name}: no replica sample with its "
                                    "min and max known"))
            continue
        shown = (f"desired {h.desired['value'].min():g}..{h.desired['value'].max():g}, current "
                 f"{h.current['value'].min():g}..{h.current['value'].max():g}, min {h.min['value'].min():g}, "
                 f"max {h.max['value'].max():g}")
        out.append(CheckResult(
            "autoscale_bounds", Status.FAIL if bad else Status.PASS, float(len(bad)), 0.0, f"run {h.name}",
            f"{samples} HPA samples", f"{h.name}: " + ("; ".join(bad[:3]) + (f" (+{len(bad) - 3} more)"
                                                                              if len(bad) > 3 else "")
                                                        if bad else f"within [min, max] throughout: {shown}"),
            {"hpa": h.name, "violations": len(bad), "samples": samples}))
    return out


def _decreases(df: pd.DataFrame, since: float) -> list[tuple[float, float, float]]:
    """(t, from, to) of every drop of a replica series after ``since``."""
    out = []
    prev: float | None = None
    for t, v in zip(df["timestamp"], df["value"], strict=True):
        if prev is not None and v < prev and t >= since:
            out.append((float(t), prev, float(v)))
        prev = float(v)
    return out


def _last_kept(h: Hpa, ratio: pd.DataFrame, since: float) -> float:
    """The last metric sample after ``since`` at which the HPA's rule kept at least the current
    replicas: the metric within the tolerance or over its target, or low but not low enough for one
    pod less (``ceil(current * ratio) >= current``: 0.8 of the target on 4 pods still asks for 4).
    A target that stays there is right not to scale in; only after that can a scale-in be due."""
    ts = ratio["timestamp"].to_numpy(dtype="float64")
    rs = ratio["ratio"].to_numpy(dtype="float64")
    current = np.nan_to_num(_held(h.current, ts), nan=0.0)  # the replicas as they stood at each metric sample
    kept = (ts >= since) & ((rs > 1 - TOLERANCE) | (np.ceil(current * rs - 1e-9) >= current))
    return float(ts[kept].max()) if kept.any() else since


def autoscale_in(run: Run) -> list[CheckResult]:
    spike, after = spike_windows(run)
    if spike is None:
        return _no_spike("autoscale_in")
    hpas, why = load_hpas(run)
    if why:
        return [inconclusive("autoscale_in", spike.label(), why)]
    ln = lines(run)
    window = ln.scale_down_window_s
    out = []
    for h in hpas:
        label = _label(h, "spike and after")
        ratio = _ratio(h)
        high = ratio[ratio["timestamp"] >= spike.start]
        high = high[high["ratio"] > 1 - TOLERANCE]
        before = _at(h.current, spike.start) or 0.0
        if h.current[(h.current["timestamp"] >= spike.start)]["value"].max() <= before:
            out.append(inconclusive("autoscale_in", label, f"{h.name}: never scaled out during the spike: nothing to "
                                    f"scale in", window))
            continue
        early = []
        drops = _decreases(h.current, spike.start)
        for t, a, b in drops:
            last_high = high[high["timestamp"] <= t]
            if last_high.empty:
                continue
            held = t - float(last_high["timestamp"].iloc[-1])
            if held < window - SLACK_S:
                early.append(f"{a:g} -> {b:g} only {held:.0f} s after its metric was last at its target")
        details = {"hpa": h.name, "scale_ins": [{"t": t, "from": a, "to": b} for t, a, b in drops]}
        if early:
            out.append(CheckResult("autoscale_in", Status.FAIL, None, window, label, "HPA series",
                                   f"{h.name}: scaled in before the {window:g} s scale-down window: "
                                   + "; ".join(early), details))
            continue
        last_t = float(h.current["timestamp"].max())
        t_high = float(high["timestamp"].max()) if not high.empty else spike.start
        t_keep = _last_kept(h, ratio, spike.start)
        scrape = h.scrape_s
        if drops:
            t, a, b = drops[0]
            before_drop = high[high["timestamp"] <= t]  # the metric may reach its target again on fewer pods
            held = t - (float(before_drop["timestamp"].iloc[-1]) if not before_drop.empty else spike.start)
            end = _at(h.current, last_t)
            if held - 2 * scrape < window - SLACK_S:  # each end seen up to a scrape late: held may be that shorter
                out.append(inconclusive(
                    "autoscale_in", label, f"{h.name}: {a:g} -> {b:g} {held:.0f} s after its metric was last at its "
                    f"target (window {window:g} s): within two scrape intervals ({scrape:g} s each) of the window, "
                    f"the evidence cannot tell on time from early", window))
                continue
            out.append(CheckResult(
                "autoscale_in", Status.PASS, round(held, 3), window, label, "HPA series",
                f"{h.name}: held {a:g} replicas until {held:.0f} s after its metric was last at its target (window "
                f"{window:g} s), then {a:g} -> {b:g}; {end:g} at the end", details))
        elif last_t - t_keep - 2 * scrape >= window + ln.scale_out_bound_s:
            out.append(CheckResult("autoscale_in", Status.FAIL, None, window, label, "HPA series",
                                   f"{h.name}: never scaled in, though its metric asked for fewer replicas for "
                                   f"{last_t - t_keep:.0f} s (window {window:g} s + {ln.scale_out_bound_s:g} s; "
                                   f"under its target for {last_t - t_high:.0f} s)", details))
        elif last_t - t_high >= window + ln.scale_out_bound_s:
            cur = _at(h.current, last_t) or 0.0
            out.append(inconclusive("autoscale_in", label, f"{h.name}: no scale-in was due: its metric stayed under "
                                    f"its target but high enough that the HPA's rule (ceil(replicas x metric / "
                                    f"target)) keeps {cur:g} replicas, until {last_t - t_keep:.0f} s before the "
                                    f"evidence ends", window))
        else:
            out.append(inconclusive("autoscale_in", label, f"{h.name}: the evidence ends {last_t - t_high:.0f} s after "
                                    f"its metric was last at its target, before the {window:g} s window + "
                                    f"{ln.scale_out_bound_s:g} s", window))
    return out


def queue_drained(run: Run) -> list[CheckResult]:
    spike, _ = spike_windows(run)
    if spike is None:
        return _no_spike("queue_drained")
    s = read_series(run.path, "queue_depth")
    why = missing_reason(run.path, "queue_depth", s)
    ln = lines(run)
    if why or s is None:
        return [inconclusive("queue_drained", spike.label(), str(why), ln.queue_drain_s)]
    df = s.data[["timestamp", "value"]].dropna().sort_values("timestamp")
    during = df[(df["timestamp"] >= spike.start) & (df["timestamp"] <= spike.end)]
    peak = float(during["value"].max()) if not during.empty else math.nan
    later = df[df["timestamp"] >= spike.end]
    under = later[later["value"] < ln.queue_max]
    label = f"{spike.label()} + {ln.queue_drain_s:g} s"
    details = {"peak": None if math.isnan(peak) else peak, "queue_max": ln.queue_max}
    scrape = _scrape_s(s)
    if not under.empty:
        took = float(under["timestamp"].iloc[0]) - spike.end  # seen up to one scrape after it happened
        ok = took <= ln.queue_drain_s
        if not ok and took - scrape <= ln.queue_drain_s:
            return [inconclusive("queue_drained", label, f"queue_depth under {ln.queue_max:g} {took:.0f} s after the "
                                 f"spike, within one scrape interval ({scrape:g} s) of the {ln.queue_drain_s:g} s "
                                 f"bound: the evidence cannot tell", ln.queue_drain_s)]
        return [CheckResult("queue_drained", Status.PASS if ok else Status.FAIL, round(took, 3), ln.queue_drain_s,
                            label, "queue_depth (the workers' gauge)",
                            f"queue_depth under {ln.queue_max:g} {took:.0f} s after the spike "
                            f"({'<=' if ok else '>'} {ln.queue_drain_s:g} s); peak during the spike {peak:g}", details)]
    if not later.empty and float(later["timestamp"].max()) - scrape - spike.end >= ln.queue_drain_s:
        return [CheckResult("queue_drained", Status.FAIL, None, ln.queue_drain_s, label, "queue_depth",
                            f"queue_depth still >= {ln.queue_max:g} {ln.queue_drain_s:g} s after the spike (last "
                            f"{float(later['value'].iloc[-1]):g}; peak {peak:g})", details)]
    return [inconclusive("queue_drained", label, f"queue_depth has no sample under {ln.queue_max:g} after the spike, "
                         f"and the evidence ends before {ln.queue_drain_s:g} s", ln.queue_drain_s)]


AUDIT_WINDOW = "target, at the end of the run"


def audit_autoscaling(run: Run) -> list[CheckResult]:
    """The HPAs as the target reports them (``audits.json``: the sandbox controller's, or the
    autoscaling/v2 objects of the cluster) against §6.2 as the profile states it
    (``checks.autoscaling``): each HPA there, on its deployment and metric, with its target, min and
    max, the scale-up and scale-down stabilization windows, and scale-up not disabled."""
    try:
        data = json.loads((run.path / "audits.json").read_text())
    except (OSError, ValueError):
        return [inconclusive("audit_autoscaling", AUDIT_WINDOW, "no audits.json in the run directory")]
    a = data.get("autoscaling") if isinstance(data, dict) else None
    if not isinstance(a, dict) or not isinstance(a.get("hpas"), list):
        why = (data.get("errors") or {}).get("autoscaling") if isinstance(data, dict) else None
        return [inconclusive("audit_autoscaling", AUDIT_WINDOW, str(why or "the HPA specs were not collected"))]
    ln = lines(run)
    got = {str(h.get("name")): h for h in a["hpas"] if isinstance(h, dict)}
    asked = spike_windows(run)[0] is not None or "audit_autoscaling" in (run.checks.get("required") or [])
    if not got and not asked:  # fixed replicas, and a run that does not ask about §6.2: shown, not failed
        return [inconclusive("audit_autoscaling", AUDIT_WINDOW, f"the target runs no HPA ({a.get('source', '')}); "
                             "§6.2 is audited when the profile has a spike phase or requires audit_autoscaling")]
    out = []
    for name, want in sorted(ln.hpas.items()):
        h = got.get(name)
        label = f"{AUDIT_WINDOW}, HPA {name}"
        if h is None:
            out.append(CheckResult("audit_autoscaling", Status.FAIL, 1.0, 0.0, label, str(a.get("source", "")),
                                   f"no HPA {name!r} on the target (it has: {', '.join(sorted(got)) or 'none'}): "
                                   f"§6.2 wants one", {"want": want, "got": None}))
            continue
        metric = h.get("metric") or {}
        behavior = h.get("behavior") or {}
        up, down = behavior.get("scale_up") or {}, behavior.get("scale_down") or {}
        seen = {"deployment": str(h.get("scale_target", "")).split("/")[-1], "metric": metric.get("name"),
                "target": metric.get("target"), "min_replicas": h.get("min_replicas"),
                "max_replicas": h.get("max_replicas"), "scale_up_window_s": up.get("stabilization_window_s"),
                "scale_down_window_s": down.get("stabilization_window_s"),
                "scale_up_policy": up.get("select_policy")}
        expect = {**{k: want.get(k) for k in ("deployment", "metric", "target", "min_replicas", "max_replicas")},
                  "scale_up_window_s": ln.scale_up_window_s, "scale_down_window_s": ln.scale_down_window_s}
        wrong = {k: seen[k] for k, v in expect.items() if not _same(seen[k], v)}
        if seen["scale_up_policy"] == "Disabled":
            wrong["scale_up_policy"] = "Disabled"
        shown = (f"{seen['metric']} target {seen['target']}, {seen['min_replicas']}..{seen['max_replicas']} replicas, "
                 f"scale up after {seen['scale_up_window_s']} s, down after {seen['scale_down_window_s']} s")
        msg = (f"as §6.2 says: {shown}" if not wrong else
               "differs from §6.2: " + ", ".join(f"{k}={v!r} (want {expect.get(k, 'not Disabled')!r})"
                                                 for k, v in wrong.items()))
        out.append(CheckResult("audit_autoscaling", Status.FAIL if wrong else Status.PASS, float(len(wrong)), 0.0,
                               label, str(a.get("source", "")), msg, {"got": seen, "want": expect}))
    if not out:
        out.append(inconclusive("audit_autoscaling", AUDIT_WINDOW, "checks.autoscaling.hpas names no HPA to audit"))
    return out


def _same(got: object, want: object) -> bool:
    if isinstance(want, int | float) and not isinstance(want, bool):
        return isinstance(got, int | float) and not isinstance(got, bool) and math.isclose(got, want)
    return got == want
