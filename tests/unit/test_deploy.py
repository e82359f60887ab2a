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

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from tests.deploy_rbac import (
    DEPLOY,
    SA,
    can_i,
    grants,
    iam_policy,
    parse_docs,
    pod_spec,
    render,
    request_to_rbac,
)
from tests.helpers import ROOT


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


# ---- structure -------------------------------------------------------------------------------------
def test_every_manifest_parses_and_names_its_namespace(docs: list[dict[str, Any]]) -> None:
    files = sorted(p for p in DEPLOY.rglob("*.yaml") if p.parent.name != "config")  # config/: generator inputs
    assert len(files) >= 9
    for p in files + [DEPLOY / "config" / "kubeconfig"]:
        for d in parse_docs(p):
            assert {"apiVersion", "kind"} <= set(d), p
    kinds = {d["kind"] for d in docs}
    assert {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "CronJob",
            "PersistentVolumeClaim", "Service", "Deployment", "ConfigMap", "NetworkPolicy"} <= kinds
    for d in docs:
        if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert d["metadata"].get("namespace"), f"{d['kind']} {d['metadata']['name']} has no namespace"
    for p in (DEPLOY / "iam").glob("*.json"):
        json.loads(p.read_text())


def test_cronjob_runs_gameday_once_bounded_and_resourced(docs: list[dict[str, Any]]) -> None:
    cj = one(docs, "CronJob", "gameday")
    spec, job = cj["spec"], cj["spec"]["jobTemplate"]["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert re.fullmatch(r"\S+ \S+ \S+ \S+ \S+", spec["schedule"])
    assert job["backoffLimit"] == 0
    assert 0 < job["activeDeadlineSeconds"] <= 4 * 3600
    assert spec.get("startingDeadlineSeconds", 0) > 0
    pod = pod_spec(cj)
    assert pod is not None and pod["restartPolicy"] == "Never" and pod["serviceAccountName"] == "gameday"
    assert pod["terminationGracePeriodSeconds"] >= 60  # rollbacks run after SIGTERM
    (c,) = pod["containers"]
    assert c["image"].startswith("ghcr.io/hypercode/gameday:")
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(c["resources"][kind])
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # the command runs `gameday run` on the mounted profile, into the PVC
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["runs"]["persistentVolumeClaim"]["claimName"] == one(docs, "PersistentVolumeClaim")["metadata"][
        "name"]
    assert mounts["runs"] == "/runs"
    cm = one(docs, "ConfigMap", volumes["config"]["configMap"]["name"])
    script = " ".join(c["command"] + c.get("args", []))
    assert script == f"/bin/sh {mounts['config']}/run.sh"
    run_sh = cm["data"]["run.sh"]
    assert re.search(r"^gameday run \"\$PROFILE\" --out \"\$RUN\"$", run_sh, re.M)
    assert 'PROFILE=/etc/gameday/profile.yaml' in run_sh and 'RUN="/runs/' in run_sh
    assert re.search(r'^exit "\$code"$', run_sh, re.M), "the pod's exit code must be the run's (GO / NO-GO)"


def test_the_configmap_profile_is_a_valid_cluster_profile(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    from gameday.harness import profile as profile_mod

    data = one(docs, "ConfigMap", "gameday-config")["data"]
    text = data["profile.yaml"].replace("/opt/gameday/", f"{ROOT}/").replace("/etc/gameday/", f"{tmp_path}/")
    (tmp_path / "kubeconfig").write_text(data["kubeconfig"])
    (tmp_path / "profile.yaml").write_text(text)
    p = profile_mod.load(tmp_path / "profile.yaml")
    c = p.target.cluster
    assert p.target.kind == "cluster" and c is not None
    assert [f.id for f in p.faults] == ["db-failover", "redis-primary-kill", "node-drain", "bad-release"]
    for f in p.faults:
        assert f.experiment.is_file() and "experiments/cluster/" in str(f.experiment)
    # its kubeconfig is the in-cluster API with the pod's token, in the context the profile allows
    kube = yaml.safe_load(data["kubeconfig"])
    assert [x["name"] for x in kube["contexts"]] == [c.kube_context] and c.kube_context in c.allow.kube_contexts
    assert kube["clusters"][0]["cluster"]["server"] == "https://kubernetes.default.svc"
    assert kube["users"][0]["user"] == {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}
    # ... and the kubernetes client (gameday's plan, chaosk8s) authenticates with that token
    from kubernetes import config as kube_config

    sa_dir = tmp_path / "sa"
    sa_dir.mkdir()
    (sa_dir / "token").write_text("projected-token-123")
    (sa_dir / "ca.crt").write_text("not a real CA\n")
    sa_path = "/var/run/secrets/kubernetes.io/serviceaccount"
    (tmp_path / "kc").write_text(data["kubeconfig"].replace(sa_path, str(sa_dir)))
    api = kube_config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(tmp_path / "kc"), context=c.kube_context)
    assert api.configuration.host == "https://kubernetes.default.svc"
    assert api.configuration.api_key["BearerToken"] == "Bearer projected-token-123"
    assert api.configuration.refresh_api_key_hook is not None  # the rotated token is read again
    # the Role sits in the namespace the profile targets
    assert one(docs, "Role", "gameday-faults")["metadata"]["namespace"] == c.namespace
    example = yaml.safe_load((ROOT / "profiles/cluster.example.yaml").read_text())
    assert set(yaml.safe_load(data["profile.yaml"])["target"]["cluster"]) >= set(example["target"]["cluster"]) - {
        "kubeconfig"}


def test_workers_point_at_the_master_service_which_selects_the_job_pod(docs: list[dict[str, Any]]) -> None:
    svc = one(docs, "Service", "gameday-locust-master")
    (port,) = svc["spec"]["ports"]
    workers = one(docs, "Deployment", "gameday-locust-worker")
    (w,) = workers["spec"]["template"]["spec"]["containers"]
    args = w["args"]
    assert "--worker" in args
    assert args[args.index("--master-host") + 1] == svc["metadata"]["name"]
    assert int(args[args.index("--master-port") + 1]) == port["port"]
    assert "harness/load/plugin.py" in args[args.index("-f") + 1]  # every request recorded
    assert workers["metadata"]["namespace"] == svc["metadata"]["namespace"]
    assert {"cpu", "memory"} <= set(w["resources"]["limits"])
    assert workers["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    cj = one(docs, "CronJob")
    labels = cj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert svc["spec"]["selector"].items() <= labels.items()
    assert not svc["spec"]["selector"].items() <= workers["spec"]["template"]["metadata"]["labels"].items()
    (c,) = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert port["targetPort"] in [p["name"] for p in c["ports"]]
    # the master in the Job's pod listens where the Service sends the workers, and waits for exactly them
    load = yaml.safe_load(one(docs, "ConfigMap", "gameday-config")["data"]["profile.yaml"])["load"]
    host, _, bind_port = load["master_bind"].rpartition(":")
    (container_port,) = [p["containerPort"] for p in c["ports"] if p["name"] == port["targetPort"]]
    assert host == "0.0.0.0" and int(bind_port) == container_port == port["port"]
    assert workers["spec"]["replicas"] == load["remote_workers"] > 0
    assert load["workers_wait_s"] >= 600  # an idle worker's restart back-off reaches 5 min
    # a worker keeps no file: its rows go to the master (no run directory, no volume of runs)
    assert not {"GAMEDAY_RUN_DIR"} & {e["name"] for e in w.get("env", [])}
    assert not [v for v in workers["spec"]["template"]["spec"]["volumes"] if "persistentVolumeClaim" in v]


# ---- RBAC ----------------------------------------------------------------------------------------
def test_rbac_has_no_wildcards(docs: list[dict[str, Any]]) -> None:
    every = docs + render(components=("components/redis-in-cluster",))
    rules = [r for d in every if d["kind"] in ("Role", "ClusterRole") for r in d["rules"]]
    assert rules
    for r in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert all("*" not in x for x in r[key]), r
        assert "nonResourceURLs" not in r
    for d in every:
        assert not (d["kind"] == "ClusterRole" and d.get("aggregationRule")), "aggregation grants what it collects"


def test_can_i(docs: list[dict[str, Any]]) -> None:
    g = grants(docs)
    yes = [("patch", "nodes", None), ("list", "nodes", None), ("list", "pods", None),
           ("create", "pods/eviction", "hypercode-core"), ("get", "pods", "hypercode-core"),
           ("patch", "deployments", "hypercode-core"), ("get", "deployments", "hypercode-core"),
           ("watch", "deployments", "hypercode-core"), ("list", "deployments", "hypercode-core"),
           ("list", "replicasets", "hypercode-core"), ("list", "events", "hypercode-core")]
    no = [("delete", "namespaces", None), ("delete", "pods", None), ("delete", "pods", "hypercode-core"),
          ("delete", "pods", "hypercode-data"), ("get", "secrets", None), ("get", "secrets", "hypercode-core"),
          ("list", "secrets", "gameday"), ("delete", "nodes", None), ("create", "nodes", None),
          ("get", "nodes", None), ("update", "nodes", None), ("create", "pods", "hypercode-core"),
          ("create", "pods/exec", "hypercode-core"), ("create", "pods/eviction", None),
          ("create", "pods/eviction", "kube-system"), ("patch", "deployments", "kube-system"),
          ("patch", "deployments", None), ("delete", "deployments", "hypercode-core"),
          ("create", "deployments", "hypercode-core"), ("update", "deployments", "hypercode-core"),
          ("patch", "deployments/scale", "hypercode-core"), ("get", "replicasets", "hypercode-core"),
          ("get", "configmaps", "hypercode-core"), ("create", "rolebindings", "hypercode-core"),
          ("escalate", "clusterroles", None), ("bind", "clusterroles", None), ("impersonate", "serviceaccounts", None)]
    wrong = [f"can-i {v} {r}{' -n ' + n if n else ''}: expected yes" for v, r, n in yes if not can_i(g, v, r, n)]
    wrong += [f"can-i {v} {r}{' -n ' + n if n else ''}: expected no" for v, r, n in no if can_i(g, v, r, n)]
    assert not wrong, wrong
    # the evaluator itself: a binding for another subject grants nothing to gameday
    assert not grants(docs, sa=("gameday", "someone-else"))
    with_redis = grants(render(components=("components/redis-in-cluster",)))
    assert can_i(with_redis, "delete", "pods", "hypercode-data") and not can_i(with_redis, "delete", "pods", None)
    assert not can_i(with_redis, "delete", "pods", "hypercode-core")


def test_request_mapping() -> None:
    assert request_to_rbac("GET", "/api/v1/nodes", "labelSelector=a%3Db") == ("list", "", "nodes", None)
    assert request_to_rbac("PATCH", "/api/v1/nodes/n1", "") == ("patch", "", "nodes", None)
    assert request_to_rbac("POST", "/api/v1/namespaces/x/pods/p/eviction", "") == ("create", "", "pods/eviction",
                                                                                   "x")
    assert request_to_rbac("GET", "/apis/apps/v1/namespaces/x/deployments", "watch=true") == (
        "watch", "apps", "deployments", "x")
    assert request_to_rbac("DELETE", "/api/v1/namespaces/x/pods/p", "") == ("delete", "", "pods", "x")


def test_iam_policy_is_scoped() -> None:
    for st in iam_policy()["Statement"]:
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        assert all("*" not in a for a in actions), st
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for r in resources:
            assert re.fullmatch(r"arn:aws:(rds|elasticache):[a-z0-9-]+:\d{12}:[a-z]+:hypercode-\*", r), r


def test_no_secret_in_the_manifests() -> None:
    for p in DEPLOY.rglob("*"):
        if p.is_file():
            text = p.read_text()
            assert not re.search(r"(?i)(aws_secret_access_key|password|BEGIN [A-Z ]*PRIVATE KEY)\s*[:=]", text), p
            assert os.environ.get("AWS_SECRET_ACCESS_KEY", "\0") not in text


# ---- the remote workers: their own identity, and the only pods that reach the master ------------
def test_workers_have_their_own_service_account_with_no_cloud_role(docs: list[dict[str, Any]]) -> None:
    workers = one(docs, "Deployment", "gameday-locust-worker")
    spec = workers["spec"]["template"]["spec"]
    name = spec["serviceAccountName"]
    assert name != SA[1], "workers must not run as the game day's account (IRSA role: RDS reboot, failover)"
    sa = one(docs, "ServiceAccount", name)
    assert sa["metadata"]["namespace"] == workers["metadata"]["namespace"]
    assert not [k for k in (sa["metadata"].get("annotations") or {}) if "role-arn" in k], "no IRSA role"
    assert sa.get("automountServiceAccountToken") is False and spec.get("automountServiceAccountToken") is False
    bound = [d["metadata"]["name"] for d in docs if d["kind"] in ("RoleBinding", "ClusterRoleBinding")
             for sub in d.get("subjects", []) if sub.get("kind") == "ServiceAccount" and sub.get("name") == name]
    assert bound == [], f"the workers' account is bound to {bound}: it needs no Kubernetes permission"
    # and the game day's own account still has its IRSA role (the check above is not vacuous)
    assert [k for k in (one(docs, "ServiceAccount", SA[1])["metadata"].get("annotations") or {}) if "role-arn" in k]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"teach _selects {set(selector)}"
    return selector.get("matchLabels", {}).items() <= labels.items()


def test_only_worker_pods_reach_the_masters_port(docs: list[dict[str, Any]]) -> None:
    svc = one(docs, "Service", "gameday-locust-master")
    (port,) = svc["spec"]["ports"]
    job_labels = one(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    workers = one(docs, "Deployment", "gameday-locust-worker")
    worker_labels = workers["spec"]["template"]["metadata"]["labels"]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["namespace"] == "gameday"
                and _selects(d["spec"]["podSelector"], job_labels)]
    assert policies, "no NetworkPolicy selects the game day's pod: any pod could join as a Locust worker"
    for pol in policies:
        assert "Ingress" in pol["spec"]["policyTypes"]
        for rule in pol["spec"].get("ingress", []):
            assert rule.get("from"), "an ingress rule without 'from' admits every pod"
            assert rule.get("ports"), "an ingress rule without 'ports' opens every port"
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, f"only pods of this namespace: {peer}"
                assert _selects(peer["podSelector"], worker_labels)
                assert not _selects(peer["podSelector"], job_labels), "admits the job pod itself"
            assert [(p["protocol"], p["port"]) for p in rule["ports"]] == [("TCP", port["port"])]
    # a pod of the namespace that is not a worker (e.g. someone's debug pod) is admitted by no rule
    other = {"app.kubernetes.io/name": "gameday", "app.kubernetes.io/component": "debug"}
    assert not any(_selects(peer["podSelector"], other) for pol in policies
                   for rule in pol["spec"].get("ingress", []) for peer in rule["from"])

