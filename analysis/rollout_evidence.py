"""``k8s/rollout.json``: what Kubernetes itself showed of a bad release, the contract between the
collector (``harness/rollout_watch.py``, which writes it) and the judge
(``analysis/checks/rollback.py``, which reads it). One typed module both sides import.

Kubernetes never rolls a Deployment back by itself and exports no rollback counter; what it does
keep is the revision history (``deployment.kubernetes.io/revision`` on the Deployment and its
ReplicaSets: a rollback brings the good template back as a *new* revision of the *old*
ReplicaSet) and the ``Unhealthy`` events of each pod's failed probes. The collector polls both
during the fault, so every figure carries the harness's clock (the timeline's) and needs no
agreement between the cluster's clock and ours; the events' own first/last timestamps are kept
beside, as the cluster reported them.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ROLLOUT_FILE = Path("k8s") / "rollout.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplicaSetRev(_Model):
    """One ReplicaSet of the Deployment, as listed."""

    name: str
    revision: int | None
    revision_history: list[int] = Field(default_factory=list,
                                        description="revisions this ReplicaSet held before (a rollback's trace)")
    images: list[str]
    created: str | None = Field(None, description="creationTimestamp, the cluster's clock")
    replicas: int = 0
    ready: int = 0


class Observation(_Model):
    """One distinct state of the Deployment, first and last seen at a poll (unix s, harness clock)."""

    t_first: float
    t_last: float
    revision: int | None
    images: list[str]
    generation: int = 0
    observed_generation: int = 0
    replicas: int = 0
    updated: int = 0
    ready: int = 0
    available: int = 0
    unavailable: int = 0
    active: list[str] = Field(default_factory=list, description="ReplicaSets with replicas > 0, by name")
    serving: str | None = Field(None, description="the ReplicaSet whose revision is the Deployment's")

    @property
    def settled(self) -> bool:
        """Every replica updated, ready and available, and the controller has seen the spec."""
        return (self.observed_generation >= self.generation and self.replicas > 0
                and self.updated == self.ready == self.available == self.replicas and not self.unavailable)


class FailureSample(_Model):
    """A probe-failure count that changed, seen at a poll (harness clock)."""

    t: float
    pod: str
    replica_set: str
    probe: str  # readiness | liveness | startup | unknown
    count: int


class UnhealthyEvent(_Model):
    """An ``Unhealthy`` event of a pod, as the cluster aggregated it (count, first and last)."""

    pod: str
    replica_set: str
    probe: str
    count: int
    first: str | None = None
    last: str | None = None
    message: str = ""


class RolloutSettings(_Model):
    """What decides when the cluster gives up on a release: the readiness probe, the rolling
    update and the progress deadline (the checklist's §4.2 compares them)."""

    source: str
    strategy: str | None = None
    max_surge: str | None = None
    max_unavailable: str | None = None
    replicas: int | None = None
    failure_threshold: int | None = Field(None, description="readiness probe failureThreshold")
    period_s: float | None = Field(None, description="readiness probe periodSeconds")
    progress_deadline_s: float | None = None
    auto_rollback: bool | None = Field(None, description="whether the target says it rolls a bad release back")
    container: str | None = None


class RolloutEvidence(_Model):
    deployment: str
    namespace: str
    source: str
    poll_interval_s: float
    started: float
    ended: float | None = None
    polls: int = 0
    before: ReplicaSetRev | None = Field(None, description="the ReplicaSet serving before the release")
    states: list[Observation] = Field(default_factory=list)
    replica_sets: list[ReplicaSetRev] = Field(default_factory=list, description="the last listing")
    failure_samples: list[FailureSample] = Field(default_factory=list)
    unhealthy: list[UnhealthyEvent] = Field(default_factory=list, description="the last listing")
    events_listed: bool = Field(False, description="the events could be listed at least once")
    settings: RolloutSettings | None = None
    errors: list[str] = Field(default_factory=list)


def read(run_dir: Path) -> tuple[RolloutEvidence | None, str | None]:
    """The evidence, or None and why not (missing, unreadable, not the schema)."""
    path = run_dir / ROLLOUT_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None, f"no Kubernetes rollout evidence ({ROLLOUT_FILE}) in the run directory"
    except (OSError, ValueError) as exc:
        return None, f"{ROLLOUT_FILE}: unreadable ({exc})"
    try:
        return RolloutEvidence.model_validate(raw), None
    except ValidationError as exc:
        return None, f"{ROLLOUT_FILE}: not rollout evidence ({exc.error_count()} errors: {exc.errors()[0]['msg']})"
