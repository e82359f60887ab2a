"""The automated rollback proven from Kubernetes' own evidence (issue 23).

Cluster-path bad releases run by gameday's runner against the stub Kubernetes API (which keeps a
real revision history: a ReplicaSet per template, the old one back with a new revision on a
rollback, and the bad pod's ``Unhealthy`` events), with a stub Prometheus that has none of the
contract's rollback series. The collector writes ``k8s/rollout.json``; the judge reads the run
directory alone. Then the pure parts: the judgement over recorded histories, the combination of
the two sources, ``audit_rollout``, and the plan's check of the rollback mechanism.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from gameday.analysis.checks import rollback
from gameday.analysis.checks.audits import audit_rollout
from gameday.analysis.rollout_evidence import FailureSample, Observation, ReplicaSetRev, RolloutEvidence
from gameday.analysis.run import load_run
from gameday.analysis.verdict import CheckResult, Status

# ---- the judgement over recorded histories (pure) -------------------------------------------------
GOOD, BAD = ["core:1.4.2"], ["core:bad"]


def _obs(t0: float, t1: float, rev: int, images: list[str], serving: str, settled: bool = True) -> Observation:
    n = 3 if settled else 2
    return Observation(t_first=t0, t_last=t1, revision=rev, images=images, generation=rev, observed_generation=rev,
                       replicas=3, updated=3 if settled else 1, ready=n, available=n, unavailable=0 if settled else 1,
                       active=[serving], serving=serving)


def history(counts: list[tuple[float, int]], back_at: float | None, seen_before: float | None = None
            ) -> RolloutEvidence:
    """Injection at t=100; the bad revision from 100.5; the good template back at ``back_at``
    (last poll without it at ``seen_before``, default one second earlier)."""
    states = [_obs(90, 99.5, 1, GOOD, "rs-good"), _obs(100.5, (seen_before or (back_at or 200) - 1), 2, BAD,
                                                       "rs-bad", settled=False)]
    if back_at is not None:
        states.append(_obs(back_at, back_at + 10, 3, GOOD, "rs-good"))
    return RolloutEvidence(deployment="core", namespace="ns", source="recorded", poll_interval_s=1.0, started=90,
                           polls=len(states) * 10, before=ReplicaSetRev(name="rs-good", revision=1, images=GOOD),
                           states=states, events_listed=True,
                           failure_samples=[FailureSample(t=t, pod="rs-bad-x1", replica_set="rs-bad", probe="readiness",
                                                          count=c) for t, c in counts])


def _judge(ev: RolloutEvidence, own: float | None = 300.0) -> CheckResult:
    return rollback.judge_evidence(ev, 100.0, own, 4, 60.0, "fault:bad-release")


def test_recorded_histories() -> None:
    every10 = [(110.2, 1), (120.2, 2), (130.2, 3), (140.2, 4)]
    assert _judge(history(every10, back_at=140.2)).status == Status.PASS  # the 4th and the rollback in one poll
    assert _judge(history(every10, back_at=141.2, seen_before=140.2)).status == Status.PASS  # seen a poll later
    eager = _judge(history(every10[:2], back_at=120.2))
    assert eager.status == Status.FAIL and "too eager" in eager.message
    late = _judge(history([*every10, (150.2, 5), (160.2, 6)], back_at=160.2, seen_before=159.2))
    assert late.status == Status.FAIL and "too late" in late.message
    never = _judge(history(every10, back_at=None))
    assert never.status == Status.FAIL and "no automated rollback" in never.message
    # the good template came back only after the experiment's own rollbacks started: gameday's restore
    assert _judge(history(every10, back_at=250), own=200.0).status == Status.FAIL
    # a poll gap spanning several failures: cannot be told
    coarse = _judge(history([(110.2, 1), (140.2, 4)], back_at=140.2, seen_before=110.2))
    assert coarse.status == Status.INCONCLUSIVE and "poll interval" in coarse.message
    # too slow for the bound (rolled back on the 4th, but 70 s after the release)
    slow = _judge(history([(130, 1), (150, 2), (160, 3), (170.2, 4)], back_at=170.2))
    assert slow.status == Status.FAIL
    # no event at all: not zero failures, unknown
    none = _judge(history([], back_at=140.2))
    assert none.status == Status.INCONCLUSIVE and "cannot be counted" in none.message
    # the release never showed in the Deployment
    flat = history(every10, back_at=None).model_copy(update={"states": [_obs(90, 200, 1, GOOD, "rs-good")]})
    assert _judge(flat).status == Status.INCONCLUSIVE


def _result(status: Status, msg: str) -> CheckResult:
    return CheckResult("automated_rollback", status, 4.0, 4.0, "fault:bad-release", "e", msg, {})


def test_both_sources_shown_and_a_disagreement_reported() -> None:
    agree = rollback.combine(_result(Status.PASS, "k ok"), _result(Status.PASS, "p ok"))
    assert agree.status == Status.PASS and agree.details["judged_from"] == "both"
    assert agree.details["disagreement"] is None and "Kubernetes: k ok" in agree.message and "Prometheus: p ok" \
        in agree.message
    split = rollback.combine(_result(Status.PASS, "k ok"), _result(Status.FAIL, "p says 2"))
    assert split.status == Status.FAIL and "DISAGREEMENT" in split.message
    assert split.details["disagreement"].startswith("Kubernetes says PASS, Prometheus says FAIL")
    prom_only = rollback.combine(_result(Status.INCONCLUSIVE, "no events"), _result(Status.PASS, "p ok"))
    assert prom_only.status == Status.PASS and prom_only.details["judged_from"] == "prometheus"
    neither = rollback.combine(_result(Status.INCONCLUSIVE, "a"), _result(Status.INCONCLUSIVE, "b"))
    assert neither.status == Status.INCONCLUSIVE and neither.value is None


def test_not_injected_stays_inconclusive(tmp_path: Path) -> None:
    """C's rule holds with Kubernetes evidence present: a release never shipped says nothing."""
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "rollout.json").write_text(history([(110.2, 1)], back_at=None).model_dump_json())
    events = [{"t": 99.0, "event": "phase_started", "phase": "fault:bad-release"},
              {"t": 99.5, "event": "steady_state_before", "fault": "bad-release", "met": False,
               "failed": ["p95-latency-within-sla: 900 ms"]},
              {"t": 101.0, "event": "phase_ended", "phase": "fault:bad-release"}]
    (tmp_path / "timeline.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (r,) = rollback.automated_rollback(load_run(tmp_path))
    assert r.status == Status.INCONCLUSIVE and "was not injected" in r.message


# ---- audit_rollout (pure, over audits.json) -------------------------------------------------------
def _audit(tmp: Path, rollout: dict[str, Any] | None, checks: dict[str, Any] | None = None) -> CheckResult:
    (tmp / "audits.json").write_text(json.dumps({"errors": {"rollout": "not collected"}} if rollout is None
                                                else {"errors": {}, "rollout": rollout}))
    (tmp / "profile.yaml").write_text(yaml.safe_dump({"name": "x", "checks": checks or {}}))
    (r,) = audit_rollout(load_run(tmp))
    return r


K8S = {"source": "Kubernetes API", "strategy": "RollingUpdate", "max_surge": "25%", "max_unavailable": "25%",
       "replicas": 3, "failure_threshold": 3, "period_s": 10.0, "progress_deadline_s": 600.0, "auto_rollback": None,
       "container": "core"}


def test_audit_rollout(tmp_path: Path) -> None:
    assert _audit(tmp_path, K8S).status == Status.PASS
    r = _audit(tmp_path, {**K8S, "failure_threshold": 1, "max_surge": "50%"})
    assert r.status == Status.FAIL and "failure_threshold=1 (want 3)" in r.message and "max_surge='50%'" in r.message
    r = _audit(tmp_path, {**K8S, "progress_deadline_s": 30.0})
    assert r.status == Status.FAIL and "progress deadline (30 s) gives the rollout up before the 4th" in r.message
    r = _audit(tmp_path, {**K8S, "period_s": 20.0})
    assert r.status == Status.FAIL and "past the 60 s bound" in r.message
    assert _audit(tmp_path, {**K8S, "auto_rollback": False}).status == Status.FAIL
    assert _audit(tmp_path, {**K8S, "failure_threshold": 5}, {"rollback_on_failure": 6}).status == Status.PASS
    assert _audit(tmp_path, {**K8S, "max_surge": None}).status == Status.INCONCLUSIVE
    assert _audit(tmp_path, None).status == Status.INCONCLUSIVE


