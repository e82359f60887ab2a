"""Faults at their real durations (issue 21): a long outage is judged, not aborted; the guard still
aborts what it exists for.

Every case is a real ``gameday run`` of the smoke profile cut to one fault, 50 users and the
shortest phases, on a sandbox of its own (scratch ports). The database outage's length is the
sandbox's ``timings.db_failover_detection_s`` (RDS's detection delay; the promotion that follows
takes ~1-2 s). Assertions are on the verdict, the exit code, the failed checks and the guard's
rule; recovery times only as ranges (the judge's resolution is its own business).

| case | outage | bound | expected |
| --- | --- | --- | --- |
| 70 s database outage | ~70 s | 120 s | GO, exit 0, recovery 60-100 s, no abort |
| outage past its bound | ~40 s | 25 s | NO-GO on recovery_time alone, exit 1, not ABORTED |
| errors outside any fault | DB killed in the baseline | - | ABORTED by rule error-ratio, exit 3 |
| a fault that never recovers | stuck release | - | stopped at its bound, rolled back, ABORTED, exit 3 |

The second case stands in for the issue's 150 s outage against 120 s: the rule it tests is the
same (an outage longer than its bound but shorter than bound + fault_grace_s is a NO-GO on
recovery_time, never an abort), at a third of the cost. It is longer than abort_for_s (30 s), so
the guard of before would have aborted it. The 150 s run itself is in the issue's closing note.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from gameday.analysis.recorded import read_requests
from tests.helpers import SCRATCH_BASE, events, gameday, http, results, scratch_state, target, wait_for_phase

STEADY = ["latency_p95", "throughput", "agent_startup_warm", "error_rate_5xx", "lost_acks"]
SHORT = ["--set", "phases.warmup_s=8", "--set", "phases.baseline_s=15", "--set", "phases.cooldown_s=5",
         "--set", "load.users=50"]
DB_FAILOVER = ("{id: db-failover, experiment: ../experiments/sandbox/db-failover.json, observe_s: 5, "
               "recover_s: %d, configuration: {sla_window_s: 10, sla_settle_s: 15}}")


def _args(*sets: str) -> list[str]:
    return [a for s in sets for a in ("--set", s)]


def _table(res: dict[str, Any]) -> str:
    return "\n".join(f"  {c['id']:<20} {c['window']:<24} {c['status']:<13} {c['message']}" for c in res["checks"])


def _run(name: str, tmp_path: Path, *argv: str, during: Any = None, certify: bool = False) -> tuple[int, Path, str]:
    run_dir = tmp_path / "run"
    with scratch_state(f"gameday-test-{name}-") as state:
        th = None
        if during is not None:
            th = threading.Thread(target=during, args=(run_dir,), daemon=True)
            th.start()
        r = gameday("run", "profiles/smoke.yaml", "--out", str(run_dir), *target(state), *argv, timeout=600,
                    certify=certify)
        if th is not None:
            th.join(timeout=5)
    print(f"\n[{name}] exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-1500:]}")
    key = [ln for ln in r.stdout.splitlines() if ln.startswith(("recovery_time", "VERDICT", "run aborted"))]
    print(f"[{name}] summary: exit {r.returncode}; " + " | ".join(key))
    return r.returncode, run_dir, r.stdout + r.stderr[-2000:]


def _recovery(res: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in res["checks"] if c["id"] == "recovery_time")


def _held_the_outage(run_dir: Path, fault: str, took: float) -> None:
    """The fault window covers the whole outage, and the load ran through it (requests recorded
    in every 10 s of it)."""
    evs = events(run_dir)
    inj = next(e["t"] for e in evs if e["event"] == "fault_injected" and e.get("fault") == fault)
    end = next(e["t"] for e in evs if e["event"] == "phase_ended" and e.get("phase") == f"fault:{fault}")
    assert end - inj >= took, f"window ends {end - inj:.1f} s after the injection, recovery {took:.1f} s"
    starts = read_requests(run_dir)["t_start"].tolist()
    for k in range(int(took // 10)):
        assert any(inj + 10 * k <= t < inj + 10 * (k + 1) for t in starts), f"no request {10 * k}-{10 * k + 10} s in"


def _experiment_recovery(run_dir: Path, fault: str) -> float:
    """The harness's own measure: the experiment's waits saw the service back this long after injection."""
    rec = next(e for e in events(run_dir) if e["event"] == "fault_recovered" and e.get("fault") == fault)
    return float(rec["recovery_s"])


@pytest.mark.alone
def test_a_70s_database_outage_is_judged_go(tmp_path: Path) -> None:
    """RDS's own figure (60-120 s) inside the checklist's 120 s bound: GO, with its recovery time."""
    code, run_dir, out = _run("db-70s", tmp_path, *SHORT, *_args(
        "target.sandbox.timings.db_failover_detection_s=68", f"faults=[{DB_FAILOVER % 150}]",
        f"checks.required=[{', '.join([*STEADY, 'recovery_time'])}]"), certify=True)
    res = results(run_dir)
    assert (code, res["verdict"], res["status"]) == (0, "GO", "completed"), _table(res) + out
    rec = _recovery(res)
    assert rec["status"] == "PASS" and 60 <= rec["value"] <= 100, rec
    assert not [e for e in events(run_dir) if e["event"] == "guard_abort"]
    _held_the_outage(run_dir, "db-failover", rec["value"])


def test_an_outage_past_its_bound_is_no_go_not_aborted(tmp_path: Path) -> None:
    """~40 s of outage against a 25 s bound: NO-GO on recovery_time (exit 1), judged, not aborted."""
    code, run_dir, out = _run("db-past-bound", tmp_path, *SHORT, *_args(
        "target.sandbox.timings.db_failover_detection_s=40", "checks.recovery_s.db-failover=25",
        f"faults=[{DB_FAILOVER % 150}]", f"checks.required=[{', '.join([*STEADY, 'recovery_time'])}]"))
    res = results(run_dir)
    failed = {c["id"] for c in res["checks"] if c["status"] == "FAIL"}
    assert (code, res["verdict"], res["status"]) == (1, "NO-GO", "completed"), _table(res) + out
    assert failed == {"recovery_time"}, _table(res)
    rec = _recovery(res)
    # past its bound either way: back after 30-80 s, or (None) not yet back within every SLA when the
    # window ended (with 50 users /v1/crews has ~10 samples per judged 5 s, so one slow crew after
    # the failover can keep its p95 over the line at the window's end)
    assert rec["threshold"] == 25 and (rec["value"] is None or 30 <= rec["value"] <= 80), rec
    assert not [e for e in events(run_dir) if e["event"] == "guard_abort"]
    _held_the_outage(run_dir, "db-failover", _experiment_recovery(run_dir, "db-failover"))


def test_sustained_errors_outside_any_fault_are_aborted(tmp_path: Path) -> None:
    """The database dies in the baseline, not by a fault of the profile: the guard's error rule
    (50 % for 30 s, the defaults) aborts the run (exit 3)."""

    def kill_the_primary(run_dir: Path) -> None:
        if wait_for_phase(run_dir, "baseline", 120):
            http("POST", f"http://127.0.0.1:{SCRATCH_BASE + 1}/db/fail-primary", {})

    code, run_dir, out = _run("errors-outside", tmp_path, *_args(
        "phases.warmup_s=8", "phases.baseline_s=90", "phases.cooldown_s=5", "load.users=50", "faults=[]",
        "target.sandbox.timings.db_failover_detection_s=60", f"checks.required=[{', '.join(STEADY)}]"),
        during=kill_the_primary)
    res = results(run_dir)
    assert code == 3 and res["status"] == "aborted", _table(res) + out
    evs = events(run_dir)
    abort = next(e for e in evs if e["event"] == "guard_abort")
    assert abort["rule"] == "error-ratio" and "outside any fault's outage" in abort["reason"], abort
    aborted = next(e for e in evs if e["event"] == "run_aborted")
    assert aborted["rule"] == "error-ratio" and aborted["reason"] == abort["reason"]
    assert "guard rule error-ratio" in out


def test_a_fault_that_never_recovers_is_stopped_at_its_bound_and_rolled_back(tmp_path: Path) -> None:
    """A bad release the platform never rolls back (knobs.auto_rollback=false), whose experiment
    would wait 10 minutes for it: the guard stops it at observe_s + recover_s + fault_grace_s
    (5 + 20 + 10 s), its rollback (undo-release) is played, the run is ABORTED (exit 3)."""
    fault = ("{id: bad-release, experiment: ../experiments/sandbox/bad-release.json, observe_s: 5, recover_s: 20, "
             "configuration: {sla_window_s: 10, sla_settle_s: 15, rollback_timeout_s: 600}}")
    code, run_dir, out = _run("never-recovers", tmp_path, *SHORT, *_args(
        "target.sandbox.knobs.auto_rollback=false", "guard.fault_grace_s=10", f"faults=[{fault}]",
        f"checks.required=[{', '.join([*STEADY, 'automated_rollback'])}]"))
    res = results(run_dir)
    assert code == 3 and res["status"] == "aborted", _table(res) + out
    evs = events(run_dir)
    abort = next(e for e in evs if e["event"] == "guard_abort")
    assert abort["rule"] == "fault-past-its-bound" and abort["fault"] == "bad-release", abort
    started = next(e["t"] for e in evs if e["event"] == "phase_started" and e.get("phase") == "fault:bad-release")
    assert 35 <= abort["t"] - started <= 40, abort["t"] - started  # stopped at its bound, checked each second
    undo = [e for e in evs if e["event"] == "chaos_activity" and e.get("activity") == "undo-release"]
    assert undo and undo[-1]["status"] == "succeeded", undo
    done = [e for e in evs if e["event"] == "rollbacks_done"]
    assert done and done[-1]["ok"] is True, done


# -- the realistic preset and the profiles sized for it (no sandbox) --------------------------------

