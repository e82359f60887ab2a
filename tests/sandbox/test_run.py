"""``gameday run`` end to end against a sandbox it brings up itself, on scratch ports.

The smoke certification must say GO on a healthy sandbox; with Prometheus stopped half-way the
verdict must be INCONCLUSIVE (exit 2), never GO; a run killed with SIGKILL half-way leaves a run
directory the judge can still read (exit 3, INTERRUPTED).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.helpers import (
    NO_FAULTS,
    ROOT,
    SCRATCH_BASE,
    gameday,
    http,
    listening,
    results,
    scratch_state,
    target,
    wait_for_phase,
)


@pytest.fixture
def scratch() -> Iterator[Path]:
    with scratch_state() as state:
        yield state


@pytest.mark.alone
def test_smoke_certification_is_go(scratch: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    t0 = time.monotonic()
    r = gameday("run", "profiles/smoke.yaml", "--out", str(run_dir), *target(scratch), certify=True)
    took = time.monotonic() - t0
    res = results(run_dir)
    failed = [(c["id"], c["window"], c["message"]) for c in res["checks"] if c["status"] != "PASS"]
    assert r.returncode == 0 and res["verdict"] == "GO", f"{failed}\n{r.stderr[-2000:]}"
    assert took < 180, f"smoke certification took {took:.0f} s"
    for name in ("profile.yaml", "timeline.jsonl", "readback.json", "results.json", "load/locust_report.html",
                 "journals/db-failover.json", "journals/bad-release.json", "prometheus/missions_per_min.csv"):
        assert (run_dir / name).exists(), name
    assert {c["id"] for c in res["checks"]} >= {"latency_p95", "throughput", "agent_startup_warm", "error_rate_5xx",
                                                 "recovery_time", "lost_acks", "automated_rollback"}
    again = gameday("judge", str(run_dir))  # offline, from the directory alone
    assert again.returncode == 0 and "VERDICT: GO" in again.stdout
    # nothing of the run is left: sandbox down, Locust gone
    assert not [p for p in range(SCRATCH_BASE, SCRATCH_BASE + 200) if listening(p)]


def test_prometheus_stopped_half_way_is_inconclusive(scratch: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"

    def stop_prometheus() -> None:
        if wait_for_phase(run_dir, "baseline", 90):
            time.sleep(3)
            http("POST", f"http://127.0.0.1:{SCRATCH_BASE + 1}/components/prometheus/stop", {})

    th = threading.Thread(target=stop_prometheus, daemon=True)
    th.start()
    r = gameday("run", "profiles/smoke.yaml", "--out", str(run_dir), *target(scratch), *NO_FAULTS)
    th.join(timeout=5)
    res = results(run_dir)
    assert r.returncode == 2 and res["verdict"] == "INCONCLUSIVE", r.stdout[-3000:]
    by_id = {c["id"]: c for c in res["checks"]}
    assert by_id["throughput"]["status"] == "INCONCLUSIVE" and "unreachable" in by_id["throughput"]["message"]
    assert "GO" not in r.stdout.replace("NO-GO", "").replace("VERDICT: INCONCLUSIVE", "")


def test_sigkill_half_way_leaves_a_readable_run(scratch: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gameday", "run", "profiles/smoke.yaml", "--out", str(run_dir),
                             *target(scratch), *NO_FAULTS], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_for_phase(run_dir, "baseline", 120), "the run never reached its baseline"
        time.sleep(5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        # the orphans of a SIGKILLed harness: Locust (its cwd is the run dir); the sandbox goes with `scratch`
        for p in psutil.process_iter(["cwd"]):
            if p.info["cwd"] == str(run_dir):
                p.kill()
    r = gameday("judge", str(run_dir))
    res = results(run_dir)
    assert r.returncode == 3 and res["status"] == "interrupted", r.stdout
    assert "INTERRUPTED" in r.stdout
    assert any(c["id"] == "latency_p95" and c["status"] == "PASS" for c in res["checks"])  # the baseline so far


def test_the_guard_aborts_and_rolls_back(scratch: Path, tmp_path: Path) -> None:
    """A guard line the DB failover is sure to cross once its (1 s) recovery bound has passed: the
    fault is stopped, its rollbacks run, the run ends ABORTED with exit 3 — and the evidence is
    still collected and judged. (A fault's outage within its bound is not the guard's: test_guard,
    test_long_faults.)"""
    run_dir = tmp_path / "run"
    r = gameday("run", "profiles/smoke.yaml", "--out", str(run_dir), *target(scratch),
                "--set", "faults=[{id: db-failover, experiment: ../experiments/sandbox/db-failover.json, "
                "observe_s: 5, recover_s: 90}]",
                "--set", "phases.warmup_s=8", "--set", "phases.baseline_s=10", "--set", "phases.cooldown_s=5",
                "--set", "checks.recovery_s.db-failover=1", "--set", "guard.fault_grace_s=0",
                "--set", "guard.abort_error_ratio=0.05", "--set", "guard.abort_for_s=1")
    assert r.returncode == 3, r.stdout[-2000:] + r.stderr[-2000:]
    events = [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    names = [e["event"] for e in events]
    assert "guard_abort" in names and "run_aborted" in names
    abort = next(e for e in events if e["event"] == "guard_abort")
    assert abort["rule"] == "error-ratio-past-recovery-bound" and abort["fault"] == "db-failover", abort
    rollbacks = [e for e in events if e["event"] == "rollbacks_done"]
    assert rollbacks and rollbacks[-1]["ok"] is True
    assert results(run_dir)["status"] == "aborted"
    assert (run_dir / "prometheus" / "missions_per_min.json").exists()  # evidence taken on abort
