"""The automated rollback (§4.2), judged from the best evidence there is.

Two sources, each judged on its own, then combined here (as latency shows client and histogram):

* **Kubernetes** (``k8s/rollout.json``, :mod:`gameday.analysis.rollout_evidence`): the Deployment's
  revision history and the bad ReplicaSet's ``Unhealthy`` events, polled during the fault. What a
  real cluster holds whatever performs the rollback (Argo Rollouts, a pipeline job, a controller);
* **Prometheus** (``deployment_rollbacks_total``, ``health_check_failures_total``,
  ``deployment_revision``: the target contract's series; :func:`gameday.analysis.checks.server.automated_rollback`).

The result is FAIL when a source that answered says FAIL, PASS when one says PASS and none FAIL,
INCONCLUSIVE only when neither answers. When both answer, both are shown and a disagreement is
named in the message and ``details["disagreement"]``. Without Kubernetes evidence in the run
directory (the sandbox) the Prometheus result stands as it is.

Kubernetes, in detail. The polls run on the harness's clock, so no clock of the cluster is
trusted. The good release is the state last seen before the injection; the bad one the first
state after it with other images. The rollback is the first later state whose template is the
good one again (a new revision of the old ReplicaSet), seen before the experiment's own
rollbacks started (after that it is gameday's ``restore_image``, not the platform's). The rollback
happened after the last poll that did not show it and before the first that did: the failed
health checks it came after are the bad pods' ``Unhealthy`` counts (per pod and probe, the most
of any) at those two polls, ``lo`` and ``hi``. Rolled back "on the Nth failure" means
N <= hi <= N + 1 (the event count may show one more failure than the controller saw, as the
Prometheus counter may) with lo >= N - 1; hi < N is too eager, lo > N (the Nth failure seen while
the bad release still served) too late, anything else cannot be told at this poll interval
(INCONCLUSIVE). When the experiment's own wait gave up (``fault_not_recovered``) before the good
template was seen back, it was not the platform's rollback within the experiment's bound. No
``Unhealthy`` event of the bad pods at all is INCONCLUSIVE, not zero failures: Kubernetes events
are best-effort (rate-limited, expire).
"""

from __future__ import annotations

from typing import Any

from gameday.analysis import rollout_evidence
from gameday.analysis.checks import server
from gameday.analysis.injection import injected_at, not_injected_reason
from gameday.analysis.rollout_evidence import FailureSample, Observation, RolloutEvidence
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive
from gameday.analysis.windows import first_event
from gameday.contract.events import Event

CHECK = "automated_rollback"
FAULT = "bad-release"


def automated_rollback(run: Run) -> list[CheckResult]:
    """Both sources, combined (see the module docstring)."""
    prom = server.automated_rollback(run)
    if not (run.path / rollout_evidence.ROLLOUT_FILE).exists():
        return prom
    kube = kubernetes_rollback(run)
    return [combine(kube, prom[0] if prom else inconclusive(CHECK, kube.window, "no Prometheus result"))]


def combine(kube: CheckResult, prom: CheckResult) -> CheckResult:
    answered = [r for r in (kube, prom) if r.status != Status.INCONCLUSIVE]
    parts = {"kubernetes": kube, "prometheus": prom}
    details: dict[str, Any] = {name: {"status": r.status.value, "message": r.message, **r.details}
                               for name, r in parts.items()}
    both = f"Kubernetes: {kube.message}; Prometheus: {prom.message}"
    if not answered:
        details.update(judged_from=None, disagreement=None)
        return CheckResult(CHECK, Status.INCONCLUSIVE, None, kube.threshold, kube.window,
                           f"Kubernetes ({kube.evidence}); Prometheus ({prom.evidence})",
                           f"neither source answers. {both}", details)
    status = Status.FAIL if any(r.status == Status.FAIL for r in answered) else Status.PASS
    primary = kube if kube.status != Status.INCONCLUSIVE else prom
    disagreement = None
    if len(answered) == 2 and kube.status != prom.status:
        disagreement = (f"Kubernetes says {kube.status.value}, Prometheus says {prom.status.value}: "
                        f"judged {status.value} (a source that fails it is not overruled)")
    details.update(judged_from="both" if len(answered) == 2 else ("kubernetes" if primary is kube else "prometheus"),
                   disagreement=disagreement)
    message = both + (f". DISAGREEMENT: {disagreement}" if disagreement else "")
    return CheckResult(CHECK, status, primary.value, primary.threshold, primary.window,
                       f"Kubernetes ({kube.evidence}); Prometheus ({prom.evidence})", message, details)


def _count_at(samples: list[FailureSample], t: float, t0: float) -> int:
    """The most failures any bad pod's probe had at time ``t`` since the injection ``t0`` (an
    event of an earlier release of the same template, still listed, counts from where it stood)."""
    last: dict[tuple[str, str], int] = {}
    before: dict[tuple[str, str], int] = {}
    for s in samples:
        if s.t <= t:
            last[(s.pod, s.probe)] = s.count
        if s.t < t0:
            before[(s.pod, s.probe)] = s.count
    return max((c - before.get(k, 0) for k, c in last.items()), default=0)


def kubernetes_rollback(run: Run) -> CheckResult:
    expected = int(run.threshold("rollback_on_failure"))
    within = run.threshold("rollback_within_s")
    w = next((x for x in run.windows if x.name == f"fault:{FAULT}"), None)
    label = w.label() if w is not None else f"fault:{FAULT}"
    why_not = not_injected_reason(run.events, FAULT)
    t0 = injected_at(run.events, FAULT)
    if why_not is not None or t0 is None:
        return inconclusive(CHECK, label, why_not or f"{FAULT} was never injected", float(expected))
    ev, why = rollout_evidence.read(run.path)
    if ev is None:
        return inconclusive(CHECK, label, why or "no Kubernetes evidence", float(expected))
    return judge_evidence(ev, t0, _at(run, Event.ROLLBACKS_STARTED), expected, within, label,
                          recovered_at=_at(run, Event.FAULT_RECOVERED), gave_up_at=_at(run, Event.FAULT_NOT_RECOVERED))


def _at(run: Run, event: Event) -> float | None:
    e = first_event(run.events, event, fault=FAULT)
    return float(e["t"]) if e is not None and isinstance(e.get("t"), int | float) else None


def judge_evidence(ev: RolloutEvidence, t0: float, own_rollbacks_at: float | None, expected: int, within: float,
                   label: str, *, recovered_at: float | None = None, gave_up_at: float | None = None) -> CheckResult:
    """Pure: the Kubernetes evidence against the injection time ``t0`` (see the module docstring).
    ``recovered_at``: when the experiment's own probe saw the good image back on every replica
    (``fault_recovered``), an upper bound of the rollback's time tighter than the next poll;
    ``gave_up_at``: when its wait for the good image gave up (``fault_not_recovered``)."""
    source = f"Kubernetes API ({ev.source}), deployment {ev.namespace}/{ev.deployment}, {ev.polls} polls every " \
             f"{ev.poll_interval_s:g} s"
    thr = float(expected)
    errors = f" (collector errors: {'; '.join(ev.errors[:3])})" if ev.errors else ""
    states = ev.states
    before = [s for s in states if s.t_first < t0]
    if not before:
        return inconclusive(CHECK, label, f"no look at the Deployment before the release{errors}", thr)
    good = before[-1]
    bad_i = next((i for i, s in enumerate(states) if s.t_last >= t0 and s.images != good.images), None)
    if bad_i is None:
        return inconclusive(CHECK, label, f"the bad release never showed in the Deployment (images stayed "
                                          f"{good.images}){errors}", thr)
    bad = states[bad_i]
    bad_rs = bad.serving
    samples = [s for s in ev.failure_samples if s.replica_set == bad_rs]
    # only what failed after the injection: a count that never moved since is an earlier release's
    moved = {(s.pod, s.probe) for s in samples if s.t >= t0}
    samples = [s for s in samples if (s.pod, s.probe) in moved]
    back_i = next((i for i in range(bad_i + 1, len(states)) if states[i].images == good.images), None)
    info: dict[str, Any] = {"revision_before": good.revision, "revision_bad": bad.revision,
                            "replica_set_before": good.serving, "replica_set_bad": bad_rs,
                            "images_before": good.images, "images_bad": bad.images,
                            "poll_interval_s": ev.poll_interval_s, "polls": ev.polls,
                            "unhealthy_events": [u.model_dump() for u in ev.unhealthy if (u.pod, u.probe) in moved],
                            "collector_errors": ev.errors}
    back_by = None  # the rollback happened by then (the first poll showing it, or the experiment's recovery)
    if back_i is not None:
        back_by = states[back_i].t_first
        if recovered_at is not None and states[back_i - 1].t_last < recovered_at < back_by:
            back_by = recovered_at
    automated = back_by is not None and (own_rollbacks_at is None or back_by <= own_rollbacks_at)
    given_up = back_i is not None and recovered_at is None and gave_up_at is not None \
        and states[back_i].t_first > gave_up_at
    if back_i is not None and not automated and not given_up and own_rollbacks_at is not None \
            and states[back_i - 1].t_last < own_rollbacks_at:
        return CheckResult(CHECK, Status.INCONCLUSIVE, None, thr, label, source,
                           "the good template returned between two polls around the start of the experiment's own "
                           "rollbacks: whether the platform or gameday's restore brought it back cannot be told",
                           info)
    if not automated or given_up:
        total = _count_at(samples, float("inf"), t0)
        after = "gameday's rollback restored the good image afterwards" if back_i is not None else \
            "the good template never returned"
        return CheckResult(CHECK, Status.FAIL, float(total) if samples else None, thr, label, source,
                           f"no automated rollback: revision {bad.revision} ({bad.images}) kept serving through the "
                           f"fault after {total if samples else 'an unknown number of'} failed health checks; "
                           f"{after}", info)
    assert back_i is not None
    assert back_by is not None
    back, prev = states[back_i], states[back_i - 1]
    took_max, took_min = back_by - t0, max(prev.t_last, t0) - t0
    ready = next((s for s in states[back_i:] if s.images == good.images and s.settled), None)
    final = states[-1]
    restored = final.images == good.images and final.serving is not None and final.serving == good.serving
    info.update(revision_after=back.revision, replica_set_after=back.serving, rollback_after_s=round(took_max, 3),
                rollback_after_min_s=round(took_min, 3), within_s=within,
                all_ready_after_s=round(ready.t_first - t0, 3) if ready is not None else None,
                revision_history=_history(ev, good))
    if not samples:
        return CheckResult(CHECK, Status.INCONCLUSIVE, None, thr, label, source,
                           f"rolled back {took_max:.1f} s after the release (revision {bad.revision} -> "
                           f"{back.revision}), but no Unhealthy event of the bad ReplicaSet {bad_rs}'s pods was "
                           f"{'listed' if ev.events_listed else 'readable'}: the failed health checks cannot be "
                           f"counted{errors}", info)
    lo, hi = _count_at(samples, prev.t_last, t0), _count_at(samples, back.t_first, t0)
    info.update(failures_lo=lo, failures_hi=hi)
    again = (f"ReplicaSet {good.serving} serving {good.images} again" if restored
             else f"NOT restored: {final.images} at the end")
    counted = f"{hi}" if lo == hi else f"between {lo} and {hi}"
    timing = f"{took_max:.1f} s" if took_max - took_min < 0.05 else f"between {took_min:.1f} and {took_max:.1f} s"
    msg = (f"rolled back {timing} after the release (bound {within:g} s) after {counted} failed health checks "
           f"(expected {expected}; Unhealthy events of {bad_rs}), revision {good.revision} -> {bad.revision} -> "
           f"{back.revision}, {again}"
           + (f"; every replica ready {ready.t_first - t0:.1f} s after the release" if ready else
              "; never every replica ready again while watched"))
    if hi < expected:
        status, msg = Status.FAIL, msg + f"; too eager: rolled back before the {_nth(expected)} failure"
    elif lo > expected:
        status, msg = Status.FAIL, msg + f"; too late: still serving the bad release after {lo} failures"
    elif not restored or took_min > within:
        status = Status.FAIL
    elif hi <= expected + 1 and lo >= expected - 1 and took_max <= within:
        status = Status.PASS
    else:
        status = Status.INCONCLUSIVE
        msg += f"; at a poll interval of {ev.poll_interval_s:g} s it cannot be told whether that was on time"
    return CheckResult(CHECK, status, float(hi), thr, label, source, msg, info)


def _history(ev: RolloutEvidence, good: Observation) -> list[dict[str, Any]]:
    return [{"replica_set": r.name, "revision": r.revision, "revision_history": r.revision_history,
             "images": r.images, "created": r.created, "good": r.name == good.serving} for r in ev.replica_sets]


def _nth(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
