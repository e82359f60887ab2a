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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml

from tests.helpers import ROOT

DEPLOY = ROOT / "deploy"
SA = ("gameday", "gameday")  # namespace, name


# ---- rendering ---------------------------------------------------------------------------------
def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def render(base: Path = DEPLOY, components: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """What ``kustomize build`` gives for this kustomization (resources, components, the
    ConfigMap generator, the image tag); anything else kustomize would do is refused here."""
    k = yaml.safe_load((base / "kustomization.yaml").read_text())
    known = {"apiVersion", "kind", "resources", "configMapGenerator", "generatorOptions", "images", "labels",
             "components"}
    assert set(k) <= known, f"kustomization uses {set(k) - known}: teach render() first"
    out: list[dict[str, Any]] = []
    for r in k.get("resources", []):
        out += _docs(base / r)
    for c in (*k.get("components", []), *components):
        ck = yaml.safe_load((base / c / "kustomization.yaml").read_text())
        assert ck["kind"] == "Component"
        for r in ck.get("resources", []):
            out += _docs(base / c / r)
    for gen in k.get("configMapGenerator", []):
        data = {}
        for f in gen["files"]:
            key, _, src = f.partition("=")
            data[key] = (base / src).read_text()
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": gen["name"], "namespace": gen["namespace"]}, "data": data})
    tags = {i["name"]: i["newTag"] for i in k.get("images", [])}
    for d in out:
        for c in _containers(d):
            if c["image"] in tags:
                c["image"] = f"{c['image']}:{tags[c['image']]}"
    return out


def _pod_spec(d: dict[str, Any]) -> dict[str, Any] | None:
    if d["kind"] == "CronJob":
        return dict(d["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    if d["kind"] in ("Deployment", "Job", "StatefulSet"):
        return dict(d["spec"]["template"]["spec"])
    return None


def _containers(d: dict[str, Any]) -> list[dict[str, Any]]:
    spec = _pod_spec(d)
    return list(spec.get("containers", [])) + list(spec.get("initContainers", [])) if spec else []


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return render()


# ---- a small Kubernetes RBAC evaluator ----------------------------------------------------------
CLUSTER_SCOPED = {"nodes", "namespaces", "persistentvolumes", "clusterroles", "clusterrolebindings"}
GROUP = {"deployments": "apps", "replicasets": "apps", "statefulsets": "apps", "daemonsets": "apps",
         "clusterroles": "rbac.authorization.k8s.io", "roles": "rbac.authorization.k8s.io"}


@dataclass(frozen=True)
class Grant:
    """One (apiGroup, resource, verb) a binding gives, and where: ns None = cluster-wide."""

    group: str
    resource: str
    verb: str
    ns: str | None


def grants(docs: list[dict[str, Any]], sa: tuple[str, str] = SA) -> set[Grant]:
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
             for d in docs if d["kind"] in ("Role", "ClusterRole")}
    out: set[Grant] = set()
    for b in docs:
        if b["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if not any(s["kind"] == "ServiceAccount" and (s.get("namespace"), s["name"]) == sa for s in b["subjects"]):
            continue
        ref = b["roleRef"]
        role_ns = b["metadata"]["namespace"] if ref["kind"] == "Role" else None
        role = roles.get((ref["kind"], role_ns, ref["name"]))
        assert role is not None, f"{b['kind']} {b['metadata']['name']} refers to a missing {ref['kind']} {ref['name']}"
        scope = None if b["kind"] == "ClusterRoleBinding" else b["metadata"]["namespace"]
        for rule in role.get("rules", []):
            assert not rule.get("resourceNames"), "resourceNames: teach the evaluator first"
            for g in rule["apiGroups"]:
                for r in rule["resources"]:
                    for v in rule["verbs"]:
                        out.add(Grant(g, r, v, scope))
    return out


def can_i(granted: set[Grant], verb: str, resource: str, ns: str | None = None, group: str | None = None) -> bool:
    """``kubectl auth can-i VERB RESOURCE [-n NS]`` for the ServiceAccount; no ``-n`` (ns None)
    means across all namespaces for a namespaced resource (a list of /api/v1/pods)."""
    group = GROUP.get(resource.split("/")[0], "") if group is None else group
    cluster_scoped = resource.split("/")[0] in CLUSTER_SCOPED
    for g in granted:
        if (g.group, g.resource, g.verb) != (group, resource, verb):
            continue
        if g.ns is None or (not cluster_scoped and ns is not None and g.ns == ns):
            return True
    return False


# ---- replaying the four cluster experiments against the stub API ------------------------------------
def request_to_rbac(method: str, path: str, query: str) -> tuple[str, str, str, str | None]:
    """(verb, apiGroup, resource[/subresource], namespace) of a Kubernetes API request."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"]:
        group, rest = parts[1], parts[3:]
    else:
        raise AssertionError(f"not a resource request: {method} {path}")
    ns = None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    resource, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
    q = {k: v[0] for k, v in parse_qs(query).items()}
    if method == "GET":
        verb = ("watch" if q.get("watch") in ("true", "1") else "list") if name is None else "get"
    else:
        deleting = "delete" if name else "deletecollection"
        verb = {"POST": "create", "PATCH": "patch", "PUT": "update", "DELETE": deleting}[method]
    return verb, group, f"{resource}/{sub}" if sub else resource, ns


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

    from harness import profile as profile_mod
    from harness.safety.plan import plan_profile
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


def _policy() -> dict[str, Any]:
    return dict(json.loads((DEPLOY / "iam" / "gameday-faults-policy.json").read_text()))


def test_iam_policy_allows_exactly_the_aws_calls_of_the_faults(replay: Replay) -> None:
    allowed = {a for st in _policy()["Statement"] for a in st["Action"]}
    made = {f"{svc}:{op}" for svc, op in replay.aws if (svc, op) not in FREE}
    print("\n" + "\n".join(sorted(made)))
    assert made == allowed, f"made but not allowed: {made - allowed}; allowed but never made: {allowed - made}"


