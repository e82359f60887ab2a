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

    @property
    def targets(self) -> tuple[ResolvedTarget, ...]:
        """The targets of the method's actions (what the fault breaks), each once."""
        seen: dict[tuple[str, str], ResolvedTarget] = {}
        for s in self.steps:
            if s.type == "action" and s.section == "method":
                for t in s.targets:
                    seen.setdefault((t.kind, t.name), t)
        return tuple(seen.values())
