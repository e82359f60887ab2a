"""The cluster experiments, planned and run by gameday's runner against stand-ins: a stub
Kubernetes API (chaosk8s drain / uncordon / terminate_pods / deployment probes, our release
provider), moto's server (RDS reboot with failover, Aurora failover, STS), an ElastiCache stub
(TestFailover, which moto lacks) and a Prometheus stub (the SLA probes). Real HTTP, real
clients (kubernetes, boto3, chaoslib); none of it is AWS or EKS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gameday.analysis.windows import read_timeline_file as read_timeline
from gameday.harness import profile as profile_mod
from gameday.harness.chaos.runner import run_fault
from gameday.harness.errors import BadInput, NotAllowed, NothingToTarget
from gameday.harness.safety.plan import plan_fault, plan_profile, render
from gameday.harness.timeline import Timeline
from tests.helpers import (
    CLUSTER_EXPERIMENTS,
    CLUSTER_SECRET,
    ROOT,
    aurora_writer,
    cluster_faults,
    cluster_profile,
    gameday,
    run_cluster_fault,
)
from tests.stubs.cluster import Stack, stack_in_env


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with stack_in_env(tmp_path_factory.mktemp("stubs")) as s:
        yield s


def test_plan_resolves_every_cluster_target(stubs: Stack, tmp_path: Path) -> None:
    p = profile_mod.load(cluster_profile(tmp_path, stubs, cluster_faults()))
    pp = plan_profile(p, collect=True)
    assert not pp.refused, pp.refused
    text = "\n".join(render(p, pp))
    print("\n" + text)
    assert "kube context hypercode-staging" in text and "AWS account 123456789012 in eu-west-1" in text
    assert "rds instance                   hypercode-db" in text
    assert "TestFailover on ElastiCache hypercode-redis shard 0001: primary hypercode-redis-001" in text
    assert "drain ip-10-0-1-10" in text  # the node running most core pods
    assert "ghcr.io/hypercode/core:1.4.2 -> ghcr.io/hypercode/core:bad" in text
    assert ("GET", "/api/v1/nodes") in stubs.kube.calls
    assert not [c for c in stubs.kube.calls if c[0] != "GET"], "plan must change nothing"
    assert stubs.cache["hypercode-redis"].failovers == 0


@pytest.mark.parametrize("fault_id", ["db-failover", "redis-primary-kill", "node-drain", "bad-release"])
def test_cluster_experiment_runs_with_rollbacks(stubs: Stack, tmp_path: Path, fault_id: str) -> None:
    path = cluster_profile(tmp_path, stubs, cluster_faults())
    result, events, run_dir = run_cluster_fault(tmp_path, path, fault_id)
    names = [e["event"] for e in events]
    assert result.ok, (result, [e for e in events if e.get("status") == "failed"])
    assert names.index("fault_injected") < names.index("fault_recovered") < names.index("rollbacks_done")
    journal = json.loads((run_dir / "journals" / f"{fault_id}.json").read_text())
    assert journal["status"] == "completed" and not journal["deviated"]
    assert all(r["status"] == "succeeded" for r in journal["rollbacks"])
    for f in run_dir.rglob("*"):
        if f.is_file():
            assert CLUSTER_SECRET not in f.read_text(), f"{f} leaks a secret"
    if fault_id == "node-drain":
        assert all(not n["spec"]["unschedulable"] for n in stubs.kube.nodes.values())  # uncordoned
        assert any(c[0] == "POST" and c[1].endswith("/eviction") for c in stubs.kube.calls)
    if fault_id == "bad-release":
        dep = stubs.kube.deployments[("hypercode-core", "hypercode-core")]
        assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/hypercode/core:1.4.2"
        assert [r["activity"]["name"] for r in journal["run"]] == [
            "set-bad-image", "wait-for-automated-rollback", "core-fully-available"]
    if fault_id == "redis-primary-kill":
        assert stubs.cache["hypercode-redis"].failovers >= 1


@pytest.mark.parametrize("fault_id, variant", [("db-failover", "db-failover-aurora.json"),
                                                ("redis-primary-kill", "redis-primary-kill-k8s.json")])
def test_cluster_variants_run(stubs: Stack, tmp_path: Path, fault_id: str, variant: str) -> None:
    import boto3

    path = cluster_profile(tmp_path, stubs, cluster_faults({fault_id: variant}))
    if fault_id == "db-failover":
        writer = aurora_writer(boto3.client("rds"))
        reader = "hypercode-aurora-2" if writer == "hypercode-aurora-1" else "hypercode-aurora-1"
        path = cluster_profile(tmp_path, stubs, cluster_faults({fault_id: variant}), db_failover_target=reader)
    uid_before = stubs.kube.pods[("hypercode-data", "hypercode-redis-node-0")]["metadata"]["uid"]
    result, events, _ = run_cluster_fault(tmp_path, path, fault_id)
    assert result.ok, [e for e in events if e.get("status") == "failed"]
    if fault_id == "db-failover":
        assert aurora_writer(boto3.client("rds")) == reader
    else:  # the primary pod was deleted and recreated by its StatefulSet
        assert stubs.kube.pods[("hypercode-data", "hypercode-redis-node-0")]["metadata"]["uid"] != uid_before


# ---- refusals: nothing is touched --------------------------------------------------------------
@pytest.mark.parametrize("override, message", [
    ({"kube_context": "some-other-cluster"}, "kube context 'some-other-cluster' is not allowed"),
    ({"aws_account_id": "111111111111", "allow": {"kube_contexts": ["hypercode-staging"],
                                                  "aws_accounts": ["111111111111"], "aws_regions": ["eu-west-1"]}},
     "credentials in use are for account 123456789012"),
    ({"db_instance": "prod-db"}, "RDS instance 'prod-db' is outside the allow-list"),
])
def test_plan_refuses_outside_the_allow_list_with_exit_64(stubs: Stack, tmp_path: Path, override: dict[str, Any],
                                                          message: str) -> None:
    calls = len(stubs.kube.calls)
    r = gameday("plan", str(cluster_profile(tmp_path, stubs, cluster_faults(), **override)))
    assert r.returncode == 64, r.stdout + r.stderr
    assert message in r.stderr + r.stdout
    assert not [c for c in stubs.kube.calls[calls:] if c[0] != "GET"]


def test_faults_that_resolve_to_nothing_fail_before_injection(stubs: Stack, tmp_path: Path) -> None:
    p = profile_mod.load(cluster_profile(tmp_path, stubs, cluster_faults(), node_group="hypercode-empty"))
    drain = next(f for f in p.faults if f.id == "node-drain")
    with pytest.raises(NothingToTarget, match="no Ready, schedulable node"):
        plan_fault(p, drain)
    with Timeline(tmp_path / "t.jsonl") as tl, pytest.raises(NothingToTarget):
        run_fault(drain, tl, tmp_path, p)
    assert read_timeline(tmp_path / "t.jsonl") == []  # nothing started, nothing injected
    p = profile_mod.load(cluster_profile(tmp_path, stubs, cluster_faults(), replication_group="hypercode-nope",
                                       db_instance="hypercode-nope"))
    for fid in ("redis-primary-kill", "db-failover"):
        with pytest.raises(NothingToTarget):
            plan_fault(p, next(f for f in p.faults if f.id == fid))


def test_unknown_actions_and_wrong_kinds_are_refused(stubs: Stack, tmp_path: Path) -> None:
    exp = json.loads((CLUSTER_EXPERIMENTS / "node-drain.json").read_text())
    exp["method"].insert(0, {"type": "action", "name": "delete-everything",
                             "provider": {"type": "python", "module": "chaosk8s.node.actions",
                                          "func": "delete_nodes", "arguments": {"all": True}}})
    custom = tmp_path / "custom.json"
    custom.write_text(json.dumps(exp))
    p = profile_mod.load(cluster_profile(tmp_path, stubs, [{"id": "node-drain", "experiment": str(custom)}]))
    with pytest.raises(NotAllowed, match="does not know what python chaosk8s.node.actions.delete_nodes targets"):
        plan_fault(p, p.faults[0])
    p = profile_mod.load(cluster_profile(tmp_path, stubs, [
        {"id": "node-drain", "experiment": str(ROOT / "experiments/sandbox/node-drain.json")}]))
    with pytest.raises(BadInput, match="drives a sandbox, but the profile targets 'cluster'"):
        plan_fault(p, p.faults[0])


def test_cluster_example_profile_plans_against_the_stubs(stubs: Stack) -> None:
    r = gameday("plan", "profiles/cluster.example.yaml", "--set", f"target.prometheus_url={stubs.prom_url}")
    print("\n" + r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    for fault in ("db-failover", "redis-primary-kill", "node-drain", "bad-release"):
        assert f"fault {fault}  (experiments/cluster/" in r.stdout
    assert "REFUSED" not in r.stdout


@pytest.mark.parametrize("fault_id, tamper, problem", [
    ("db-failover", {"aws_account": "999999999999"}, "AWS account is now 123456789012, the plan checked 999999999999"),
    ("node-drain", {"kube_server": "https://elsewhere.example:443"}, "the plan checked https://elsewhere.example"),
])
def test_identity_is_checked_again_before_the_injection(stubs: Stack, tmp_path: Path, fault_id: str,
                                                        tamper: dict[str, str], problem: str) -> None:
    """The plan's identity (as if the credentials or the context had changed since) differs from the
    one in use when the injection comes: the action is not called, the rollbacks run, exit 64."""
    import dataclasses

    from tests.stubs import aws

    p = profile_mod.load(cluster_profile(tmp_path, stubs, cluster_faults()))
    fault = next(f for f in p.faults if f.id == fault_id)
    plan = plan_fault(p, fault, for_run=True)
    assert plan.identity is not None
    plan = dataclasses.replace(plan, identity=dataclasses.replace(plan.identity, **tamper))
    kube_before, calls_from = stubs.kube.snapshot(), len(stubs.kube.calls)
    aws.start_recording(stubs.moto_url)
    run_dir = tmp_path / "run"
    with Timeline(run_dir / "timeline.jsonl") as tl, pytest.raises(NotAllowed, match="identity changed") as err:
        run_fault(fault, tl, run_dir, p, plan=plan)
    assert problem in str(err.value)
    events = read_timeline(run_dir / "timeline.jsonl")
    names = [e["event"] for e in events]
    assert "fault_injected" not in names and "rollbacks_done" in names
    checks = [(e["section"], e["ok"]) for e in events if e["event"] == "identity_checked"]
    # the injection refused, and each rollback *action* too (a probe, read-only, still runs)
    assert checks[0] == ("method", False) and all(s == "rollbacks" and not ok for s, ok in checks[1:]), checks
    assert len(checks) == (2 if fault_id == "node-drain" else 1), checks
    assert not [c for c in aws.recorded_calls(stubs.moto_url) if not c.split(":")[1].startswith(
        ("Describe", "Get", "List"))]
    assert not [c for c in stubs.kube.calls[calls_from:] if c[0] not in ("GET", "PATCH")]  # uncordon: a no-op
    assert stubs.kube.snapshot() == kube_before
    decisions = json.loads((run_dir / "safety" / "decisions.json").read_text())
    assert decisions[fault_id] and all(d["allowed"] for d in decisions[fault_id])


def test_identity_checked_before_each_injection_when_unchanged(stubs: Stack, tmp_path: Path) -> None:
    profile_path = cluster_profile(tmp_path, stubs, cluster_faults())
    result, events, run_dir = run_cluster_fault(tmp_path, profile_path, "bad-release")
    assert result.ok
    checks = [e for e in events if e["event"] == "identity_checked"]
    assert [(c["section"], c["action"], c["ok"]) for c in checks] == [
        ("method", "set-bad-image", True), ("rollbacks", "restore-good-image", True)]  # checked before each
    names = [e["event"] for e in events]
    assert names.index("identity_checked") < names.index("fault_injected")
