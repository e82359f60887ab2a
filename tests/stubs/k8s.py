"""A tiny Kubernetes API server: just what chaosk8s and gameday call, over real HTTP.

State: nodes (with a node-group label), pods (owned by a Deployment's ReplicaSet or a
StatefulSet), deployments. Behaviour a real cluster has that the experiments rely on:

* an eviction (drain) deletes the pod and starts its replacement on another schedulable node;
* deleting a StatefulSet pod recreates it (same name, new uid), Running and Ready;
* patching a deployment's image rolls it as the deployment controller does: a new ReplicaSet
  for a new template, the old ReplicaSet (with a new revision, its old one in the revision
  history) when the template returns; an image listed in ``bad_images`` gets one surge pod that
  fails its readiness probe every ``probe_period_s`` (an ``Unhealthy`` event, its count and last
  time updated, unless ``record_events`` is off) and is rolled back by "the platform" on the
  ``rollback_on_failure``-th failure (None: never);
* ``watch=true`` on deployments answers the current objects as ADDED events and closes.

Every request is recorded in ``calls`` as (method, path) for the tests to assert on, and in
``requests`` as (method, path, query) (a watch is a GET with ``watch=true``: RBAC's verb ``watch``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.stubs import serve

NODE_LABEL = "eks.amazonaws.com/nodegroup"
TS = "2026-01-01T00:00:00Z"


def _uid() -> str:
    return str(uuid.uuid4())


def _now(at: float | None = None) -> str:
    """A Kubernetes timestamp (seconds, UTC), as the API server writes them."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if at is None else at))


@dataclass
class _BadRelease:
    started: float  # monotonic
    started_wall: float
    pod: str
    container: str
    good_image: str
    failures: int = 0


@dataclass
class Cluster:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    bad_images: set[str] = field(default_factory=set)
    probe_period_s: float = 0.25
    rollback_on_failure: int | None = 4
    record_events: bool = True
    replica_sets: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    hpas: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # autoscaling/v2, served as given
    calls: list[tuple[str, str]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _releases: dict[tuple[str, str], _BadRelease] = field(default_factory=dict)
    _counter: int = 0

    # ---- building ------------------------------------------------------------------------
    def add_node(self, name: str, group: str, ready: bool = True) -> None:
        self.nodes[name] = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": _uid(), "labels": {NODE_LABEL: group, "kubernetes.io/hostname": name},
                         "resourceVersion": "1", "creationTimestamp": TS},
            "spec": {"unschedulable": False},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
        }

    def add_deployment(self, ns: str, name: str, image: str, replicas: int, nodes: list[str]) -> None:
        labels = {"app.kubernetes.io/name": name}
        probe = {"httpGet": {"path": "/readyz", "port": 8000}, "periodSeconds": 10, "failureThreshold": 3,
                 "timeoutSeconds": 1, "successThreshold": 1}
        self.deployments[(ns, name)] = dep = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": _uid(), "generation": 1, "labels": dict(labels),
                         "annotations": {"deployment.kubernetes.io/revision": "1"}, "creationTimestamp": TS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%",
                                                                             "maxUnavailable": "25%"}},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "core", "image": image,
                                                           "readinessProbe": probe}]}}},
            "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": replicas, "availableReplicas": replicas},
        }
        rs = self._replica_set(dep, 1, replicas)
        for i in range(replicas):
            self._new_pod(ns, f"{rs}-{self._next()}", labels, nodes[i % len(nodes)], "ReplicaSet", rs)

    def add_statefulset_pod(self, ns: str, name: str, labels: dict[str, str], node: str) -> None:
        self._new_pod(ns, name, labels, node, "StatefulSet", name.rsplit("-", 1)[0])

    def _next(self) -> str:
        self._counter += 1
        return f"{self._counter:05x}"

    def _replica_set(self, dep: dict[str, Any], revision: int, replicas: int) -> str:
        """A ReplicaSet of ``dep``'s current template, named after its hash as the controller names it."""
        meta = dep["metadata"]
        template = copy.deepcopy(dep["spec"]["template"])
        digest = hashlib.sha256(json.dumps(template["spec"], sort_keys=True).encode()).hexdigest()[:10]
        name = f"{meta['name']}-{digest}"
        template["metadata"]["labels"]["pod-template-hash"] = digest
        self.replica_sets[(meta["namespace"], name)] = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": meta["namespace"], "uid": _uid(), "creationTimestamp": _now(),
                         "labels": dict(template["metadata"]["labels"]),
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": meta["name"],
                                              "uid": meta["uid"], "controller": True}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(template["metadata"]["labels"])},
                     "template": template},
            "status": {"replicas": replicas, "readyReplicas": replicas},
        }
        return name

    def _owned_sets(self, dep: dict[str, Any]) -> list[dict[str, Any]]:
        uid = dep["metadata"]["uid"]
        return [r for r in self.replica_sets.values() if r["metadata"]["ownerReferences"][0]["uid"] == uid]

    def _new_pod(self, ns: str, name: str, labels: dict[str, str], node: str, owner_kind: str, owner: str) -> None:
        self.pods[(ns, name)] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "uid": _uid(), "labels": dict(labels),
                         "creationTimestamp": TS,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": owner,
                                              "uid": _uid(), "controller": True}]},
            "spec": {"nodeName": node, "containers": [{"name": "main", "image": "x"}], "volumes": []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }

    def snapshot(self) -> str:
        """Every node, pod and deployment as one comparable string (the tests' before / after)."""
        with self.lock:
            return json.dumps({"nodes": self.nodes, "pods": {f"{k[0]}/{k[1]}": v for k, v in self.pods.items()},
                               "deployments": {f"{k[0]}/{k[1]}": v for k, v in self.deployments.items()}},
                              sort_keys=True)

    # ---- behaviour -----------------------------------------------------------------------
    def tick(self) -> None:
        """The bad releases' probe failures that are due, and the platform's rollbacks."""
        now = time.monotonic()
        for key, rel in list(self._releases.items()):
            due = int((now - rel.started) / self.probe_period_s)
            if self.rollback_on_failure is not None:
                due = min(due, self.rollback_on_failure)
            while rel.failures < due:
                rel.failures += 1
                self._unhealthy(key[0], rel.pod, rel.started_wall + rel.failures * self.probe_period_s)
            if self.rollback_on_failure is not None and rel.failures >= self.rollback_on_failure:
                del self._releases[key]
                self._set_image(self.deployments[key], rel.container, rel.good_image)

    def _unhealthy(self, ns: str, pod: str, at: float) -> None:
        if not self.record_events:
            return
        when = _now(at)
        e = self.events.get((ns, f"{pod}.unhealthy"))
        if e is None:
            self.events[(ns, f"{pod}.unhealthy")] = {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{pod}.{self._next()}", "namespace": ns, "creationTimestamp": when},
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "fieldPath": "spec.containers{core}"},
                "reason": "Unhealthy", "type": "Warning", "source": {"component": "kubelet"},
                "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
                "count": 1, "firstTimestamp": when, "lastTimestamp": when}
        else:
            e["count"] += 1
            e["lastTimestamp"] = when

    def _set_image(self, dep: dict[str, Any], container: str, image: str) -> None:
        """The deployment controller's part: the template changes, a ReplicaSet takes it (the old one
        again, with a new revision, when the template returns), the others are scaled down once it
        is ready."""
        meta, n = dep["metadata"], dep["spec"]["replicas"]
        ns, key = meta["namespace"], (meta["namespace"], meta["name"])
        for c in dep["spec"]["template"]["spec"]["containers"]:
            if c["name"] == container:
                c["image"] = image
        bad = image in self.bad_images
        sets = self._owned_sets(dep)
        rev = max(int(r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]) for r in sets) + 1
        same = next((r for r in sets if r["spec"]["template"]["spec"] == dep["spec"]["template"]["spec"]), None)
        if same is None:
            name = self._replica_set(dep, rev, 1 if bad else n)
            same = self.replica_sets[(ns, name)]
        else:
            ann = same["metadata"]["annotations"]
            old = ann["deployment.kubernetes.io/revision"]
            hist = [h for h in ann.get("deployment.kubernetes.io/revision-history", "").split(",") if h]
            ann["deployment.kubernetes.io/revision-history"] = ",".join([*hist, old])
            ann["deployment.kubernetes.io/revision"] = str(rev)
        name = same["metadata"]["name"]
        labels = dict(dep["spec"]["selector"]["matchLabels"])
        nodes = [k for k, v in self.nodes.items() if not v["spec"].get("unschedulable")] or list(self.nodes)
        if bad:  # one surge pod (maxSurge 25 % of 3), never ready; the old ReplicaSet keeps serving
            same["spec"]["replicas"] = 1
            same["status"] = {"replicas": 1, "readyReplicas": 0}
            pod = f"{name}-{self._next()}"
            self._new_pod(ns, pod, labels, sorted(nodes)[0], "ReplicaSet", name)
            self.pods[(ns, pod)]["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
            good = next((r for r in sets if r is not same and r["spec"]["replicas"] > 0), None)
            good_image = (next(c["image"] for c in good["spec"]["template"]["spec"]["containers"]
                               if c["name"] == container) if good is not None else image)
            self._releases[key] = _BadRelease(time.monotonic(), time.time(), pod, container, good_image)
        else:
            self._releases.pop(key, None)
            for r in sets:
                if r is not same:
                    r["spec"]["replicas"], r["status"] = 0, {"replicas": 0, "readyReplicas": 0}
                    for (pns, pname), p in list(self.pods.items()):
                        if pns == ns and p["metadata"]["ownerReferences"][0]["name"] == r["metadata"]["name"]:
                            del self.pods[(pns, pname)]
            have = [p for (pns, _), p in self.pods.items()
                    if pns == ns and p["metadata"]["ownerReferences"][0]["name"] == name]
            for i in range(n - len(have)):
                self._new_pod(ns, f"{name}-{self._next()}", labels, sorted(nodes)[i % len(nodes)], "ReplicaSet",
                              name)
            same["spec"]["replicas"], same["status"] = n, {"replicas": n, "readyReplicas": n}
        self._bump(dep, ready=not bad, revision=rev)

    def _bump(self, dep: dict[str, Any], ready: bool, revision: int) -> None:
        meta, st, n = dep["metadata"], dep["status"], dep["spec"]["replicas"]
        meta["generation"] += 1
        meta["annotations"]["deployment.kubernetes.io/revision"] = str(revision)
        st["observedGeneration"] = meta["generation"]
        st.update({"updatedReplicas": n if ready else 1, "readyReplicas": n if ready else n - 1,
                   "availableReplicas": n if ready else n - 1, "unavailableReplicas": None if ready else 1})

    def patch_deployment(self, ns: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        dep = self.deployments[(ns, name)]
        containers = dep["spec"]["template"]["spec"]["containers"]
        patched = (((body.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        for pc in patched:
            for c in containers:
                if c["name"] == pc.get("name") and "image" in pc and pc["image"] != c["image"]:
                    self._set_image(dep, c["name"], pc["image"])
        return dep

    def evict(self, ns: str, name: str) -> None:
        pod = self.pods.pop((ns, name))
        owner = pod["metadata"]["ownerReferences"][0]
        others = [n for n, v in self.nodes.items() if not v["spec"].get("unschedulable")
                  and n != pod["spec"]["nodeName"]]
        if others and owner["kind"] == "ReplicaSet":
            base = name.rsplit("-", 1)[0]
            self._new_pod(ns, f"{base}-{self._next()}", pod["metadata"]["labels"], sorted(others)[0], "ReplicaSet",
                          owner["name"])

    def delete_pod(self, ns: str, name: str) -> dict[str, Any]:
        pod = self.pods.pop((ns, name))
        owner = pod["metadata"]["ownerReferences"][0]
        if owner["kind"] == "StatefulSet":  # recreated at once, same name, new uid
            self._new_pod(ns, name, pod["metadata"]["labels"], pod["spec"]["nodeName"], "StatefulSet", owner["name"])
        return pod


def _match_labels(obj: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    labels = obj["metadata"].get("labels") or {}
    for term in selector.split(","):
        k, _, v = term.partition("=")
        if labels.get(k.strip()) != v.strip():
            return False
    return True


def _match_fields(obj: dict[str, Any], selector: str | None) -> bool:
    if not selector:
        return True
    for term in selector.split(","):
        k, _, v = term.partition("=")
        node: Any = obj
        for part in k.strip().split("."):
            node = (node or {}).get(part)
        if str(node) != v.strip():
            return False
    return True


def _list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    api = "apps/v1" if kind in ("DeploymentList", "ReplicaSetList") else "v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items}


def _status(code: int, message: str, reason: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def make_handler(cluster: Cluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            n = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(n) or b"{}") if n else {}

        def _route(self, method: str) -> None:
            url = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = [p for p in url.path.split("/") if p]
            with cluster.lock:
                cluster.calls.append((method, url.path))
                cluster.requests.append((method, url.path, url.query))
                cluster.tick()
                try:
                    self._dispatch(method, parts, q)
                except KeyError as exc:
                    self._send(404, _status(404, f"{exc} not found", "NotFound"))

        def _dispatch(self, method: str, parts: list[str], q: dict[str, str]) -> None:
            ls, fs = q.get("labelSelector"), q.get("fieldSelector")
            c = cluster
            if parts[:2] == ["api", "v1"]:
                rest = parts[2:]
                if rest == ["nodes"] and method == "GET":
                    items = [n for n in c.nodes.values() if _match_labels(n, ls) and _match_fields(n, fs)]
                    return self._send(200, _list("NodeList", copy.deepcopy(items)))
                if len(rest) == 2 and rest[0] == "nodes":
                    node = c.nodes[rest[1]]
                    if method == "PATCH":
                        spec = (self._body().get("spec") or {})
                        if "unschedulable" in spec:
                            node["spec"]["unschedulable"] = bool(spec["unschedulable"])
                    return self._send(200, copy.deepcopy(node))
                if rest == ["pods"] and method == "GET":
                    items = [p for p in c.pods.values() if _match_labels(p, ls) and _match_fields(p, fs)]
                    return self._send(200, _list("PodList", copy.deepcopy(items)))
                if len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "events" and method == "GET":
                    items = [e for (ens, _), e in c.events.items() if ens == rest[1] and _match_fields(e, fs)]
                    return self._send(200, _list("EventList", copy.deepcopy(items)))
                if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] == "pods":
                    ns = rest[1]
                    if len(rest) == 3 and method == "GET":
                        items = [p for (pns, _), p in c.pods.items()
                                 if pns == ns and _match_labels(p, ls) and _match_fields(p, fs)]
                        return self._send(200, _list("PodList", copy.deepcopy(items)))
                    name = rest[3]
                    if len(rest) == 5 and rest[4] == "eviction" and method == "POST":
                        body = self._body()
                        c.evict(ns, name)
                        return self._send(201, body)
                    if method == "DELETE":
                        return self._send(200, copy.deepcopy(c.delete_pod(ns, name)))
                    return self._send(200, copy.deepcopy(c.pods[(ns, name)]))
            if parts[:3] == ["apis", "apps", "v1"] and len(parts) >= 6 and parts[3] == "namespaces":
                ns, kind = parts[4], parts[5]
                if kind == "deployments":
                    if len(parts) == 6 and method == "GET":
                        items = [d for (dns, _), d in c.deployments.items()
                                 if dns == ns and _match_labels(d, ls) and _match_fields(d, fs)]
                        if q.get("watch") in ("true", "True", "1"):
                            return self._watch(items)
                        return self._send(200, _list("DeploymentList", copy.deepcopy(items)))
                    name = parts[6]
                    if method == "PATCH":
                        return self._send(200, copy.deepcopy(c.patch_deployment(ns, name, self._body())))
                    return self._send(200, copy.deepcopy(c.deployments[(ns, name)]))
                if kind == "replicasets" and method == "GET" and len(parts) == 6:
                    items = [r for (rns, _), r in c.replica_sets.items() if rns == ns and _match_labels(r, ls)]
                    return self._send(200, _list("ReplicaSetList", copy.deepcopy(items)))
            if parts[:3] == ["apis", "autoscaling", "v2"] and parts[5:] == ["horizontalpodautoscalers"]:
                items = [h for (hns, _), h in c.hpas.items() if hns == parts[4]]
                return self._send(200, {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscalerList",
                                        "metadata": {"resourceVersion": "1"}, "items": copy.deepcopy(items)})
            self._send(404, _status(404, f"{method} {self.path}: not served by the stub", "NotFound"))

        def _watch(self, items: list[dict[str, Any]]) -> None:
            lines = b"".join(json.dumps({"type": "ADDED", "object": d}).encode() + b"\n" for d in items)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(lines)))
            self.end_headers()
            self.wfile.write(lines)

        def do_GET(self) -> None:
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_DELETE(self) -> None:
            self._route("DELETE")

    return Handler


def write_kubeconfig(path: Path, url: str, contexts: tuple[str, ...]) -> Path:
    """A kubeconfig with one context per name, all pointing at the stub (token auth)."""
    cfg = {
        "apiVersion": "v1", "kind": "Config", "current-context": contexts[0],
        "clusters": [{"name": "stub", "cluster": {"server": url}}],
        "users": [{"name": "stub", "user": {"token": "stub-token-not-a-secret"}}],
        "contexts": [{"name": c, "context": {"cluster": "stub", "user": "stub"}} for c in contexts],
    }
    path.write_text(json.dumps(cfg))
    return path


def seeded() -> Cluster:
    """A HyperCode-like cluster: 3 nodes in node group hypercode-workers, 1 in another group,
    hypercode-core (3 replicas, on two nodes), a Redis StatefulSet with its primary pod."""
    c = Cluster(bad_images={"ghcr.io/hypercode/core:bad"})
    for n in ("ip-10-0-1-10", "ip-10-0-2-20", "ip-10-0-3-30"):
        c.add_node(n, "hypercode-workers")
    c.add_node("ip-10-0-9-90", "platform-system")
    c.add_deployment("hypercode-core", "hypercode-core", "ghcr.io/hypercode/core:1.4.2", 3,
                     ["ip-10-0-1-10", "ip-10-0-1-10", "ip-10-0-2-20"])
    # what rolls a bad release back (target.cluster.rollback: hypercode-controller)
    c.add_deployment("hypercode-core", "hypercode-rollback-controller", "ghcr.io/hypercode/rollback:1.0", 1,
                     ["ip-10-0-3-30"])
    c.add_statefulset_pod("hypercode-data", "hypercode-redis-node-0",
                          {"app.kubernetes.io/name": "hypercode-redis", "redis-role": "master"}, "ip-10-0-3-30")
    c.add_statefulset_pod("hypercode-data", "hypercode-redis-node-1",
                          {"app.kubernetes.io/name": "hypercode-redis", "redis-role": "replica"}, "ip-10-0-2-20")
    return c


@contextmanager
def running(cluster: Cluster | None = None) -> Iterator[tuple[Cluster, str]]:
    cluster = cluster or seeded()
    server, stop = serve(make_handler(cluster))
    try:
        yield cluster, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop()
