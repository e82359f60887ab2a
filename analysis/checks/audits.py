"""Checklist audits over ``audits.json``: Redis, PgBouncer, §5.2 metrics, §5.4 alert rules.

Each compares what the live target reported with the checklist; a part that could not be
collected is INCONCLUSIVE with the collector's reason.
"""

from __future__ import annotations

import json
from typing import Any

from analysis.run import Run
from analysis.verdict import CheckResult, Status, inconclusive

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
