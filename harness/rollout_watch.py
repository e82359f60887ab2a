"""Kubernetes' own evidence of a bad release, collected while the fault runs: ``k8s/rollout.json``.

On a cluster nothing exports ``deployment_rollbacks_total``: the proof that the platform rolled
the release back is in the Kubernetes API. While the bad-release experiment runs, a thread polls
(read-only, within deploy/rbac: ``get`` the Deployment, ``list`` its ReplicaSets, ``list`` the
namespace's ``Unhealthy`` pod events) every ``interval`` seconds, at most ``max_polls`` times, and
keeps:

* each distinct state of the Deployment (revision, images, replica counts, the ReplicaSet
  serving), first and last seen on the harness's clock;
* each change of a bad pod's probe-failure count (the ``Unhealthy`` event's ``count``), when seen;
* the last listing of the ReplicaSets (revision, revision history, images) and of the events.

The file is rewritten atomically whenever something changed, so a run killed half-way keeps what
was seen. The schema is :mod:`gameday.analysis.rollout_evidence`; the judge is
``analysis/checks/rollback.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gameday.analysis.rollout_evidence import (
    ROLLOUT_FILE,
    FailureSample,
    Observation,
    ReplicaSetRev,
    RolloutEvidence,
    RolloutSettings,
    UnhealthyEvent,
)
from gameday.contract.atomic import write_atomic
from gameday.contract.events import Event
from gameday.harness.safety.model import FaultPlan
from gameday.harness.timeline import Timeline

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
UNHEALTHY = "involvedObject.kind=Pod,reason=Unhealthy"
MAX_ERRORS = 20


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _images(template: Any) -> list[str]:
    spec = template.spec if template is not None else None
    return [str(c.image) for c in (spec.containers if spec is not None else None) or []]


def probe_kind(message: str) -> str:
    """``Readiness probe failed: ...`` -> readiness (the kubelet's wording)."""
    head = (message or "").split(" ", 1)[0].lower()
    return head if head in ("readiness", "liveness", "startup") else "unknown"


def replica_set(rs: Any) -> ReplicaSetRev:
    ann = rs.metadata.annotations or {}
    history = [h for h in (_int(x) for x in str(ann.get(REVISION_HISTORY, "")).split(",") if x) if h is not None]
    created = rs.metadata.creation_timestamp
    st = rs.status
    return ReplicaSetRev(name=str(rs.metadata.name), revision=_int(ann.get(REVISION)), revision_history=history,
                         images=_images(rs.spec.template if rs.spec else None),
                         created=created.isoformat() if hasattr(created, "isoformat") else created,
                         replicas=int((rs.spec.replicas if rs.spec else 0) or 0),
                         ready=int((st.ready_replicas if st else 0) or 0))


def settings_of(dep: Any, source: str, container: str | None = None) -> RolloutSettings:
    """The Deployment's rollout settings: strategy, maxSurge / maxUnavailable, progress deadline,
    and the readiness probe of ``container`` (default: the first)."""
    spec = dep.spec
    strategy = spec.strategy if spec else None
    ru = strategy.rolling_update if strategy else None
    containers = list(spec.template.spec.containers or []) if spec and spec.template and spec.template.spec else []
    c = next((x for x in containers if x.name == container), containers[0] if containers else None)
    probe = c.readiness_probe if c is not None else None
    deadline = spec.progress_deadline_seconds if spec else None
    return RolloutSettings(
        source=source, strategy=strategy.type if strategy else None,
        max_surge=None if ru is None or ru.max_surge is None else str(ru.max_surge),
        max_unavailable=None if ru is None or ru.max_unavailable is None else str(ru.max_unavailable),
        replicas=spec.replicas if spec else None,
        failure_threshold=probe.failure_threshold if probe is not None else None,
        period_s=float(probe.period_seconds) if probe is not None and probe.period_seconds is not None else None,
        progress_deadline_s=float(deadline) if deadline is not None else None,
        container=str(c.name) if c is not None else None)


class RolloutWatch:
    """Polls one Deployment (see the module docstring). ``apps`` / ``core``: kubernetes'
    ``AppsV1Api`` / ``CoreV1Api``; ``clock``: the timeline's (unix s)."""

    def __init__(self, apps: Any, core: Any, namespace: str, deployment: str, out: Path, source: str, *,
                 interval: float = 1.0, max_polls: int = 3600, clock: Callable[[], float] = time.time) -> None:
        self.apps, self.core, self.out, self.clock = apps, core, out, clock
        self.interval, self.max_polls = float(interval), int(max_polls)
        self.ev = RolloutEvidence(deployment=deployment, namespace=namespace, source=source,
                                  poll_interval_s=self.interval, started=clock())
        self._counts: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- one poll --------------------------------------------------------------------------
    def poll(self) -> None:
        with self._lock:
            t = self.clock()
            changed = False
            try:
                changed |= self._poll_deployment(t)
            except Exception as exc:  # an unreachable API or a 403: recorded, the next poll tries again
                changed |= self._error(f"deployment: {type(exc).__name__}: {_short(exc)}")
            try:
                changed |= self._poll_events(t)
            except Exception as exc:
                changed |= self._error(f"events: {type(exc).__name__}: {_short(exc)}")
            self.ev = self.ev.model_copy(update={"polls": self.ev.polls + 1, "ended": t})
            if changed or self.ev.polls == 1:
                self.write()

    def _poll_deployment(self, t: float) -> bool:
        ns, name = self.ev.namespace, self.ev.deployment
        dep = self.apps.read_namespaced_deployment(name, ns)
        labels = (dep.spec.selector.match_labels if dep.spec and dep.spec.selector else None) or {}
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or None
        listed = self.apps.list_namespaced_replica_set(ns, label_selector=selector).items
        uid = dep.metadata.uid
        owned = [replica_set(rs) for rs in listed
                 if any(o.kind == "Deployment" and o.uid == uid for o in rs.metadata.owner_references or [])]
        owned.sort(key=lambda r: (r.revision or 0, r.name))
        revision = _int((dep.metadata.annotations or {}).get(REVISION))
        st = dep.status
        obs = Observation(
            t_first=t, t_last=t, revision=revision, images=_images(dep.spec.template if dep.spec else None),
            generation=int(dep.metadata.generation or 0), observed_generation=int((st.observed_generation if st
                                                                                  else 0) or 0),
            replicas=int((dep.spec.replicas if dep.spec else 0) or 0),
            updated=int((st.updated_replicas if st else 0) or 0), ready=int((st.ready_replicas if st else 0) or 0),
            available=int((st.available_replicas if st else 0) or 0),
            unavailable=int((st.unavailable_replicas if st else 0) or 0),
            active=[r.name for r in owned if r.replicas > 0],
            serving=next((r.name for r in owned if r.revision is not None and r.revision == revision), None))
        update: dict[str, Any] = {"replica_sets": owned}
        if self.ev.settings is None:
            update["settings"] = settings_of(dep, f"Kubernetes API, deployment {ns}/{name}")
        if self.ev.before is None and obs.serving is not None:
            update["before"] = next(r for r in owned if r.name == obs.serving)
        states = list(self.ev.states)
        last = states[-1] if states else None
        same = last is not None and last.model_dump(exclude={"t_first", "t_last"}) == obs.model_dump(
            exclude={"t_first", "t_last"})
        if same and last is not None:
            states[-1] = last.model_copy(update={"t_last": t})
        else:
            states.append(obs)
        update["states"] = states
        self.ev = self.ev.model_copy(update=update)
        return not same

    def _poll_events(self, t: float) -> bool:
        items = self.core.list_namespaced_event(self.ev.namespace, field_selector=UNHEALTHY).items
        names = sorted((r.name for r in self.ev.replica_sets), key=len, reverse=True)
        mine: list[UnhealthyEvent] = []
        samples = list(self.ev.failure_samples)
        for e in items:
            pod = str(e.involved_object.name if e.involved_object else "")
            rs = next((n for n in names if pod.startswith(n + "-")), None)
            if rs is None:  # not a pod of this Deployment
                continue
            probe = probe_kind(str(e.message or ""))
            count = int(e.count or 1)
            mine.append(UnhealthyEvent(pod=pod, replica_set=rs, probe=probe, count=count,
                                       first=_ts(e.first_timestamp or e.event_time),
                                       last=_ts(e.last_timestamp or e.event_time), message=str(e.message or "")[:200]))
            key = (pod, probe)
            if self._counts.get(key) != count:
                self._counts[key] = count
                samples.append(FailureSample(t=t, pod=pod, replica_set=rs, probe=probe, count=count))
        changed = len(samples) != len(self.ev.failure_samples) or not self.ev.events_listed
        self.ev = self.ev.model_copy(update={"unhealthy": mine, "failure_samples": samples, "events_listed": True})
        return changed

    def _error(self, text: str) -> bool:
        if len(self.ev.errors) >= MAX_ERRORS or text in self.ev.errors:
            return False
        self.ev = self.ev.model_copy(update={"errors": [*self.ev.errors, text]})
        return True

    def write(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.out, self.ev.model_dump_json(indent=1))

    # ---- the thread ------------------------------------------------------------------------
    def start(self) -> RolloutWatch:
        self.poll()  # the state before the release, before the experiment starts
        self._thread = threading.Thread(target=self._loop, name="rollout-watch", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while self.ev.polls < self.max_polls and not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as exc:  # the file could not be written: kept, the next poll tries again
                self._error(f"writing {ROLLOUT_FILE}: {type(exc).__name__}: {exc}")

    def stop(self, timeline: Timeline | None = None, phase: str | None = None, fault: str = "") -> RolloutEvidence:
        """Stop polling, take the last look, write the file; record it on the timeline. Never raises:
        it runs in the fault's ``finally``, where an error would hide the fault's own."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 30)
        try:
            self.poll()
        except Exception as exc:  # the file could not be written: said on the timeline below
            self._error(f"writing {ROLLOUT_FILE}: {type(exc).__name__}: {exc}")
        if timeline is not None:
            timeline.append(Event.ROLLOUT_EVIDENCE, phase, fault=fault, path=str(ROLLOUT_FILE), polls=self.ev.polls,
                            states=len(self.ev.states), unhealthy_events=len(self.ev.unhealthy),
                            errors=self.ev.errors[:3])
        return self.ev


def _ts(v: Any) -> str | None:
    if v is None:
        return None
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _short(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    if status is not None:
        return f"{status} {getattr(exc, 'reason', '')}".strip()
    return str(exc).splitlines()[0][:200] if str(exc) else ""


def start_for(plan: FaultPlan, run_dir: Path, *, interval: float = 1.0) -> RolloutWatch | None:
    """A running watch for a cluster bad release (None for any other fault). The Kubernetes client
    is the one the plan checked (its kubeconfig and context)."""
    if plan.kind != "cluster" or plan.fault != "bad-release":
        return None
    from kubernetes import client, config

    ns = str(plan.configuration.get("namespace") or "default")
    name = str(plan.configuration.get("deployment") or "")
    out = run_dir / ROLLOUT_FILE
    kubeconfig, context = plan.env.get("KUBECONFIG"), plan.env.get("KUBERNETES_CONTEXT")
    source = f"Kubernetes API, kube context {context}" if context else "Kubernetes API"
    try:
        api = config.new_client_from_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
    except Exception as exc:  # the plan connected with the same settings: this is unexpected, keep why
        w = RolloutWatch(None, None, ns, name, out, source, interval=interval)
        w._error(f"kube client: {type(exc).__name__}: {_short(exc)}")
        w.write()
        return None
    return RolloutWatch(client.AppsV1Api(api), client.CoreV1Api(api), ns, name, out, source,
                        interval=interval).start()
