"""A tiny Kubernetes API server: just what chaosk8s and gameday call, over real HTTP.

State: nodes (with a node-group label), pods (owned by a Deployment's ReplicaSet or a
StatefulSet), deployments. Behaviour a real cluster has that the experiments rely on:

* an eviction (drain) deletes the pod and starts its replacement on another schedulable node;
* deleting a StatefulSet pod recreates it (same name, new uid), Running and Ready;
* patching a deployment's image rolls it; an image listed in ``bad_images`` fails its health
  checks and is rolled back automatically ``rollback_after_s`` later (what the platform does);
* ``watch=true`` on deployments answers the current objects as ADDED events and closes.

Every request is recorded in ``calls`` as (method, path) for the tests to assert on, and in
``requests`` as (method, path, query) (a watch is a GET with ``watch=true``: RBAC's verb ``watch``).
"""

from __future__ import annotations

import copy
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


@dataclass
class Cluster:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    bad_images: set[str] = field(default_factory=set)
    rollback_after_s: float = 1.0
    calls: list[tuple[str, str]] = field(default_factory=list)
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _pending_rollback: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)
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
        self.deployments[(ns, name)] = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": _uid(), "generation": 1, "labels": dict(labels),
                         "annotations": {"deployment.kubernetes.io/revision": "1"}, "creationTimestamp": TS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)},
                                  "spec": {"containers": [{"name": "core", "image": image}]}}},
            "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": replicas, "availableReplicas": replicas},
        }
        for i in range(replicas):
            self._new_pod(ns, f"{name}-{self._next()}", labels, nodes[i % len(nodes)], "ReplicaSet", f"{name}-rs")

    def add_statefulset_pod(self, ns: str, name: str, labels: dict[str, str], node: str) -> None:
        self._new_pod(ns, name, labels, node, "StatefulSet", name.rsplit("-", 1)[0])

    def _next(self) -> str:
        self._counter += 1
        return f"{self._counter:05x}"

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

    # ---- behaviour -----------------------------------------------------------------------
    def tick(self) -> None:
        """Apply automated rollbacks that are due."""
        now = time.monotonic()
        for key, (due, good) in list(self._pending_rollback.items()):
            if now >= due:
                dep = self.deployments[key]
                dep["spec"]["template"]["spec"]["containers"][0]["image"] = good
                self._bump(dep, ready=True)
                del self._pending_rollback[key]

    def _bump(self, dep: dict[str, Any], ready: bool) -> None:
        meta, st, n = dep["metadata"], dep["status"], dep["spec"]["replicas"]
        meta["generation"] += 1
        rev = int(meta["annotations"]["deployment.kubernetes.io/revision"]) + 1
        meta["annotations"]["deployment.kubernetes.io/revision"] = str(rev)
        st["observedGeneration"] = meta["generation"]
        st.update({"updatedReplicas": n if ready else 1, "readyReplicas": n if ready else n - 1,
                   "availableReplicas": n if ready else n - 1, "unavailableReplicas": None if ready else 1})

    def patch_deployment(self, ns: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        dep = self.deployments[(ns, name)]
        containers = dep["spec"]["template"]["spec"]["containers"]
        patched = (((body.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        for pc in patched:
            for c in containers:
                if c["name"] == pc.get("name") and "image" in pc:
                    before, c["image"] = c["image"], pc["image"]
                    bad = pc["image"] in self.bad_images
                    self._bump(dep, ready=not bad)
                    if bad:
                        self._pending_rollback[(ns, name)] = (time.monotonic() + self.rollback_after_s, before)
                    else:
                        self._pending_rollback.pop((ns, name), None)
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
    api = "apps/v1" if kind == "DeploymentList" else "v1"
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
                if kind == "replicasets" and method == "GET":
                    return self._send(200, _list("ReplicaSetList", []))
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
