"""Checklist audits over ``audits.json``: Redis, PgBouncer, §5.2 metrics, §5.4 alert rules.

Each compares what the live target reported with the checklist; a part that could not be
collected is INCONCLUSIVE with the collector's reason.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from gameday.analysis.rollout_evidence import RolloutSettings
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive

REDIS_WANT = {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"}
PGBOUNCER_WANT = {"pool_mode": "transaction", "max_client_conn": "1000", "default_pool_size": "20"}
WINDOW = "target, at the end of the run"


def _audits(run: Run) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((run.path / "audits.json").read_text())
        return data
    except (OSError, ValueError):
        return None


def _compare(check: str, source: str, got: dict[str, Any], want: dict[str, str], window: str = WINDOW) -> CheckResult:
    wrong = {k: got.get(k) for k, v in want.items() if str(got.get(k)) != v}
    ok = not wrong
    msg = "as the checklist says" if ok else "differs: " + ", ".join(f"{k}={v!r} (want {want[k]!r})"
                                                                  for k, v in wrong.items())
    return CheckResult(check, Status.PASS if ok else Status.FAIL, float(len(wrong)), 0.0, window, source,
                       f"{msg}", {"got": got, "want": want})


def audit_redis(run: Run) -> list[CheckResult]:
    a = _audits(run)
    if a is None or "redis" not in a:
        why = (a or {}).get("errors", {}).get("servers") if a else "no audits.json in the run directory"
        return [inconclusive("audit_redis", WINDOW, str(why or "Redis settings were not collected"))]
    return [_compare("audit_redis", str(a.get("source", "")), got, REDIS_WANT, f"{name}, at the end of the run")
            if "error" not in got else inconclusive("audit_redis", WINDOW, f"{name}: {got['error']}")
            for name, got in sorted(a["redis"].items())]


def audit_pgbouncer(run: Run) -> list[CheckResult]:
    a = _audits(run)
    if a is None or "pgbouncer" not in a:
        why = (a or {}).get("errors", {}).get("servers") if a else "no audits.json in the run directory"
        return [inconclusive("audit_pgbouncer", WINDOW, str(why or "PgBouncer settings were not collected"))]
    got = a["pgbouncer"]
    if "error" in got:
        return [inconclusive("audit_pgbouncer", WINDOW, str(got["error"]))]
    return [_compare("audit_pgbouncer", str(a.get("source", "")), got, PGBOUNCER_WANT)]


def audit_metrics(run: Run) -> list[CheckResult]:
    a = _audits(run)
    if a is None or "metrics" not in a:
        why = (a or {}).get("errors", {}).get("metrics") if a else "no audits.json in the run directory"
        return [inconclusive("audit_metrics", WINDOW, str(why or "metrics were not collected"))]
    missing = sorted(m for m, present in a["metrics"].items() if not present)
    return [CheckResult("audit_metrics", Status.PASS if not missing else Status.FAIL, float(len(missing)), 0.0,
                        WINDOW, "Prometheus series names",
                        "every §5.2 and contract metric present" if not missing else f"missing: {', '.join(missing)}",
                        {"missing": missing})]


def audit_alert_rules(run: Run) -> list[CheckResult]:
    a = _audits(run)
    if a is None or "alert_rules" not in a:
        why = (a or {}).get("errors", {}).get("alert_rules") if a else "no audits.json in the run directory"
        return [inconclusive("audit_alert_rules", WINDOW, str(why or "alert rules were not collected"))]
    rules = a["alert_rules"]
    severities = {r["severity"] for r in rules if r.get("health") in ("ok", "unknown", "")}
    missing = sorted({"P1", "P2"} - severities)
    return [CheckResult("audit_alert_rules", Status.PASS if not missing else Status.FAIL, float(len(missing)), 0.0,
                        WINDOW, "Prometheus /api/v1/rules",
                        f"{len(rules)} alert rules loaded; P1 and P2 present" if not missing
                        else f"no loaded alert rule of severity {', '.join(missing)}",
                        {"rules": [r["name"] for r in rules]})]


def audit_rollout(run: Run) -> list[CheckResult]:
    """§4.2 on the target itself: a rolling update with maxSurge and maxUnavailable 25 %, a readiness
    probe that gives up after ``rollback_on_failure - 1`` failures (rollback "if health checks fail
    > 3 times": on the 4th), an automatic rollback the target says it performs (the sandbox's
    controller; on a cluster the Deployment cannot say, the plan checks the mechanism), and timings
    that let it happen: the Nth failure comes ``N x period`` after the release, which must be within
    ``rollback_within_s`` and before the progress deadline gives the rollout up. A setting the
    target does not have (the sandbox has no progress deadline) is shown, not judged."""
    a = _audits(run)
    if a is None or "rollout" not in a:
        why = (a or {}).get("errors", {}).get("rollout") if a else "no audits.json in the run directory"
        return [inconclusive("audit_rollout", WINDOW, str(why or "rollout settings were not collected"))]
    try:
        s = RolloutSettings.model_validate(a["rollout"])
    except ValidationError as exc:
        return [inconclusive("audit_rollout", WINDOW, f"rollout settings unreadable: {exc.errors()[0]['msg']}")]
    nth = int(run.threshold("rollback_on_failure"))
    within = run.threshold("rollback_within_s")
    want: dict[str, Any] = {"strategy": "RollingUpdate", "max_surge": "25%", "max_unavailable": "25%",
                            "failure_threshold": nth - 1, "auto_rollback": True}
    got = s.model_dump()
    wrong = {k: got.get(k) for k, v in want.items() if got.get(k) is not None and got.get(k) != v}
    unknown = sorted(k for k in ("strategy", "max_surge", "max_unavailable", "failure_threshold")
                     if got.get(k) is None)
    notes = []
    if s.failure_threshold is not None and s.period_s is not None:
        nth_after = nth * s.period_s
        if nth_after > within:
            wrong["period_s"] = s.period_s
            notes.append(f"the {nth}th failure comes {nth_after:g} s after the release, past the {within:g} s bound")
        if s.progress_deadline_s is not None and s.progress_deadline_s < nth_after:
            wrong["progress_deadline_s"] = s.progress_deadline_s
            notes.append(f"the progress deadline ({s.progress_deadline_s:g} s) gives the rollout up before the "
                         f"{nth}th failure ({nth_after:g} s)")
    elif s.period_s is None:
        unknown.append("period_s")
    shown = (f"readiness failureThreshold {s.failure_threshold}, period {s.period_s} s, progress deadline "
             f"{s.progress_deadline_s if s.progress_deadline_s is not None else 'none'}, {s.strategy} maxSurge "
             f"{s.max_surge} maxUnavailable {s.max_unavailable}, automatic rollback "
             f"{'unknown here' if s.auto_rollback is None else ('on' if s.auto_rollback else 'OFF')}")
    details = {"got": got, "want": want, "wrong": wrong, "unknown": unknown}
    if wrong:
        msg = "differs from §4.2: " + ", ".join(f"{k}={v!r}" + (f" (want {want[k]!r})" if k in want else "")
                                                 for k, v in wrong.items())
        msg += "".join(f"; {n}" for n in notes)
        return [CheckResult("audit_rollout", Status.FAIL, float(len(wrong)), 0.0, WINDOW, s.source,
                            f"{msg}. {shown}", details)]
    if unknown:
        return [CheckResult("audit_rollout", Status.INCONCLUSIVE, None, 0.0, WINDOW, s.source,
                            f"not reported by the target: {', '.join(unknown)}. {shown}", details)]
    return [CheckResult("audit_rollout", Status.PASS, 0.0, 0.0, WINDOW, s.source, f"as §4.2 says: {shown}", details)]
