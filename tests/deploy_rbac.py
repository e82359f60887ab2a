"""deploy/ rendered and its RBAC evaluated without a cluster, for the unit and sandbox layers of
``test_deploy``: manifests rendered as ``kustomize build deploy/`` would, a small evaluator of
Kubernetes RBAC answering ``kubectl auth can-i`` for the ServiceAccount, the mapping of an API
request to its RBAC verb and resource, and the IAM policy. The ``docs`` fixture is registered in
tests/conftest.py."""

from __future__ import annotations

import json
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
def parse_docs(path: Path) -> list[dict[str, Any]]:
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
        out += parse_docs(base / r)
    for c in (*k.get("components", []), *components):
        ck = yaml.safe_load((base / c / "kustomization.yaml").read_text())
        assert ck["kind"] == "Component"
        for r in ck.get("resources", []):
            out += parse_docs(base / c / r)
    for gen in k.get("configMapGenerator", []):
        data = {}
        for f in gen["files"]:
            key, _, src = f.partition("=")
            data[key] = (base / src).read_text()
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": gen["name"], "namespace": gen["namespace"]}, "data": data})
    tags = {i["name"]: i["newTag"] for i in k.get("images", [])}
    for d in out:
        for c in containers(d):
            if c["image"] in tags:
                c["image"] = f"{c['image']}:{tags[c['image']]}"
    return out


def pod_spec(d: dict[str, Any]) -> dict[str, Any] | None:
    if d["kind"] == "CronJob":
        return dict(d["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    if d["kind"] in ("Deployment", "Job", "StatefulSet"):
        return dict(d["spec"]["template"]["spec"])
    return None


def containers(d: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(d)
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


def iam_policy() -> dict[str, Any]:
    return dict(json.loads((DEPLOY / "iam" / "gameday-faults-policy.json").read_text()))
