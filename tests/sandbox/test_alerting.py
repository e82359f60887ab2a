"""Alerting end to end (issue 17): the sandbox's real Alertmanager, fed by its Prometheus, pages the
DB failover to the pager receiver, logs the bad release's deployment event, and both resolve; one
real ``gameday run`` of profiles/alerting.yaml (about 2 minutes), judged from its run directory.
Alertmanager and the receiver go down with the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, SCRATCH_BASE, gameday, listening, results, scratch_state, target

PROFILE = ROOT / "profiles" / "alerting.yaml"


def test_a_db_failover_pages_the_pager_and_resolves_and_the_sandbox_takes_alertmanager_down(tmp_path: Path) -> None:
    with scratch_state("gameday-test-alerting-") as state:
        run_dir = tmp_path / "run"  # kept by pytest after a failure
        r = gameday("run", str(PROFILE), *target(state), "--out", str(run_dir), timeout=420)
        assert r.returncode in (0, 1, 2), r.stdout[-3000:] + r.stderr[-2000:]
        res = {(c["id"], c["window"].split(" ")[0]): c for c in results(run_dir)["checks"]}
        fired = res[("alert_fired", "fault:db-failover")]
        assert fired["status"] == "PASS", fired
        assert fired["details"]["alertname"] == "HyperCodeDatabaseDown" and "pager" in fired["details"]["notified"]
        assert 0 < fired["value"] <= 30
        assert res[("alert_fired", "fault:bad-release")]["status"] == "PASS"
        resolved = res[("alert_resolved", "fault:db-failover")]
        assert resolved["status"] == "PASS", resolved
        routed = [c for c in results(run_dir)["checks"] if c["id"] == "alert_routed"]
        assert routed and all(c["status"] == "PASS" for c in routed), routed
        assert {c["window"] for c in routed} >= {"run HyperCodeDatabaseDown (P1)",
                                                  "run HyperCodeDeploymentRevisionChanged (P3)"}
        assert res[("no_false_page", "run")]["status"] == "PASS"
        notes = [json.loads(line) for line in (run_dir / "alerting" / "notifications.jsonl").read_text().splitlines()]
        pages = [n for n in notes if n["receiver"] == "pager"
                 and any(a["labels"]["alertname"] == "HyperCodeDatabaseDown" for a in n["payload"]["alerts"])]
        assert {n["payload"]["status"] for n in pages} == {"firing", "resolved"}
        # the run took the sandbox down: Alertmanager and the receiver with it
        assert not listening(SCRATCH_BASE + 4) and not listening(SCRATCH_BASE + 5)
        left = subprocess.run([sys.executable, "-m", "gameday.sandbox", "--state-dir", str(state), "down"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        assert left.returncode == 0, left.stderr
