"""The verdict, proven on broken targets: each mutant of the sandbox gets NO-GO for its own reason.

Every case is a real ``gameday run`` of a short profile focused on what the mutant breaks
(the sandbox's knobs, see ``sandbox/config.py``), on a sandbox of its own. The assertion is the
verdict *and the exact set of failed checks*: a NO-GO for the wrong reason is a wrong verdict.
The healthy case (GO) and Prometheus stopped half-way (INCONCLUSIVE, exit 2) are in
``tests/test_run.py``; ``benchmarks/go_rate.py`` measures how stable the healthy GO is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.runs import gameday, results, scratch_state, target

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

STEADY = ["latency_p95", "throughput", "agent_startup_warm", "error_rate_5xx", "lost_acks"]
SHORT = ["--set", "phases.warmup_s=8", "--set", "phases.baseline_s=15", "--set", "phases.cooldown_s=5",
         "--set", "load.users=50"]


def _fault(fid: str, experiment: str, recover_s: int, **conf: object) -> str:
    extra = ", ".join(f"{k}: {v}" for k, v in {"sla_window_s": 10, "sla_settle_s": 15, **conf}.items())
    return (f"{{id: {fid}, experiment: ../experiments/sandbox/{experiment}, observe_s: 5, recover_s: {recover_s}, "
            f"configuration: {{{extra}}}}}")


@dataclass(frozen=True)
class Case:
    knobs: dict[str, object]
    faults: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=lambda: list(STEADY))
    failed: frozenset[str] = frozenset()

    def argv(self) -> list[str]:
        sets = [f"target.sandbox.knobs.{k}={v}" for k, v in self.knobs.items()]
        sets += [f"faults=[{', '.join(self.faults)}]", f"checks.required=[{', '.join(self.required)}]"]
        return [a for s in sets for a in ("--set", s)] + SHORT


CASES = {
    # every API request 250 ms slower: the p95 line (200 ms) is crossed, nothing else is
    "extra-latency-250ms": Case({"extra_latency_ms": 250}, failed=frozenset({"latency_p95"})),
    # no warm pool: every crew waits for cold agents (3 s); POST /v1/crews answers when its agents
    # are up, so the API's p95 crosses its line too, for the same reason
    "warm-pool-0": Case({"warm_pool_size": 0}, failed=frozenset({"agent_startup_warm", "latency_p95"})),
    # the release is never rolled back by the platform (the experiment's own rollback restores it);
    # maxUnavailable keeps the old pods serving, so clients see no outage: only the rollback fails
    "auto-rollback-off": Case({"auto_rollback": "false"},
                              [_fault("bad-release", "bad-release.json", 40, rollback_timeout_s=20,
                                      api_recovery_timeout_s=20)],
                              [*STEADY, "automated_rollback", "recovery_time"],
                              frozenset({"automated_rollback"})),
    # asynchronous replication, stalled before the primary dies: acknowledged missions are lost
    "async-replication-stall": Case({"replication": "async"},
                                    [_fault("db-failover", "db-failover-replication-stall.json", 90)],
                                    [*STEADY, "recovery_time"], frozenset({"lost_acks"})),
}


@pytest.mark.parametrize("name", list(CASES))
def test_mutant_is_no_go_for_its_own_reason(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    run_dir = tmp_path / "run"
    with scratch_state(f"gameday-test-{name}-") as state:
        r = gameday("run", "profiles/smoke.yaml", "--out", str(run_dir), *target(state), *case.argv())
    res = results(run_dir)
    table = "\n".join(f"  {c['id']:<20} {c['window']:<24} {c['status']:<13} {c['message']}" for c in res["checks"])
    print(f"\n[{name}] {res['verdict']} exit {r.returncode}\n{table}")
    failed = {c["id"] for c in res["checks"] if c["status"] == "FAIL"}
    assert (r.returncode, res["verdict"]) == (1, "NO-GO"), f"{table}\n{r.stderr[-2000:]}"
    assert failed == set(case.failed), table
    assert not [c for c in res["checks"] if c["status"] == "INCONCLUSIVE" and c["id"] in case.required], table
    report = (run_dir / "report.md").read_text()
    for check in case.failed:
        assert re.search(rf"{check}.*FAIL|FAIL.*{check}", report), f"{check} not shown failed in report.md"
    if "lost_acks" in case.failed:
        lost = next(c for c in res["checks"] if c["id"] == "lost_acks" and c["status"] == "FAIL")
        assert lost["value"] > 0 and f"{int(lost['value'])}" in report
