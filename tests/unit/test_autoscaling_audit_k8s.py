"""The cluster path of the autoscaling audit: autoscaling/v2 HPAs read through the Kubernetes API
(the stub API server, real HTTP, the real kubernetes client), judged by audit_autoscaling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gameday.analysis.checks.autoscaling import audit_autoscaling
from gameday.analysis.run import load_run
from gameday.analysis.verdict import Status
from gameday.harness.hpa_specs import cluster_autoscaling
from gameday.harness.profile import ClusterTarget
from tests.stubs import k8s

NS = "hypercode-core"


def hpa(name: str, deployment: str, metric: dict[str, Any], lo: int, hi: int,
        behavior: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
                            "minReplicas": lo, "maxReplicas": hi, "metrics": [metric]}
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": NS}, "spec": spec}


CPU = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}
QUEUE = {"type": "External",
         "external": {"metric": {"name": "queue_depth"}, "target": {"type": "Value", "value": "100"}}}
CHECKLIST = {"scaleUp": {"stabilizationWindowSeconds": 30}, "scaleDown": {"stabilizationWindowSeconds": 300}}


def audit(tmp: Path, items: list[dict[str, Any]]) -> list[Any]:
    cluster = k8s.Cluster()
    for h in items:
        cluster.hpas[(NS, h["metadata"]["name"])] = h
    with k8s.running(cluster) as (_, url):
        kubeconfig = k8s.write_kubeconfig(tmp / "kubeconfig", url, ("stub",))
        target = ClusterTarget(kube_context="stub", namespace=NS, aws_region="eu-west-1",
                               aws_account_id="123456789012", kubeconfig=kubeconfig)
        got = cluster_autoscaling(target)
    run = tmp / "run"
    run.mkdir()
    (run / "profile.yaml").write_text("name: t\n")  # checks.autoscaling at its defaults: §6.2 as written
    (run / "timeline.jsonl").write_text("")
    (run / "audits.json").write_text(json.dumps({"errors": {}, "autoscaling": got}))
    return list(audit_autoscaling(load_run(run)))


def test_hpas_as_the_checklist_says_pass(tmp_path: Path) -> None:
    out = audit(tmp_path, [hpa("core-api", "core-api", CPU, 3, 15, CHECKLIST),
                           hpa("worker", "worker", QUEUE, 2, 20, CHECKLIST)])
    assert [r.status for r in out] == [Status.PASS, Status.PASS], [r.message for r in out]
    assert "Kubernetes API" in out[0].evidence


def test_wrong_bounds_missing_behavior_and_a_missing_hpa_fail(tmp_path: Path) -> None:
    out = audit(tmp_path, [hpa("core-api", "core-api", CPU, 3, 3)])  # max pinned at 3, Kubernetes' default behavior
    by = {r.window.rsplit(" ", 1)[-1]: r for r in out}
    assert by["core-api"].status == Status.FAIL
    assert "max_replicas=3 (want 15)" in by["core-api"].message
    assert "scale_up_window_s=0.0 (want 30" in by["core-api"].message  # the API's default, 0 s, not §6.2's 30 s
    assert by["worker"].status == Status.FAIL and "no HPA 'worker'" in by["worker"].message
