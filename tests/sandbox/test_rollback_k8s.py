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
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.analysis.judge import judge
from gameday.analysis.run import load_run
from gameday.analysis.verdict import CheckResult, Status
from gameday.harness import profile as profile_mod
from gameday.harness.chaos.runner import run_fault
from gameday.harness.errors import BadInput, NothingToTarget
from gameday.harness.evidence import snapshot
from gameday.harness.profile import DEFAULT_PROMQL
from gameday.harness.safety.plan import plan_fault
from gameday.harness.timeline import Timeline
from tests.helpers import CLUSTER_EXPERIMENTS, cluster_profile
from tests.stubs.cluster import Stack, stack_in_env

ROLLBACK_SERIES = ("deployment_rollbacks", "health_check_failures", "deployment_revision")
PERIOD_S = 1.5  # the stub's probe period: more than the collector's 1 s poll, as 10 s is on a cluster


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_in_env(tmp_path_factory.mktemp("stubs")) as s:
        yield s


def bad_release_run(stubs: Stack, tmp: Path, on_failure: int | None, events: bool = True) -> Path:
    """One cluster bad release, as the orchestrator runs it (its phase around run_fault), then the
    Prometheus snapshot of the rollback series; returns the run directory."""
    kube = stubs.kube
    saved = (kube.rollback_on_failure, kube.record_events, kube.probe_period_s)
    kube.rollback_on_failure, kube.record_events, kube.probe_period_s = on_failure, events, PERIOD_S
    fault = {"id": "bad-release", "experiment": str(CLUSTER_EXPERIMENTS / "bad-release.json"),
             "configuration": {"rollback_timeout_s": 4 * PERIOD_S + 6}}
    p = profile_mod.load(cluster_profile(tmp, stubs, [fault]))
    run_dir = tmp / "run"
    run_dir.mkdir()
    (run_dir / "profile.yaml").write_text(yaml.safe_dump({"name": "stubbed", "checks": {
        "rollback_on_failure": 4, "rollback_within_s": 60}}))
    start = time.time()
    try:
        with Timeline(run_dir / "timeline.jsonl") as tl:
            tl.append("phase_started", phase="fault:bad-release")
            run_fault(p.faults[0], tl, run_dir, p, phase="fault:bad-release")
            tl.append("phase_ended", phase="fault:bad-release")
    finally:
        kube.rollback_on_failure, kube.record_events, kube.probe_period_s = saved
    snapshot(stubs.prom_url, {n: DEFAULT_PROMQL[n] for n in ROLLBACK_SERIES}, start, time.time(), 1.0,
             run_dir / "prometheus", scrape_interval_s=15.0, interval_source="test")
    return run_dir


def judged(run_dir: Path) -> CheckResult:
    (r,) = [x for x in judge(load_run(run_dir)).results if x.id == "automated_rollback"]
    print(f"\n{r.status.value}: {r.message}")
    return r


def test_rollback_on_the_4th_failure_passes_from_kubernetes_evidence(stubs: Stack, tmp_path: Path) -> None:
    run_dir = bad_release_run(stubs, tmp_path, on_failure=4)
    ev = json.loads((run_dir / "k8s" / "rollout.json").read_text())
    assert ev["polls"] >= 5 and ev["events_listed"] and ev["before"]["images"] == ["ghcr.io/hypercode/core:1.4.2"]
    assert any(e["event"] == "rollout_evidence" for e in load_run(run_dir).events)
    r = judged(run_dir)
    k = r.details["kubernetes"]
    assert r.status == Status.PASS, r.message
    assert r.details["judged_from"] == "kubernetes"
    assert r.details["prometheus"]["status"] == "INCONCLUSIVE"  # no rollback series in the stub Prometheus
    assert "no data" in r.details["prometheus"]["message"] or "returned no data" in r.details["prometheus"]["message"]
    assert k["failures_hi"] == 4 and r.value == 4.0
    assert k["revision_before"] < k["revision_bad"] < k["revision_after"]
    assert k["replica_set_after"] == k["replica_set_before"] != k["replica_set_bad"]
    assert 4 * PERIOD_S - 1.5 <= k["rollback_after_s"] <= 4 * PERIOD_S + 2.5
    assert k["all_ready_after_s"] is not None
    assert [e["count"] for e in k["unhealthy_events"]] == [4]


def test_rollback_on_the_2nd_failure_fails_as_too_eager(stubs: Stack, tmp_path: Path) -> None:
    r = judged(bad_release_run(stubs, tmp_path, on_failure=2))
    assert r.status == Status.FAIL, r.message
    assert "too eager" in r.message and r.details["kubernetes"]["failures_hi"] == 2


def test_no_rollback_fails(stubs: Stack, tmp_path: Path) -> None:
    r = judged(bad_release_run(stubs, tmp_path, on_failure=None))
    assert r.status == Status.FAIL, r.message
    assert "no automated rollback" in r.message and "gameday's rollback restored the good image" in r.message
    assert r.details["kubernetes"]["status"] == "FAIL" and r.value is not None and r.value >= 4
    # whatever happened, the good image serves again (the experiment's rollbacks)
    dep = stubs.kube.deployments[("hypercode-core", "hypercode-core")]
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/hypercode/core:1.4.2"


def test_no_events_and_no_metrics_is_inconclusive(stubs: Stack, tmp_path: Path) -> None:
    r = judged(bad_release_run(stubs, tmp_path, on_failure=4, events=False))
    assert r.status == Status.INCONCLUSIVE, r.message
    assert "cannot be counted" in r.details["kubernetes"]["message"]
    assert r.details["prometheus"]["status"] == "INCONCLUSIVE" and r.details["judged_from"] is None


# ---- the mechanism, checked by the plan before the release is shipped -------------------------------
def test_plan_checks_the_rollback_mechanism(stubs: Stack, tmp_path: Path) -> None:
    fault = [{"id": "bad-release", "experiment": str(CLUSTER_EXPERIMENTS / "bad-release.json")}]

    def plan(**rb: Any) -> Any:
        p = profile_mod.load(cluster_profile(tmp_path, stubs, fault, **rb))
        return plan_fault(p, p.faults[0])

    calls = len(stubs.kube.calls)
    notes = plan().notes
    assert any("HyperCode controller hypercode-core/hypercode-rollback-controller is there" in n for n in notes)
    with pytest.raises(BadInput, match="target.cluster.rollback is not set"):
        plan(rollback=None)
    with pytest.raises(NothingToTarget, match=r"argo-rollouts hypercode-core/hypercode-core\) is not there"):
        plan(rollback={"mechanism": "argo-rollouts", "name": "hypercode-core"})
    with pytest.raises(NothingToTarget, match="is not there"):
        plan(rollback={"mechanism": "hypercode-controller", "name": "hypercode-nothing"})
    assert any("none expected" in n for n in plan(rollback={"mechanism": "none-expected"}).notes)
    assert not [c for c in stubs.kube.calls[calls:] if c[0] != "GET"], "the plan changes nothing"
    with pytest.raises(profile_mod.ProfileError, match="rollback: Value error, mechanism 'pipeline-job' needs 'name'"):
        plan(rollback={"mechanism": "pipeline-job"})
