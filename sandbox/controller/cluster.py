"""Nodes, pods and the two deployments (core-api, worker): the Kubernetes stand-in.

Pods are supervised processes placed on three named nodes (one per AZ). The controller
probes each pod every ``health_check_interval_s``; only ready core-api pods are in the
ingress. Drains and rolling updates surge first and stop an old pod only once its
replacement is ready, so no more than maxUnavailable (0 of 3 at 25 %) is ever down.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from .. import procs, services
from ..config import NODES, SandboxConfig
from ..layout import Layout
from .supervisor import Managed, Supervisor

log = logging.getLogger("sandbox.cluster")

API = "core-api"
WORKER = "worker"
STARTUP_GRACE_S = 5.0  # connection refused this soon after start is not a failed health check


@dataclass
class Node:
    name: str
    az: str
    schedulable: bool = True


@dataclass
class Pod:
    name: str
    deployment: str
    node: str
    port: int
    revision: int
    healthy_build: bool = True
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    terminating: bool = False
    failures: int = 0  # failed health checks of this pod

    def as_dict(self, pid: int | None) -> dict[str, Any]:
        phase = "terminating" if self.terminating else ("running" if self.ready else "starting")
        return {"name": self.name, "deployment": self.deployment, "node": self.node,
                "port": self.port, "revision": self.revision, "ready": self.ready,
                "phase": phase, "pid": pid, "health_check_failures": self.failures}


@dataclass
class Deployment:
    name: str
    replicas: int
    revision: int = 1
    good_revision: int = 1
    healthy_build: bool = True
    phase: str = "stable"  # stable | progressing | rolled_back | stuck
    rollbacks: int = 0
    health_check_failures: int = 0


class Cluster:
    """Schedules pods, probes them, keeps the ingress and Prometheus targets current."""

    def __init__(self, cfg: SandboxConfig, layout: Layout, sup: Supervisor,
                 emit: Callable[..., None], on_targets: Callable[[list[Pod]], None]) -> None:
        self.cfg = cfg
        self.layout = layout
        self.sup = sup
        self.emit = emit
        self.on_targets = on_targets
        self.nodes = {n: Node(n, f"az-{n[-1]}") for n in NODES}
        self.pods: dict[str, Pod] = {}
        self.deployments = {
            API: Deployment(API, cfg.replicas.api),
            WORKER: Deployment(WORKER, cfg.replicas.worker),
        }
        self._seq = itertools.count(1)
        self._upstream: list[int] | None = None
        self._rollout: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()  # one drain / rollout / undo at a time

    # ---- scheduling -------------------------------------------------------------------
    def _free_port(self) -> int:
        used = {p.port for p in self.pods.values()}
        for port in self.cfg.ports.pod_range:
            if port not in used and not procs.port_busy(port):
                return port
        raise procs.SandboxError("no free pod port left in the pod range")

    def _pick_node(self, exclude: str | None = None) -> str:
        candidates = [n for n in self.nodes.values() if n.schedulable and n.name != exclude]
        if not candidates:
            raise procs.SandboxError("no schedulable node for a new pod")
        load = {n.name: 0 for n in candidates}
        for p in self.pods.values():
            if p.node in load and not p.terminating:
                load[p.node] += 1
        return min(load, key=lambda name: (load[name], name))

    def create_pod(self, deployment: str, revision: int, healthy: bool = True,
                   exclude_node: str | None = None) -> Pod:
        prefix = "api" if deployment == API else "worker"
        pod = Pod(name=f"{prefix}-{next(self._seq)}", deployment=deployment,
                  node=self._pick_node(exclude_node), port=self._free_port(), revision=revision,
                  healthy_build=healthy)
        module = "gameday.sandbox.app.api" if deployment == API else "gameday.sandbox.app.worker"
        argv = [sys.executable, "-m", module, "--state", str(self.layout.root), "--pod", pod.name,
                "--node", pod.node, "--port", str(pod.port)]
        if deployment == API:
            argv += ["--revision", str(revision)]
            if not healthy:
                argv.append("--unhealthy")
        self.pods[pod.name] = pod
        self.sup.start(Managed(name=pod.name, argv=argv, restart=True, restart_delay_s=1.0,
                               on_restart=lambda _managed: self._restarted(pod)))
        self.emit("pod_created", pod=pod.name, deployment=deployment, node=pod.node,
                  revision=revision)
        self._publish_targets()
        return pod

    def _restarted(self, pod: Pod) -> None:
        pod.started = time.monotonic()
        pod.ready = False

    async def delete_pod(self, pod: Pod) -> None:
        """Graceful: out of the ingress first, then SIGTERM, SIGKILL after the grace period."""
        pod.terminating = True
        pod.ready = False
        self.sync_ingress()
        if pod.deployment == API:
            await asyncio.sleep(0.3)  # let nginx workers pick up the new upstream list
        grace = self.cfg.timings.pod_termination_grace_s
        await asyncio.to_thread(self.sup.stop, pod.name, grace)
        self.sup.forget(pod.name)
        self.pods.pop(pod.name, None)
        self.emit("pod_deleted", pod=pod.name, deployment=pod.deployment, node=pod.node)
        self._publish_targets()

    def pods_of(self, deployment: str, revision: int | None = None) -> list[Pod]:
        return [p for p in self.pods.values() if p.deployment == deployment and not p.terminating
                and (revision is None or p.revision == revision)]

    def pid_of(self, pod: Pod) -> int | None:
        m = self.sup.items.get(pod.name)
        return m.pid if m else None

    # ---- probes, ingress, targets -----------------------------------------------------
    async def probe_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=1.0)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                pods = [p for p in self.pods.values() if not p.terminating]
                await asyncio.gather(*(self._probe(session, p) for p in pods))
                self.sync_ingress()
                await asyncio.sleep(self.cfg.timings.health_check_interval_s)

    async def _probe(self, session: aiohttp.ClientSession, pod: Pod) -> None:
        base = f"http://127.0.0.1:{pod.port}"
        healthy = ready = False
        refused = False
        try:
            async with session.get(base + "/healthz") as r:
                healthy = r.status == 200
            async with session.get(base + "/readyz") as r:
                ready = r.status == 200
        except (TimeoutError, aiohttp.ClientError):
            refused = True
        if pod.terminating:
            return
        in_grace = time.monotonic() - pod.started < STARTUP_GRACE_S
        if not healthy and not (refused and in_grace):
            pod.failures += 1
            dep = self.deployments[pod.deployment]
            dep.health_check_failures += 1
            self.emit("health_check_failed", pod=pod.name, deployment=pod.deployment,
                      revision=pod.revision, failures=pod.failures)
        if ready != pod.ready:
            pod.ready = ready
            self.emit("pod_ready" if ready else "pod_not_ready", pod=pod.name,
                      deployment=pod.deployment)

    def sync_ingress(self) -> None:
        ports = sorted(p.port for p in self.pods_of(API) if p.ready)
        if ports == self._upstream:
            return
        self._upstream = ports
        services.write_upstreams(self.layout, ports)
        m = self.sup.items.get("ingress")
        if m is not None and m.running and m.pid is not None:
            _hup(m.pid)

    def _publish_targets(self) -> None:
        self.on_targets([p for p in self.pods.values() if not p.terminating])

    async def wait_ready(self, pod: Pod, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pod.ready:
                return True
            if pod.name not in self.pods:
                return False
            await asyncio.sleep(0.1)
        return False

    # ---- nodes --------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        if name not in self.nodes:
            raise KeyError(f"unknown node {name!r}; nodes are {', '.join(self.nodes)}")
        return self.nodes[name]

    def cordon(self, name: str) -> None:
        self.node(name).schedulable = False
        self.emit("node_cordoned", node=name)

    def uncordon(self, name: str) -> None:
        self.node(name).schedulable = True
        self.emit("node_uncordoned", node=name)

    async def drain(self, name: str) -> dict[str, Any]:
        """Cordon, then move each pod off the node: replacement ready first, then SIGTERM."""
        t0 = time.monotonic()
        self.cordon(name)
        self.emit("node_drain_started", node=name)
        moved: list[str] = []
        async with self.lock:
            for pod in [p for p in self.pods.values() if p.node == name and not p.terminating]:
                new = self.create_pod(pod.deployment, pod.revision, pod.healthy_build,
                                      exclude_node=name)
                if not await self.wait_ready(new, 30):
                    self.emit("node_drain_failed", node=name, pod=new.name)
                    raise procs.SandboxError(f"drain {name}: replacement {new.name} never became ready")
                await self.delete_pod(pod)
                moved.append(f"{pod.name}->{new.name}@{new.node}")
        took = time.monotonic() - t0
        self.emit("node_drained", node=name, moved=moved, duration_s=round(took, 3))
        return {"node": name, "moved": moved, "duration_s": took}

    # ---- deployments --------------------------------------------------------------------
    async def scale_up_initial(self) -> None:
        for dep in self.deployments.values():
            for _ in range(dep.replicas):
                self.create_pod(dep.name, dep.revision, True)

    def start_rollout(self, healthy: bool) -> int:
        dep = self.deployments[API]
        if self._rollout is not None and not self._rollout.done():
            raise procs.SandboxError(f"a rollout of revision {dep.revision} is in progress")
        new_rev = max(dep.revision, dep.good_revision) + 1
        dep.phase = "progressing"  # now, not when the task first runs: a waiter must not see the last one's phase
        self._rollout = asyncio.create_task(self._roll(new_rev, healthy))
        return new_rev

    async def wait_rollout(self, timeout: float) -> None:
        """Until the rollout is over: stable, rolled back, or stuck (a stuck rollout never ends on
        its own, like a Deployment past its progress deadline; ``kubectl rollout status`` returns)."""
        if self._rollout is None:
            return
        deadline = time.monotonic() + timeout
        while not self._rollout.done() and self.deployments[API].phase in ("stable", "progressing"):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"rollout still {self.deployments[API].phase} after {timeout:g} s")
            await asyncio.sleep(0.05)

    async def _roll(self, new_rev: int, healthy: bool) -> None:
        dep = self.deployments[API]
        t = self.cfg.timings
        async with self.lock:
            dep.revision = new_rev
            dep.healthy_build = healthy
            dep.phase = "progressing"
            self.emit("rollout_started", deployment=API, revision=new_rev, healthy_build=healthy)
            old_pods = [p for p in self.pods_of(API) if p.revision != new_rev]
            while old_pods:
                surge = [self.create_pod(API, new_rev, healthy)
                         for _ in range(min(self.cfg.max_surge, len(old_pods)))]
                while not all(p.ready for p in surge):
                    failed = max(p.failures for p in surge)
                    if failed > t.health_check_failure_threshold:
                        if self.cfg.knobs.auto_rollback:
                            await self._rollback(surge, new_rev, failed)
                            return
                        if dep.phase != "stuck":
                            dep.phase = "stuck"
                            self.emit("rollout_stuck", deployment=API, revision=new_rev,
                                      failures=failed)
                    await asyncio.sleep(0.05)
                for _ in surge:
                    if old_pods:
                        await self.delete_pod(old_pods.pop(0))
            dep.good_revision = new_rev
            dep.phase = "stable"
            self.emit("rollout_complete", deployment=API, revision=new_rev)

    async def _rollback(self, new_pods: list[Pod], bad_rev: int, failures: int) -> None:
        dep = self.deployments[API]
        self.emit("rollback_started", deployment=API, from_revision=bad_rev,
                  to_revision=dep.good_revision, failures=failures)
        for p in new_pods:
            await self.delete_pod(p)
        dep.revision = dep.good_revision
        dep.healthy_build = True
        dep.rollbacks += 1
        dep.phase = "rolled_back"
        self.emit("rollback_complete", deployment=API, revision=dep.revision, failures=failures)

    async def undo(self) -> dict[str, Any]:
        """Back to the last good revision, whatever state a release is in (rollout undo)."""
        dep = self.deployments[API]
        if self._rollout is not None and not self._rollout.done():
            self._rollout.cancel()
            try:
                await self._rollout
            except (asyncio.CancelledError, Exception):
                pass
        async with self.lock:
            bad = [p for p in self.pods_of(API) if p.revision != dep.good_revision]
            for p in bad:
                await self.delete_pod(p)
            missing = dep.replicas - len(self.pods_of(API, dep.good_revision))
            new = [self.create_pod(API, dep.good_revision, True) for _ in range(max(0, missing))]
            for p in new:
                await self.wait_ready(p, 30)
            changed = bool(bad or new) or dep.revision != dep.good_revision
            dep.revision = dep.good_revision
            dep.healthy_build = True
            if changed:
                dep.phase = "stable"
                self.emit("rollout_undone", deployment=API, revision=dep.revision)
        return {"revision": dep.revision, "changed": changed}

    def status(self) -> dict[str, Any]:
        nodes = [{"name": n.name, "az": n.az, "schedulable": n.schedulable,
                  "pods": sorted(p.name for p in self.pods.values() if p.node == n.name)}
                 for n in self.nodes.values()]
        pods = [p.as_dict(self.pid_of(p)) for p in sorted(self.pods.values(), key=lambda p: p.name)]
        deps = {}
        for d in self.deployments.values():
            live = self.pods_of(d.name)
            deps[d.name] = {"revision": d.revision, "good_revision": d.good_revision,
                            "phase": d.phase, "replicas": d.replicas,
                            "ready": sum(1 for p in live if p.ready),
                            "health_check_failures": d.health_check_failures,
                            "rollbacks": d.rollbacks}
        return {"nodes": nodes, "pods": pods, "deployments": deps}


def _hup(pid: int) -> None:
    """Ask nginx's master to reload: new workers take the new upstreams, old ones finish."""
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        pass
