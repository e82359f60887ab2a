"""Checklist audits over synthetic audits.json: pass, fail naming the setting, inconclusive."""

from __future__ import annotations

import json
from pathlib import Path

from gameday.analysis.judge import judge
from gameday.analysis.run import load_run
from gameday.analysis.verdict import Status

GOOD = {
    "errors": {}, "source": "test",
    "redis": {"redis-a": {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"}},
    "pgbouncer": {"pool_mode": "transaction", "max_client_conn": "1000", "default_pool_size": "20"},
    "metrics": {"crew_assembly_total": True, "token_usage_cost_est": True},
    "alert_rules": [{"name": "A", "severity": "P1", "health": "ok"}, {"name": "B", "severity": "P2", "health": "ok"}],
    "rollout": {"source": "test", "strategy": "RollingUpdate", "max_surge": "25%", "max_unavailable": "25%",
                "replicas": 3, "failure_threshold": 3, "period_s": 10.0, "progress_deadline_s": 600.0,
                "auto_rollback": True, "container": "core"},
}


def statuses(tmp: Path, audits: dict | None) -> dict[str, list]:
    if audits is not None:
        (tmp / "audits.json").write_text(json.dumps(audits))
    out: dict[str, list] = {}
    for r in judge(load_run(tmp)).results:
        if r.id.startswith("audit_"):
            out.setdefault(r.id, []).append(r)
    return out


def test_checklist_settings_pass(tmp_path: Path) -> None:
    got = statuses(tmp_path, GOOD)
    assert {k: [r.status for r in v] for k, v in got.items()} == {
        "audit_redis": [Status.PASS], "audit_pgbouncer": [Status.PASS], "audit_metrics": [Status.PASS],
        "audit_alert_rules": [Status.PASS], "audit_rollout": [Status.PASS],
        "audit_autoscaling": [Status.INCONCLUSIVE]}  # no autoscaler specs collected (GOOD has none)


def test_each_deviation_fails_and_is_named(tmp_path: Path) -> None:
    bad = json.loads(json.dumps(GOOD))
    bad["redis"]["redis-a"]["appendfsync"] = "always"
    bad["pgbouncer"]["pool_mode"] = "session"
    bad["metrics"]["token_usage_cost_est"] = False
    bad["alert_rules"] = [{"name": "A", "severity": "P1", "health": "ok"}]
    got = statuses(tmp_path, bad)
    assert got["audit_redis"][0].status == Status.FAIL and "appendfsync='always'" in got["audit_redis"][0].message
    assert got["audit_pgbouncer"][0].status == Status.FAIL and "pool_mode" in got["audit_pgbouncer"][0].message
    assert got["audit_metrics"][0].status == Status.FAIL and "token_usage_cost_est" in got["audit_metrics"][0].message
    assert got["audit_alert_rules"][0].status == Status.FAIL and "P2" in got["audit_alert_rules"][0].message


def test_uncollected_audits_are_inconclusive(tmp_path: Path) -> None:
    got = statuses(tmp_path, None)
    assert all(r.status == Status.INCONCLUSIVE for v in got.values() for r in v) and len(got) == 6
    partial = {"errors": {"servers": "no audit source for Redis/PgBouncer settings on this target kind"},
               "metrics": GOOD["metrics"], "alert_rules": GOOD["alert_rules"]}
    got = statuses(tmp_path, partial)
    assert got["audit_redis"][0].status == Status.INCONCLUSIVE and "no audit source" in got["audit_redis"][0].message
    assert got["audit_metrics"][0].status == Status.PASS
