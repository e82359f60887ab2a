"""Alerting under every fault (checklist §5.4): did the right people hear of it, and when.

From the alert episodes of :mod:`gameday.analysis.alert_evidence` (Alertmanager's v2 API polled during the
run, what the receivers got, Prometheus's ``ALERTS``) and the profile's ``checks.alerts``:

* ``alert_fired``: per fault and expected alert, the first matching alert that fired after the
  injection: PASS when it fired within ``fire_within_s`` of the injection and (when the receivers'
  evidence is there) reached a receiver within ``notify_within_s``; the value is the time to firing.
  Nothing matching within the bound (or only later) is FAIL; an Alertmanager that was not read
  until the bound passed is INCONCLUSIVE.
* ``alert_routed``: per alert name, every episode reached the receiver its severity is routed to
  (``checks.alerts.routes``), in Alertmanager's routing and at the receivers; silenced or inhibited
  is not reaching anyone. No alert at all in the run: INCONCLUSIVE (routing was not exercised). An
  episode that fired within ``DELIVERY_GRACE_S`` of Alertmanager's last poll and reached nobody yet
  is not a failure to deliver (group_wait had not passed): Alertmanager's routing judges it, and
  with no routing seen either the name is INCONCLUSIVE.
* ``alert_resolved``: per fault and expected alert with a ``resolve_within_s``: resolved (and the
  receiver told so, when its evidence is there) within that many seconds of the recovery (the
  experiment's ``fault_recovered``, else its rollbacks, else the end of the fault window).
* ``no_false_page``: no alert of the paging severity fired outside every fault window (from its
  injection to its window's end + ``page_grace_s``), in Alertmanager's view or Prometheus's, from the
  moment the target was ready (``target_ready``); a page during the target's own bring-up is shown,
  not judged (the sandbox's ``HyperCodeAPIDown`` fires while its pods are first scheduled).

Without Alertmanager evidence (no polls, or none answered) every one is INCONCLUSIVE: an
Alertmanager nobody could read is not a quiet pager. Pure: reads the run directory only.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gameday.analysis.alert_evidence import AlertDamage, AlertEvidence, Episode, read
from gameday.analysis.damage import Damage, DamagedEvidence, Evidence
from gameday.analysis.injection import injected_at, not_injected_reason
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import first_event
from gameday.contract import rundir
from gameday.contract.events import Event

SLACK_S = 1.0  # clocks: Prometheus's firing time against the harness's injection time, one machine or NTP
SEVERITY_ROUTES = {"P1": "pager", "P2": "ops-channel", "P3": "log"}
# an episode that fired less than this before Alertmanager was last read and reached nobody yet is
# not judged on its delivery: Alertmanager holds a new group's first notification for group_wait
# (30 s by default) — seen in CI, a P2 firing at the run's last poll judged "reached no receiver"
DELIVERY_GRACE_S = 30.0


class Expectation(BaseModel):
    """``checks.alerts.expect.<fault>[i]`` as the judge reads it (the profile's model:
    gameday.harness.alert_config.AlertExpectation)."""

    model_config = ConfigDict(extra="ignore")
    alertname: str | None = None
    matchers: dict[str, str] = Field(default_factory=dict)
    severity: str
    fire_within_s: float = Field(60, gt=0)
    notify_within_s: float | None = Field(None, gt=0)
    resolve_within_s: float | None = Field(120, gt=0)

    @property
    def notify_bound_s(self) -> float:
        return self.notify_within_s if self.notify_within_s is not None else self.fire_within_s + 30

    def describe(self) -> str:
        parts = [f"alertname={self.alertname}"] if self.alertname else []
        parts += [f"{k}={v}" for k, v in sorted(self.matchers.items())] + [f"severity={self.severity}"]
        return "{" + ", ".join(parts) + "}"

    def matches(self, ep: Episode) -> bool:
        return ep.matches(self.alertname, self.severity, self.matchers)


def _defaults() -> dict[str, list[Expectation]]:
    return {"db-failover": [Expectation(severity="P1", fire_within_s=30, notify_within_s=45, resolve_within_s=60)],
            "bad-release": [Expectation(alertname="HyperCodeDeploymentRevisionChanged", severity="P3",
                                        fire_within_s=60, notify_within_s=75, resolve_within_s=None)]}


class Lines(BaseModel):
    """``checks.alerts`` as the judge reads it (gameday.harness.alert_config.AlertChecks)."""

    model_config = ConfigDict(extra="ignore")
    expect: dict[str, list[Expectation]] = Field(default_factory=_defaults)
    routes: dict[str, str] = Field(default_factory=lambda: dict(SEVERITY_ROUTES))
    page_severity: str = "P1"
    page_grace_s: float = Field(120, ge=0)


def lines(run: Run) -> Lines:
    raw = run.checks.get("alerts") or {}
    try:
        out = Lines.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise DamagedEvidence(Damage(Evidence.PROFILE, rundir.PROFILE, None,
                                     f"checks.alerts.{where}: {err['msg']}")) from None
    if isinstance(raw, dict) and "expect" in raw:  # a profile names the faults it changes
        out = out.model_copy(update={"expect": {**_defaults(), **out.expect}})
    return out.model_copy(update={"routes": {**SEVERITY_ROUTES, **out.routes}})


_read: tuple[Run, AlertEvidence | None | AlertDamage] | None = None  # one run's evidence: four checks ask


def _evidence(run: Run) -> AlertEvidence | None:
    """The run's alerting evidence, read and parsed once per loaded run (raises AlertDamage)."""
    global _read
    if _read is None or _read[0] is not run:
        try:
            got: AlertEvidence | None | AlertDamage = read(run.path)
        except AlertDamage as exc:
            got = exc
        _read = (run, got)
    if isinstance(_read[1], AlertDamage):
        raise _read[1]
    return _read[1]


def _load(run: Run, check_id: str) -> AlertEvidence | CheckResult:
    """The evidence, or the INCONCLUSIVE result saying why there is none."""
    try:
        ev = _evidence(run)
    except AlertDamage as exc:
        return inconclusive(check_id, "run", f"damaged alerting evidence: {exc}")
    if ev is None:
        return inconclusive(check_id, "run", f"no Alertmanager evidence ({rundir.ALERTMANAGER_POLLS} absent: "
                                             "the target has no Alertmanager configured)")
    if not ev.has_alertmanager:
        why = ev.poll_errors[0] if ev.poll_errors else "no poll"
        return inconclusive(check_id, "run", f"Alertmanager never answered ({ev.failed_polls} polls failed: "
                                             f"{why})")
    return ev


def _source(ev: AlertEvidence) -> str:
    notes = (f"{ev.notifications} receiver notifications" if ev.notifications is not None
             else f"no receiver evidence ({ev.notifications_error})")
    return (f"Alertmanager /api/v2/alerts ({len(ev.ok_polls)} polls, {ev.failed_polls} failed); {notes}; "
            f"ALERTS {'ok' if ev.alerts_series_error is None else 'missing: ' + ev.alerts_series_error}")


def _window_label(run: Run, fault: str) -> str:
    w = next((x for x in run.windows if x.name == f"fault:{fault}"), None)
    return w.label() if w is not None else f"fault:{fault}"


def _fired_for(ev: AlertEvidence, exp: Expectation, t0: float) -> Episode | None:
    """The first episode matching ``exp`` that fired at or after the injection."""
    return next((e for e in ev.episodes if exp.matches(e) and e.fired_at >= t0 - SLACK_S), None)


def timeline(ep: Episode, t0: float) -> str:
    """``pending +1.0 s, firing +3.7 s, notified pager +4.7 s, resolved +7.0 s`` (from the injection)."""
    parts = []
    if ep.pending_at is not None:
        parts.append(f"pending +{ep.pending_at - t0:.1f} s")
    parts.append(f"firing +{ep.fired_at - t0:.1f} s")
    parts += [f"notified {r} +{t - t0:.1f} s" for r, t in sorted(ep.notified.items(), key=lambda x: x[1])]
    if ep.resolved_at is not None:
        parts.append(f"resolved +{ep.resolved_at - t0:.1f} s")
    parts += [f"resolution notified {r} +{t - t0:.1f} s"
              for r, t in sorted(ep.resolved_notified.items(), key=lambda x: x[1])]
    return ", ".join(parts)


def _details(ep: Episode, t0: float) -> dict[str, object]:
    return {"alertname": ep.name, "severity": ep.severity, "labels": ep.labels, "injected_at": t0,
            "pending_at": ep.pending_at, "fired_at": ep.fired_at, "notified": dict(ep.notified),
            "resolved_at": ep.resolved_at, "resolution_notified": dict(ep.resolved_notified),
            "alertmanager_receivers": sorted(ep.am_receivers)}


def alert_fired(run: Run) -> list[CheckResult]:
    check = "alert_fired"
    ev = _load(run, check)
    if isinstance(ev, CheckResult):
        return [ev]
    spec = lines(run)
    faults = [w.fault for w in run.windows if w.fault is not None]
    out: list[CheckResult] = []
    for fault in faults:
        for exp in spec.expect.get(fault, []):
            out.append(_fired_one(run, ev, fault, exp))
    if not out:
        return [inconclusive(check, "run", "no fault of this run has an expected alert (checks.alerts.expect)")]
    return out


def _fired_one(run: Run, ev: AlertEvidence, fault: str, exp: Expectation) -> CheckResult:
    check = "alert_fired"
    label = f"{_window_label(run, fault)} {exp.describe()}"
    t0 = injected_at(run.events, fault)
    if t0 is None:
        return inconclusive(check, label, not_injected_reason(run.events, fault) or f"{fault} was never injected",
                            exp.fire_within_s)
    ep = _fired_for(ev, exp, t0)
    src = _source(ev)
    if ep is None or ep.fired_at - t0 > exp.fire_within_s:
        if ep is None and not ev.covered(t0, t0 + exp.fire_within_s):
            return inconclusive(check, label, f"Alertmanager was not read until {exp.fire_within_s:g} s after the "
                                              f"injection (last answer {_rel(ev.last_poll, t0)}): cannot tell",
                                exp.fire_within_s)
        late = f"; the first fired {ep.fired_at - t0:.1f} s after it ({timeline(ep, t0)})" if ep else ""
        return CheckResult(check, Status.FAIL, round(ep.fired_at - t0, 3) if ep else None, exp.fire_within_s, label,
                           src, f"no alert {exp.describe()} fired within {exp.fire_within_s:g} s of the injection"
                                f"{late}{_pending_only(ev, exp, t0)}", _details(ep, t0) if ep else {})
    took = ep.fired_at - t0
    tl = timeline(ep, t0)
    if ev.notifications is not None:
        first = ep.first_notified
        if first is None or first - t0 > exp.notify_bound_s:
            said = f"first notified {first - t0:.1f} s after it" if first is not None else "no receiver got it"
            return CheckResult(check, Status.FAIL, round(took, 3), exp.fire_within_s, label, src,
                               f"{ep.name} ({ep.severity}) fired {took:.1f} s after the injection but {said} "
                               f"(bound {exp.notify_bound_s:g} s): {tl}", _details(ep, t0))
        note = f", notified {first - t0:.1f} s after it (bound {exp.notify_bound_s:g} s)"
    else:
        note = " (notification times unknown: no receiver evidence)"
    return CheckResult(check, Status.PASS, round(took, 3), exp.fire_within_s, label, src,
                       f"{ep.name} ({ep.severity}) fired {took:.1f} s after the injection (bound "
                       f"{exp.fire_within_s:g} s){note}: {tl}", _details(ep, t0))


def _pending_only(ev: AlertEvidence, exp: Expectation, t0: float) -> str:
    """What Prometheus saw go pending in the bound without firing (a ``for:`` longer than the outage)."""
    seen = [(labels.get("alertname", "?"), a, b) for labels, a, b in ev.prometheus_pending
            if (exp.alertname is None or labels.get("alertname") == exp.alertname)
            and labels.get("severity") == exp.severity and all(labels.get(k) == v for k, v in exp.matchers.items())
            and t0 - SLACK_S <= a <= t0 + exp.fire_within_s]
    return "".join(f"; {name} was pending from +{a - t0:.1f} s to +{b - t0:.1f} s (Prometheus ALERTS) and never "
                   f"fired in time" for name, a, b in sorted(seen, key=lambda x: x[1])[:3])


def _rel(t: float | None, t0: float) -> str:
    return "never" if t is None else f"{t - t0:+.1f} s"


def alert_routed(run: Run) -> list[CheckResult]:
    check = "alert_routed"
    ev = _load(run, check)
    if isinstance(ev, CheckResult):
        return [ev]
    spec = lines(run)
    by_name: dict[tuple[str, str], list[Episode]] = {}
    for ep in ev.episodes:
        by_name.setdefault((ep.name, ep.severity), []).append(ep)
    if not by_name:
        return [inconclusive(check, "run", "no alert fired during the run: routing was not exercised")]
    out = []
    for (name, severity), eps in sorted(by_name.items()):
        want = spec.routes.get(severity)
        label = f"run {name} ({severity or 'no severity'})"
        wrong: list[str] = []
        too_late: list[Episode] = []
        for ep in eps:
            if want is None:
                wrong.append(f"severity {severity!r} has no route (checks.alerts.routes)")
                continue
            if ep.suppressed:
                wrong.append(f"fired at {_clock(ep.fired_at)} silenced or inhibited: nobody was notified")
            seen = ep.am_receivers
            if seen and seen != {want}:
                wrong.append(f"fired at {_clock(ep.fired_at)} routed by Alertmanager to {sorted(seen)}")
            if ev.notifications is not None:
                got = set(ep.notified)
                if got - {want}:
                    wrong.append(f"fired at {_clock(ep.fired_at)} reached {sorted(got - {want})}")
                elif not got and ep.resolved_at is None and not ep.suppressed:
                    if (ev.last_poll or ep.fired_at) - ep.fired_at < DELIVERY_GRACE_S:
                        too_late.append(ep)
                    else:
                        wrong.append(f"fired at {_clock(ep.fired_at)} reached no receiver")
        details = {"expected_receiver": want, "episodes": [
            {"fired_at": e.fired_at, "alertmanager_receivers": sorted(e.am_receivers), "notified": dict(e.notified),
             "suppressed": e.suppressed} for e in eps]}
        if wrong:
            out.append(CheckResult(check, Status.FAIL, float(len(wrong)), 0.0, label, _source(ev),
                                   f"{name} ({severity}) must reach {want}: " + "; ".join(wrong[:5]), details))
        elif len(too_late) == len(eps) and not any(e.am_receivers for e in eps):
            last = ev.last_poll or too_late[-1].fired_at
            out.append(inconclusive(check, label, f"{name} ({severity}) fired at {_clock(too_late[0].fired_at)}, "
                                    f"{last - too_late[0].fired_at:.0f} s before Alertmanager was last read: too "
                                    f"late for its notification (group_wait), so its routing is not judged"))
        else:
            reached = sorted({r for e in eps for r in (set(e.notified) | e.am_receivers)})
            out.append(CheckResult(check, Status.PASS, 0.0, 0.0, label, _source(ev),
                                   f"{len(eps)} episode(s) of {name} ({severity}) routed to {', '.join(reached)} "
                                   f"as {severity} must be", details))
    return out


def _clock(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%H:%M:%S")


def _recovered(run: Run, fault: str) -> tuple[float | None, str]:
    for event, what in ((Event.FAULT_RECOVERED, "the experiment saw it recover"),
                        (Event.ROLLBACKS_DONE, "its rollbacks were done")):
        e = first_event(run.events, event, fault=fault)
        if e is not None and isinstance(e.get("t"), int | float):
            return float(e["t"]), what
    w = next((x for x in run.windows if x.name == f"fault:{fault}"), None)
    return (w.end, "its window ended") if w is not None else (None, "")


def alert_resolved(run: Run) -> list[CheckResult]:
    check = "alert_resolved"
    ev = _load(run, check)
    if isinstance(ev, CheckResult):
        return [ev]
    spec = lines(run)
    out: list[CheckResult] = []
    for w in run.windows:
        fault = w.fault
        if fault is None:
            continue
        for exp in spec.expect.get(fault, []):
            if exp.resolve_within_s is None:
                continue
            out.append(_resolved_one(run, ev, fault, exp, exp.resolve_within_s))
    if not out:
        return [inconclusive(check, "run", "no expected alert of this run's faults has a resolve_within_s")]
    return out


def _resolved_one(run: Run, ev: AlertEvidence, fault: str, exp: Expectation, bound: float) -> CheckResult:
    check = "alert_resolved"
    label = f"{_window_label(run, fault)} {exp.describe()}"
    t0 = injected_at(run.events, fault)
    if t0 is None:
        return inconclusive(check, label, not_injected_reason(run.events, fault) or f"{fault} was never injected",
                            bound)
    ep = _fired_for(ev, exp, t0)
    if ep is None or ep.fired_at - t0 > exp.fire_within_s:
        return inconclusive(check, label, f"no alert {exp.describe()} fired for {fault} (alert_fired says so): "
                                          f"nothing to resolve", bound)
    rec, what = _recovered(run, fault)
    if rec is None:
        return inconclusive(check, label, f"no recovery of {fault} on the timeline", bound)
    src = _source(ev)
    resolved = ep.resolved_at
    tl = timeline(ep, t0)
    if resolved is None:
        if ev.last_poll is not None and ev.last_poll >= rec + bound:
            return CheckResult(check, Status.FAIL, None, bound, label, src,
                               f"{ep.name} never resolved: still firing at the last read of Alertmanager, "
                               f"{ev.last_poll - rec:.1f} s after {what} (bound {bound:g} s): {tl}", _details(ep, t0))
        return inconclusive(check, label, f"{ep.name} still firing when the evidence ends ({_rel(ev.last_poll, rec)} "
                                          f"from the recovery), before the {bound:g} s bound: {tl}", bound)
    after = max(0.0, resolved - rec)
    when = f"{after:.1f} s after {what}" if resolved >= rec else f"{rec - resolved:.1f} s before {what}"
    if resolved - rec > bound:
        return CheckResult(check, Status.FAIL, round(after, 3), bound, label, src,
                           f"{ep.name} resolved {when} (bound {bound:g} s): {tl}", _details(ep, t0))
    if ev.notifications is not None and ep.notified:
        told = [t for r, t in ep.resolved_notified.items() if r in ep.notified]
        if not told or min(told) - rec > bound:
            return CheckResult(check, Status.FAIL, round(after, 3), bound, label, src,
                               f"{ep.name} resolved {when}, but the receiver it paged "
                               f"({', '.join(sorted(ep.notified))}) was not told within {bound:g} s: {tl}",
                               _details(ep, t0))
    return CheckResult(check, Status.PASS, round(after, 3), bound, label, src,
                       f"{ep.name} resolved {when} (bound {bound:g} s): {tl}", _details(ep, t0))


def no_false_page(run: Run) -> list[CheckResult]:
    check = "no_false_page"
    ev = _load(run, check)
    if isinstance(ev, CheckResult):
        return [ev]
    spec = lines(run)
    sev = spec.page_severity
    excused: list[tuple[float, float, str]] = []
    for w in run.windows:
        if w.fault is None:
            continue
        t0 = injected_at(run.events, w.fault)
        excused.append((t0 if t0 is not None else w.start, w.end + spec.page_grace_s, w.fault))
    # (name, firing from, last seen firing, by whom): Alertmanager's polls begin when the target is ready, so
    # an episode it listed was still firing then; the receivers' and Prometheus's view reach further back
    pages: list[tuple[str, float, float, str]] = [
        (e.name, e.fired_at, e.last_seen if e.last_seen is not None else e.fired_at, "Alertmanager")
        for e in ev.episodes if e.severity == sev]
    pages += [(labels.get("alertname", "?"), a, b, "Prometheus ALERTS") for labels, a, b in ev.prometheus_firing
              if labels.get("severity") == sev]
    ready_event = first_event(run.events, Event.TARGET_READY)
    ready = float(ready_event["t"]) if ready_event is not None else None
    false, inside, before = [], [], []
    for name, start, last, seen_by in sorted(pages, key=lambda p: p[1]):
        t = start
        if ready is not None and start < ready:
            if last < ready + SLACK_S:  # the target's own bring-up, over before the game day started
                before.append(f"{name} at {_clock(start)} ({seen_by})")
                continue
            t = ready  # firing since the bring-up and still when the game day started: a page in its baseline
        # the latest fault injected before it (a window's grace may reach into the next fault's)
        fault = next((f for a, b, f in sorted(excused, reverse=True) if a - SLACK_S <= t <= b), None)
        if fault is None:
            since = f", firing since {_clock(start)}" if t != start else ""
            false.append(f"{name} at {_clock(t)} ({seen_by}{since})")
        else:
            inside.append(f"{name} ({fault})")
    src = _source(ev)
    details = {"page_severity": sev, "fault_windows": [{"fault": f, "from": a, "to": b} for a, b, f in excused],
               "false_pages": false, "before_target_ready": before}
    early = (f"; not judged, before the target was ready (its bring-up): {'; '.join(before[:3])}"
             if before else "")
    if false:
        return [CheckResult(check, Status.FAIL, float(len(false)), 0.0, "run", src,
                            f"{len(false)} {sev} page(s) outside every fault window: " + "; ".join(false[:5]) + early,
                            details)]
    shown = ", ".join(sorted(set(inside))) or "none"
    return [CheckResult(check, Status.PASS, 0.0, 0.0, "run", src,
                        f"no {sev} outside the fault windows (each window from its injection to its end + "
                        f"{spec.page_grace_s:g} s); {sev} pages inside them: {shown}{early}", details)]
