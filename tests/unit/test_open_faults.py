"""Open faults: any Chaos Toolkit experiment is a fault with its own id, recovery bound and error budget
(issue 16). The profile folds them into ``checks.recovery_s`` / ``checks.error_budgets``, where the guard
and the judge read every fault's bound; the checklist's four keep the checklist's bounds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.analysis.checks.recovery import recovery_time
from gameday.analysis.run import load_run
from gameday.analysis.verdict import Status
from gameday.harness import profile as profile_mod
from gameday.harness.profile import ProfileError

ROOT = Path(__file__).resolve().parents[2]
EXP = str(ROOT / "experiments" / "sandbox" / "redis-partition.json")
HEADER = "t_start,latency_ms,name,method,status,ok,error,mission_id,t_intended,latency_intended_ms\n"


def load(tmp: Path, doc: dict[str, Any]) -> profile_mod.Profile:
    path = tmp / "p.yaml"
    path.write_text(yaml.safe_dump({"name": "p", **doc}))
    return profile_mod.load(path)


def test_a_custom_fault_carries_its_own_bound_and_budget(tmp_path: Path) -> None:
    p = load(tmp_path, {"faults": [{"id": "redis-partition", "experiment": EXP, "recovery_s": 25, "error_budget": 40},
                                   {"id": "db-failover", "experiment": EXP}]})
    assert p.checks.recovery_s == {"db-failover": 120, "redis-primary-kill": 30, "node-drain": 60, "bad-release": 120,
                                   "redis-partition": 25}
    assert p.checks.error_budgets == {"redis-partition": 40}


def test_a_checklist_fault_can_take_its_bound_on_the_fault(tmp_path: Path) -> None:
    p = load(tmp_path, {"faults": [{"id": "db-failover", "experiment": EXP, "recovery_s": 90}]})
    assert p.checks.recovery_s["db-failover"] == 90 and p.checks.recovery_s["redis-primary-kill"] == 30


@pytest.mark.parametrize("doc, problem", [
    ({"faults": [{"id": "redis-partition", "experiment": EXP}]},
     "faults.0.recovery_s: 'redis-partition' is a custom fault"),
    ({"faults": [{"id": "db-failover", "experiment": EXP, "recovery_s": 90}],
      "checks": {"recovery_s": {"db-failover": 100}}},
     "faults.0.recovery_s: 90 for 'db-failover', but checks.recovery_s says 100; state it in one place"),
    ({"checks": {"recovery_s": {"az-outage": 100}}}, "['az-outage'] are neither checklist faults nor faults"),
    ({"faults": [{"id": "AZ outage", "experiment": EXP, "recovery_s": 5}]}, "faults.0.id: String should match"),
    ({"faults": [{"id": "x-y", "experiment": EXP, "recovery_s": 5, "error_budget": -1}]},
     "faults.0.error_budget: Input should be greater than or equal to 0"),
])
def test_bad_custom_faults_are_refused_naming_the_field(tmp_path: Path, doc: dict[str, Any], problem: str) -> None:
    with pytest.raises(ProfileError) as exc:
        load(tmp_path, doc)
    assert problem in str(exc.value) and "p.yaml" in str(exc.value)


def a_run(d: Path, recovery: dict[str, float], budgets: dict[str, int], outage_failures: int) -> Path:
    """A run with one custom fault window (60-100 s): ``outage_failures`` 503s in its first 10 s, then healthy."""
    d.mkdir()
    checks = {"recovery_s": recovery, "error_budgets": budgets, "p95_ms": 200, "max_5xx_ratio": 0.05}
    (d / "profile.yaml").write_text(yaml.safe_dump({"name": "t", "checks": checks}))
    events = [("phase_started", 0, "baseline"), ("phase_ended", 60, "baseline"),
              ("phase_started", 60, "fault:redis-partition"), ("phase_ended", 100, "fault:redis-partition")]
    with open(d / "timeline.jsonl", "w") as f:
        for name, t, phase in events:
            f.write(json.dumps({"t": t, "event": name, "phase": phase}) + "\n")
        f.write(json.dumps({"t": 61, "event": "fault_injected", "phase": "fault:redis-partition",
                            "fault": "redis-partition"}) + "\n")
    with open(d / "requests.local-1.csv", "w") as f:
        f.write(HEADER)
        i = 0
        for k in range(100 * 20):  # 20 requests a second
            t = k / 20
            failed = 61 <= t < 71 and i < outage_failures and k % 2 == 0
            i += failed
            f.write(f"{t},{30.0},/v1/crews,POST,{503 if failed else 201},{0 if failed else 1},,m{k},,\n")
    (d / "acks.local-1.csv").write_text("t_ack,mission_id,latency_ms\n")
    return d


def test_the_judge_applies_the_custom_bound_and_budget(tmp_path: Path) -> None:
    ok = recovery_time(load_run(a_run(tmp_path / "ok", {"redis-partition": 30}, {"redis-partition": 100}, 60)))
    assert [(r.status, r.threshold) for r in ok] == [(Status.PASS, 30)]
    assert ok[0].details["error_budget"] == 100 and ok[0].details["failed_requests"] == 60
    tight = recovery_time(load_run(a_run(tmp_path / "tight", {"redis-partition": 5}, {}, 60)))
    assert tight[0].status == Status.FAIL and tight[0].threshold == 5 and "error_budget" not in tight[0].details
    over = recovery_time(load_run(a_run(tmp_path / "over", {"redis-partition": 30}, {"redis-partition": 10}, 60)))
    assert over[0].status == Status.FAIL and "60 failed requests, over redis-partition's error budget of 10" in \
        over[0].message


def test_a_custom_fault_without_a_bound_in_the_run_is_inconclusive(tmp_path: Path) -> None:
    res = recovery_time(load_run(a_run(tmp_path / "none", {}, {}, 0)))
    assert res[0].status == Status.INCONCLUSIVE and "no recovery bound for 'redis-partition'" in res[0].message
