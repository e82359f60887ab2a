"""What a plan says: the targets each fault touches and the steps it takes, in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ResolvedTarget:
    """One thing a fault acts on, found in the live system (or the sandbox's defaults)."""

    kind: str  # "node", "postgres primary", "rds instance", "deployment", ...
    name: str
    detail: str = ""


@dataclass(frozen=True)
class PlannedStep:
    section: str  # hypothesis | method | rollbacks
    type: str  # action | probe
    name: str
    what: str
    targets: tuple[ResolvedTarget, ...] = ()


@dataclass(frozen=True)
class Decision:
    """What the safety screen decided for one activity (or provider) of an experiment, and why.

    ``effect`` is what the called function does, whatever the activity's declared type says:
    ``read`` (a known probe), ``write`` (an action: chaos) or ``unknown`` (gameday cannot tell)."""

    where: str  # JSON path in the experiment: method[0], configuration.good_image, ...
    role: str  # configuration | hypothesis | tolerance | method | rollbacks | control | other
    declared: str  # the activity's type: action | probe | (anything an author wrote)
    name: str
    provider: str  # "python chaosaws.rds.actions.reboot_db_instance", "process /bin/sh", "http https://..."
    effect: str  # read | write | unknown
    allowed: bool
    reason: str

    @property
    def line(self) -> str:
        verdict = "allow " if self.allowed else "REFUSE"
        return (f"{verdict} {self.where:<34} {self.declared:<7} {self.name}: {self.provider} [{self.effect}] "
                f"{self.reason}")


@dataclass(frozen=True)
class PinnedIdentity:
    """Who and where the plan checked: the run re-checks it immediately before each injection."""

    aws_account: str | None = None
    aws_region: str | None = None
    kube_context: str | None = None
    kubeconfig: str | None = None
    kube_server: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class FaultPlan:
    fault: str
    experiment: Path
    kind: str  # sandbox | cluster
    title: str
    source: str  # where the targets were resolved from
    configuration: Mapping[str, Any]  # pinned for the run: profile values + dynamic values read now
    steps: tuple[PlannedStep, ...]
    notes: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # for the run (KUBECONFIG, KUBERNETES_CONTEXT)
    uses: frozenset[str] = frozenset()  # configuration keys the experiment declares or refers to
    decisions: tuple[Decision, ...] = ()  # the safety screen's decision for every activity
    identity: PinnedIdentity | None = None  # cluster kind: re-checked before each injection

    @property
    def targets(self) -> tuple[ResolvedTarget, ...]:
        """The targets of the method's actions (what the fault breaks), each once."""
        seen: dict[tuple[str, str], ResolvedTarget] = {}
        for s in self.steps:
            if s.type == "action" and s.section == "method":
                for t in s.targets:
                    seen.setdefault((t.kind, t.name), t)
        return tuple(seen.values())
