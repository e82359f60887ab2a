"""The judge: every checker over one loaded run, then the verdict. Pure: reads, returns.

A required check that no checker answered counts as INCONCLUSIVE (analysis.verdict), so a
missing checker or missing evidence can never turn into a GO.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from analysis.checks import audits, client, missions, operations, platform, recovery, rollback, server, startup
from analysis.run import Run
from analysis.verdict import CheckResult, Verdict, guarded, verdict

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
}
ALL_CHECKS = ("latency_p95", "throughput", "agent_startup_warm", "error_rate_5xx", "recovery_time", "lost_acks",
              "automated_rollback", "operation_p95", "operation_errors", "crew_spawn_success", "mission_success",
              "missions_stuck", "mission_time")


@dataclass(frozen=True)
class Judgement:
    results: list[CheckResult]
    required: list[str]
    verdict: Verdict


def judge(run: Run) -> Judgement:
    results: list[CheckResult] = []
    for check_id, checker in CHECKERS.items():
        results += guarded(check_id, partial(checker, run))
    required = [str(r) for r in run.checks.get("required", ALL_CHECKS)]
    return Judgement(results, required, verdict(results, required))
