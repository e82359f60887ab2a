"""The controller's two HPAs (checklist §6.2): core-api on CPU, the workers on the queue depth.

Every ``autoscaling.sync_period_s`` it measures, asks :mod:`.hpa` for a decision, and scales the
deployment: new pods are created at once; pods to remove are deleted gracefully (newest first, as
a ReplicaSet prefers), in the background, under the cluster lock so that a drain or a rollout is
never raced. Metrics, as Kubernetes reads them:

* core-api: each ready pod's CPU rate over the last ``cpu_window_s`` (metrics-server reports a rate
  over its 15 s resolution), from ``/proc/<pid>/stat``, in % of ``api_cpu_request_cores``, averaged
  over the ready pods;
* worker: ``queue_depth`` as the workers export it on ``/metrics`` (an External metric, as
  prometheus-adapter would serve it), the highest any worker reports.

Each decision that changes the replica count is an event (``hpa_scaled``); the HPA's spec and
status are published as kube-state-metrics names them (see :class:`HpaMetrics`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.parser import text_string_to_metric_families

from ..config import HpaPolicy, SandboxConfig
from .cluster import API, WORKER, Cluster, Pod
from .hpa import Decision, HpaState

log = logging.getLogger("sandbox.autoscaler")
NAMESPACE = "sandbox"
CLK_TCK = os.sysconf("SC_CLK_TCK")
METRIC = {API: ("cpu", "utilization"), WORKER: ("queue_depth", "value")}


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of ``pid`` in seconds (fields 14 and 15 of /proc/<pid>/stat), None if gone."""
    try:
        raw = open(f"/proc/{pid}/stat").read()
    except OSError:
        return None
    fields = raw.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def spec(cfg: SandboxConfig) -> list[dict[str, Any]]:
    """The HPAs as autoscaling/v2 would describe them, for ``GET /audit`` (what the controller runs)."""
    a = cfg.autoscaling
    if not a.enabled:
        return []
    out = []
    for name, p in ((API, a.api), (WORKER, a.worker)):
        if not p.enabled:
            continue
        metric, target_type = METRIC[name]
        out.append({
            "name": name, "namespace": NAMESPACE, "scale_target": f"Deployment/{name}",
            "min_replicas": p.min_replicas, "max_replicas": p.max_replicas,
            "metric": {"type": "Resource" if name == API else "External", "name": metric,
                       "target_type": "Utilization" if name == API else "Value", "target": p.target},
            "behavior": {"scale_up": {"stabilization_window_s": p.scale_up_window_s,
                                      "select_policy": p.scale_up_policy},
                         "scale_down": {"stabilization_window_s": p.scale_down_window_s, "select_policy": "Max"}},
            "tolerance": a.tolerance, "sync_period_s": a.sync_period_s, "preset": a.preset,
        })
    return out


class HpaMetrics:
    """kube-state-metrics' HPA series (labels ``horizontalpodautoscaler``, ``namespace``)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["horizontalpodautoscaler", "namespace"]
        prefix = "kube_horizontalpodautoscaler_"
        self.desired = Gauge(prefix + "status_desired_replicas", "Desired replicas (the last decision)", labels,
                             registry=registry)
        self.current = Gauge(prefix + "status_current_replicas", "Current replicas", labels, registry=registry)
        self.min = Gauge(prefix + "spec_min_replicas", "minReplicas", labels, registry=registry)
        self.max = Gauge(prefix + "spec_max_replicas", "maxReplicas", labels, registry=registry)
        mlabels = [*labels, "metric_name", "metric_target_type"]
        self.metric = Gauge(prefix + "status_target_metric", "The metric's current value", mlabels,
                            registry=registry)
        self.target = Gauge(prefix + "spec_target_metric", "The metric's target", mlabels, registry=registry)

    def publish(self, name: str, p: HpaPolicy, d: Decision | None, current: int) -> None:
        self.min.labels(name, NAMESPACE).set(p.min_replicas)
        self.max.labels(name, NAMESPACE).set(p.max_replicas)
        self.current.labels(name, NAMESPACE).set(current)
        metric, target_type = METRIC[name]
        self.target.labels(name, NAMESPACE, metric, target_type).set(p.target)
        if d is not None:
            self.desired.labels(name, NAMESPACE).set(d.desired)
            self.metric.labels(name, NAMESPACE, metric, target_type).set(d.metric)


class Autoscaler:
    """Runs the HPAs against the cluster (each unless its own ``enabled`` is false); only built when
    ``autoscaling.enabled``."""

    def __init__(self, cfg: SandboxConfig, cluster: Cluster, registry: CollectorRegistry,
                 emit: Callable[..., None]) -> None:
        self.cfg = cfg
        self.cluster = cluster
        self.emit = emit
        a = cfg.autoscaling
        self.states = {name: HpaState(p, a.tolerance) for name, p in ((API, a.api), (WORKER, a.worker)) if p.enabled}
        self.metrics = HpaMetrics(registry)
        self._cpu: dict[str, list[tuple[float, float]]] = {}  # pod -> [(monotonic, cpu seconds)], the window
        self._removing: set[asyncio.Task[None]] = set()

    def initial_replicas(self) -> None:
        """The deployments start within [min, max] (an HPA would move them there at its first sync)."""
        for name, st in self.states.items():
            dep = self.cluster.deployments[name]
            dep.replicas = min(max(dep.replicas, st.policy.min_replicas), st.policy.max_replicas)
            self.metrics.publish(name, st.policy, None, dep.replicas)
        self.emit("hpa_configured", hpas=spec(self.cfg))

    def api_utilisation(self) -> tuple[int, float]:
        """(ready pods measured, their average CPU in % of the request) over the last ``cpu_window_s``."""
        now = time.monotonic()
        samples = []
        live = set()
        for pod in self.cluster.pods_of(API):
            pid = self.cluster.pid_of(pod)
            used = cpu_seconds(pid) if pid else None
            if used is None:
                continue
            live.add(pod.name)
            kept = [(t, c) for t, c in self._cpu.get(pod.name, []) if now - t <= self.cfg.autoscaling.cpu_window_s]
            before = kept[0] if kept else None
            self._cpu[pod.name] = [*kept, (now, used)]
            if before is not None and pod.ready and now > before[0]:
                cores = max(0.0, used - before[1]) / (now - before[0])
                samples.append(100.0 * cores / self.cfg.autoscaling.api_cpu_request_cores)
        self._cpu = {k: v for k, v in self._cpu.items() if k in live}
        return len(samples), (sum(samples) / len(samples) if samples else 0.0)

    async def queue_depth(self, session: aiohttp.ClientSession) -> tuple[int, float | None]:
        """(ready workers, the highest queue_depth they export), None when no worker answered."""
        ready = [p for p in self.cluster.pods_of(WORKER) if p.ready]
        values = await asyncio.gather(*(_scrape_queue(session, p) for p in ready))
        seen = [v for v in values if v is not None]
        return len(ready), (max(seen) if seen else None)

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=1.0)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                await asyncio.sleep(self.cfg.autoscaling.sync_period_s)
                try:
                    await self.sync(session)
                except Exception as exc:  # one bad sync must not end autoscaling
                    log.error("autoscaler sync failed: %s", exc)

    async def sync(self, session: aiohttp.ClientSession) -> None:
        now = time.monotonic()
        if API in self.states:
            ready, cpu = self.api_utilisation()
            self._apply(API, self.states[API].decide(now, self._current(API), ready, cpu))
        if WORKER not in self.states:  # no HPA: the workers stay at their replicas
            return
        workers, depth = await self.queue_depth(session)
        if depth is not None:
            self._apply(WORKER, self.states[WORKER].decide(now, self._current(WORKER), workers, depth))

    def _current(self, name: str) -> int:
        return len(self.cluster.pods_of(name))

    def _apply(self, name: str, d: Decision) -> None:
        st = self.states[name]
        self.metrics.publish(name, st.policy, d, d.current)
        if d.desired == d.current or self.cluster.lock.locked():
            return  # a drain or a rollout owns the pods right now; the next sync decides again
        dep = self.cluster.deployments[name]
        metric, _ = METRIC[name]
        self.emit("hpa_scaled", hpa=name, namespace=NAMESPACE, from_replicas=d.current, to_replicas=d.desired,
                  metric=metric, value=round(d.metric, 3), target=st.policy.target, proposed=d.proposed,
                  reason=d.reason)
        dep.replicas = d.desired
        if d.desired > d.current:
            for _ in range(d.desired - d.current):
                self.cluster.create_pod(name, dep.good_revision, True)
        else:
            # a ReplicaSet removes pods that are not ready first, then the newest
            victims = sorted(self.cluster.pods_of(name), key=lambda p: (p.ready, -p.started))[: d.current - d.desired]
            for p in victims:  # out of the count and the ingress now; stopped gracefully below
                p.terminating, p.ready = True, False
            self.cluster.sync_ingress()
            task = asyncio.create_task(self._remove(victims))
            self._removing.add(task)
            task.add_done_callback(self._removing.discard)

    async def _remove(self, pods: list[Pod]) -> None:
        async with self.cluster.lock:
            await asyncio.gather(*(self.cluster.delete_pod(p) for p in pods))


async def _scrape_queue(session: aiohttp.ClientSession, pod: Pod) -> float | None:
    try:
        async with session.get(f"http://127.0.0.1:{pod.port}/metrics") as r:
            text = await r.text()
    except (TimeoutError, aiohttp.ClientError):
        return None
    for family in text_string_to_metric_families(text):
        if family.name == "queue_depth":
            return max((s.value for s in family.samples), default=None)
    return None
