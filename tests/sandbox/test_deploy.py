"""deploy/: the Kubernetes manifests of the scheduled game day, checked without a cluster.

Every manifest is parsed and rendered as ``kustomize build deploy/`` would (resources plus the
ConfigMap generator; no kustomize binary here). The RBAC is judged by a small evaluator of
Kubernetes RBAC (Roles, ClusterRoles and their bindings for the ServiceAccount) that answers
``kubectl auth can-i``; the four cluster experiments are then replayed against the stub API
server (tests/stubs/k8s.py) and every request they make must be allowed, and every permission
granted must be needed by one of them: exactly what the faults need. The IAM policy is checked
the same way against the AWS calls the experiments make (boto3, recorded in-process).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy_rbac import (
    Grant,
    can_i,
    grants,
    iam_policy,
    render,
    request_to_rbac,
)


@dataclass
class Replay:
    requests: list[tuple[str, str, str]]  # Kubernetes API (method, path, query)
    aws: list[tuple[str, str]]  # (service, operation) as IAM names them
    ok: dict[str, bool]


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.stubs.cluster import stack_in_env

    with stack_in_env(tmp_path_factory.mktemp("stubs")) as s:
        yield s


@pytest.fixture(scope="module")
def replay(stubs: Any, tmp_path_factory: pytest.TempPathFactory) -> Replay:
    """``gameday plan`` and then each of the four faults of the cluster profile (plus the Aurora
    variant of db-failover), as the CronJob's run.sh does, recording every API call."""
    import boto3
    import botocore.client

    from gameday.harness import profile as profile_mod
    from gameday.harness.safety.plan import plan_profile
    from tests.helpers import aurora_writer, cluster_faults, cluster_profile, run_cluster_fault

    aws: list[tuple[str, str]] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation: str, params: Any) -> Any:
        aws.append((self.meta.service_model.signing_name, operation))
        return original(self, operation, params)

    start = len(stubs.kube.requests)
    ok: dict[str, bool] = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        tmp = tmp_path_factory.mktemp("replay")
        path = cluster_profile(tmp, stubs, cluster_faults())
        assert not plan_profile(profile_mod.load(path), collect=True).refused
        for fid in ("db-failover", "redis-primary-kill", "node-drain", "bad-release"):
            d = tmp / fid
            d.mkdir()
            result, _, _ = run_cluster_fault(d, cluster_profile(d, stubs, cluster_faults()), fid)
            ok[fid] = result.ok
        writer = aurora_writer(boto3.client("rds"))
        reader = "hypercode-aurora-2" if writer == "hypercode-aurora-1" else "hypercode-aurora-1"
        d = tmp / "aurora"
        d.mkdir()
        aurora = cluster_faults({"db-failover": "db-failover-aurora.json"})
        result, _, _ = run_cluster_fault(d, cluster_profile(d, stubs, aurora, db_failover_target=reader), "db-failover")
        ok["db-failover-aurora"] = result.ok
    return Replay(list(stubs.kube.requests[start:]), aws, ok)


def test_every_request_of_the_four_faults_is_allowed_and_every_grant_is_used(replay: Replay,
                                                                             docs: list[dict[str, Any]]) -> None:
    assert all(replay.ok.values()), replay.ok
    granted = grants(docs)
    needed = {request_to_rbac(*r) for r in replay.requests}
    print("\n" + "\n".join(f"{v:<7} {g or 'core'}/{r:<16} {ns or '(cluster-wide)'}"
                            for v, g, r, ns in sorted(needed, key=str)))
    denied = sorted((n for n in needed if not can_i(granted, n[0], n[2], n[3], group=n[1])), key=str)
    assert not denied, f"the faults need what the RBAC does not grant: {denied}"
    # exactly: without any one grant, some request the faults made would be denied
    unused = sorted(((g.group, g.resource, g.verb, g.ns) for g in granted
                     if all(can_i(granted - {g}, v, r, ns, group=grp) for v, grp, r, ns in needed)), key=str)
    assert not unused, f"granted but never needed by the four faults: {unused}"
    assert {("patch", "", "nodes", None), ("create", "", "pods/eviction", "hypercode-core"),
            ("patch", "apps", "deployments", "hypercode-core")} <= needed


def test_in_cluster_redis_variant_needs_its_component(stubs: Any, tmp_path: Path) -> None:
    from tests.helpers import cluster_faults, cluster_profile, run_cluster_fault

    start = len(stubs.kube.requests)
    path = cluster_profile(tmp_path, stubs, cluster_faults({"redis-primary-kill": "redis-primary-kill-k8s.json"}))
    result, _, _ = run_cluster_fault(tmp_path, path, "redis-primary-kill")
    assert result.ok
    needed = {request_to_rbac(*r) for r in stubs.kube.requests[start:]}
    base, extra = grants(render()), grants(render(components=("components/redis-in-cluster",)))
    assert ("delete", "", "pods", "hypercode-data") in needed
    assert not can_i(base, "delete", "pods", "hypercode-data")
    assert all(can_i(extra, v, r, ns, group=g) for v, g, r, ns in needed)
    assert extra - base == {Grant("", "pods", "delete", "hypercode-data")}


# ---- IAM (IRSA) ------------------------------------------------------------------------------------
FREE = {("sts", "GetCallerIdentity")}  # needs no permission


def test_iam_policy_allows_exactly_the_aws_calls_of_the_faults(replay: Replay) -> None:
    allowed = {a for st in iam_policy()["Statement"] for a in st["Action"]}
    made = {f"{svc}:{op}" for svc, op in replay.aws if (svc, op) not in FREE}
    print("\n" + "\n".join(sorted(made)))
    assert made == allowed, f"made but not allowed: {made - allowed}; allowed but never made: {allowed - made}"


