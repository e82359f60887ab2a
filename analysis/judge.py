"""The judge: every checker over one loaded run, then the verdict. Pure: reads, returns.

A required check that no checker answered counts as INCONCLUSIVE (gameday.analysis.verdict), so a
missing checker or missing evidence can never turn into a GO.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from gameday.analysis.checks import (
    alerts,
    audits,
    autoscaling,
    client,
    missions,
    operations,
    platform,
    recovery,
    rollback,
    server,
    startup,
)
from gameday.analysis.damage import Evidence, describe
from gameday.analysis.run import Run, required_damage
from gameday.analysis.verdict import CheckResult, Verdict, guarded, inconclusive, verdict
from gameday.contract.checks import CHECK_IDS

Checker = Callable[[Run], Sequence[CheckResult]]

CHECKERS: dict[str, Checker] = {
    "latency_p95": client.latency_p95,
    "error_rate_5xx": client.error_rate_5xx,
    "lost_acks": missions.lost_acks,
    "throughput": server.throughput,
    "agent_startup_warm": startup.agent_startup_warm,
    "recovery_time": recovery.recovery_time,
    "automated_rollback": rollback.automated_rollback,  # Kubernetes evidence and Prometheus, both shown
    "operation_p95": operations.operation_p95,
    "operation_errors": operations.operation_errors,
    "crew_spawn_success": operations.crew_spawn_success,
    "mission_success": missions.mission_success,
    "missions_stuck": missions.missions_stuck,
    "mission_time": missions.mission_time,
    "crew_assembly": platform.crew_assembly,
    "watchdog_actions": platform.watchdog_actions,
    "audit_redis": audits.audit_redis,
    "audit_pgbouncer": audits.audit_pgbouncer,
    "audit_metrics": audits.audit_metrics,
    "audit_alert_rules": audits.audit_alert_rules,
    "audit_rollout": audits.audit_rollout,
    "autoscale_out": autoscaling.autoscale_out,  # §6.2, under a spike phase
    "autoscale_bounds": autoscaling.autoscale_bounds,
    "autoscale_in": autoscaling.autoscale_in,
    "queue_drained": autoscaling.queue_drained,
    "audit_autoscaling": autoscaling.audit_autoscaling,
    "alert_fired": alerts.alert_fired,  # §5.4, from Alertmanager's evidence: INCONCLUSIVE without it
    "alert_routed": alerts.alert_routed,
    "alert_resolved": alerts.alert_resolved,
    "no_false_page": alerts.no_false_page,
}
ALL_CHECKS = CHECK_IDS  # required for GO unless the profile's checks.required says otherwise


# the evidence each check reads besides the profile and the timeline (which every check needs:
# thresholds, windows); damage to any of it makes the check INCONCLUSIVE, naming file and line
_CLIENT = (Evidence.REQUESTS,)
_ACKED = (Evidence.ACKS, Evidence.READBACK)
NEEDS: dict[str, tuple[Evidence, ...]] = {
    "latency_p95": _CLIENT, "error_rate_5xx": _CLIENT, "operation_p95": _CLIENT, "operation_errors": _CLIENT,
    "recovery_time": (Evidence.REQUESTS, Evidence.ACKS), "crew_spawn_success": (Evidence.REQUESTS, Evidence.ACKS),
    "throughput": (Evidence.ACKS,), "agent_startup_warm": (Evidence.ACKS,),
    "lost_acks": _ACKED, "mission_success": _ACKED, "missions_stuck": _ACKED, "mission_time": _ACKED,
}
RUN_DIRECTORY = "run_directory"  # the result that lists the damage found; required when the required list is damaged


def needs(check_id: str) -> tuple[Evidence, ...]:
    return (Evidence.PROFILE, Evidence.TIMELINE, *NEEDS.get(check_id, ()))


@dataclass(frozen=True)
class Judgement:
    results: list[CheckResult]
    required: list[str]
    verdict: Verdict


def judge(run: Run) -> Judgement:
    """Every checker over the loaded run. A check whose evidence is damaged is INCONCLUSIVE with
    the damage as its reason, and is not run; the others are judged as usual."""
    results: list[CheckResult] = []
    for check_id, checker in CHECKERS.items():
        damaged = run.damaged(*needs(check_id))
        if damaged:
            results.append(inconclusive(check_id, "run", describe(damaged)))
        else:
            results += guarded(check_id, partial(checker, run))
    bad_required = required_damage(run)
    damage = [*run.damage, *([bad_required] if bad_required else [])]
    if damage:
        results.append(inconclusive(RUN_DIRECTORY, "run", describe(damage)))
    if bad_required is not None:
        required = [*ALL_CHECKS, RUN_DIRECTORY]
    else:
        required = [str(r) for r in run.checks.get("required", ALL_CHECKS)]
    return Judgement(results, required, verdict(results, required))
