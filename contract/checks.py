"""The checks model's ids and threshold defaults, stated once.

``gameday.harness.profile.Checks`` (the pydantic model a profile is validated with) takes its defaults
from here, and ``analysis`` reads a threshold the profile left out from here too
(``gameday.analysis.run.Run.threshold``): a default changed in one place is changed for the run, the
judge, the charts and the profile's JSON Schema together. Defaults come from the go-live
checklist (§6.1, §5.4); docs/checks.md gives each its source. Standard library only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, get_args

FaultId = Literal["db-failover", "redis-primary-kill", "node-drain", "bad-release"]
FAULT_IDS: tuple[FaultId, ...] = get_args(FaultId)

CheckId = Literal["latency_p95", "throughput", "agent_startup_warm", "error_rate_5xx", "recovery_time",
                  "lost_acks", "automated_rollback", "operation_p95", "operation_errors", "crew_spawn_success",
                  "mission_success", "missions_stuck", "mission_time", "crew_assembly", "watchdog_actions",
                  "audit_redis", "audit_pgbouncer", "audit_metrics", "audit_alert_rules", "audit_rollout",
                  "autoscale_out", "autoscale_bounds", "autoscale_in", "queue_drained", "audit_autoscaling",
                  "alert_fired", "alert_routed", "alert_resolved", "no_false_page"]
ALL_CHECK_IDS: tuple[CheckId, ...] = get_args(CheckId)
# required for GO unless the profile says otherwise (checks.required); the rest are judged when their
# line or evidence is there
CHECK_IDS: tuple[CheckId, ...] = ALL_CHECK_IDS[:13]
# §6.2: required too when the profile has a spike phase (gameday.harness.profile.Profile)
AUTOSCALING_CHECKS: tuple[CheckId, ...] = ("autoscale_out", "autoscale_bounds", "autoscale_in", "queue_drained",
                                           "audit_autoscaling")
# §5.4: alerting under each fault, judged from Alertmanager's evidence (gameday.analysis.checks.alerts); required
# only where a profile lists them (the sandbox's runs Alertmanager: docs/alerting.md says why not by default)
ALERTING_CHECKS: tuple[CheckId, ...] = ("alert_fired", "alert_routed", "alert_resolved", "no_false_page")
# §6.2's HPAs, by HPA name (checks.autoscaling.hpas by default): the core API on CPU 60 % with 3..15 pods, the
# Celery workers on queue_depth > 100 with 2..20
CHECKLIST_HPAS: Mapping[str, Mapping[str, str | float | int]] = MappingProxyType({
    "core-api": MappingProxyType({"deployment": "core-api", "metric": "cpu", "target": 60.0, "min_replicas": 3,
                                  "max_replicas": 15}),
    "worker": MappingProxyType({"deployment": "worker", "metric": "queue_depth", "target": 100.0, "min_replicas": 2,
                                "max_replicas": 20}),
})

# per fault id: from injection until latency and errors are back within SLA (§6.1)
DEFAULT_RECOVERY_S: Mapping[str, float] = MappingProxyType(
    {"db-failover": 120.0, "redis-primary-kill": 30.0, "node-drain": 60.0, "bad-release": 120.0})


@dataclasses.dataclass(frozen=True)
class ThresholdDefaults:
    """Every scalar line of ``checks:`` a profile may leave out, with its default. The types are
    the profile's: an ``int`` here is an ``int`` in the profile's JSON Schema."""

    p95_ms: float = 200
    missions_per_min: float = 50
    warm_startup_p95_s: float = 2.0
    max_5xx_ratio: float = 0.05
    drain_error_budget: int = 0
    max_lost_acks: int = 0
    mission_settle_s: float = 60
    min_mission_success: float = 0.99
    max_stuck_missions: int = 0
    mission_p95_s: float = 30
    min_operation_samples: int = 50
    min_p95_samples: int = 100  # an operation's p95 rests on its n/20 slowest answers: 5 at 100
    min_crew_success: float = 0.99
    recovery_window_s: float = 5.0
    recovery_sustain_s: float = 5.0
    recovery_min_samples: int = 20  # a window's p95 needs this many answers (nearest rank of 20: 2 over the line)
    recovery_alpha: float = 0.05  # a window breaks a p95 line only beyond doubt (analysis/outage.py)
    rollback_on_failure: int = 4
    rollback_within_s: float = 60
    step_s: float = 1.0


DEFAULTS = ThresholdDefaults()
THRESHOLD_KEYS = frozenset(f.name for f in dataclasses.fields(ThresholdDefaults))
DEFAULT_CREW_OPERATION = "/v1/crews"  # the request name of a crew spawn (checks.crew_operation)


def default(key: str) -> float:
    """The default of ``checks.<key>``; ``KeyError`` for a key that has none (a misspelt key in the
    judge is a bug to see, not a silent default)."""
    if key not in THRESHOLD_KEYS:
        raise KeyError(f"checks.{key} has no default in gameday.contract.checks.ThresholdDefaults")
    return float(getattr(DEFAULTS, key))
