"""The Prometheus-backed checks and recovery time, over synthetic run directories."""

from __future__ import annotations

from pathlib import Path

from gameday.analysis.judge import judge
from gameday.analysis.run import load_run
from gameday.analysis.verdict import Status
from tests.helpers import inject, ramp, series, server_run, steady


def results(run: Path, check: str) -> list:
    return [r for r in judge(load_run(run)).results if r.id == check]


def test_throughput_and_startup_pass_and_fail(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    a = server_run(tmp_path / "a")
    series(a, "missions_per_min", ramp(0, 190, 120))
    series(a, "startup_p95", ramp(0, 190, 0.08))
    series(a, "startup_by_pool", ramp(0, 190, 2.0), {"pool": "warm"})
    assert results(a, "throughput")[0].status == Status.PASS
    r = results(a, "agent_startup_warm")[0]
    # no start-up in the acks: the histogram is the evidence, and says so
    assert r.status == Status.PASS and r.details["source"] == "prometheus" and "histogram" in r.message
    (tmp_path / "b").mkdir()
    b = server_run(tmp_path / "b")
    series(b, "missions_per_min", ramp(0, 190, 20))
    series(b, "startup_p95", ramp(0, 190, 3.1))
    series(b, "startup_by_pool", ramp(0, 190, 2.0), {"pool": "cold"})
    assert results(b, "throughput")[0].status == Status.FAIL
    r = results(b, "agent_startup_warm")[0]
    assert r.status == Status.FAIL and r.details["source"] == "prometheus"


def test_failed_or_missing_prometheus_is_inconclusive(tmp_path: Path) -> None:
    run = server_run(tmp_path)
    series(run, "missions_per_min", [], error="ConnectionError: refused")
    r = results(run, "throughput")[0]
    assert r.status == Status.INCONCLUSIVE and "refused" in r.message
    assert results(run, "agent_startup_warm")[0].status == Status.INCONCLUSIVE  # no snapshot at all
    assert results(run, "automated_rollback")[0].status == Status.INCONCLUSIVE


def _release(run: Path, rollback_at: float | None, failures_per_s: float) -> None:
    inject(run, "bad-release", 72)
    rb = [(t, 1.0 if rollback_at is not None and t >= rollback_at else 0.0) for t in range(60, 190)]
    series(run, "deployment_rollbacks", rb, {"deployment": "core-api"})
    hc = [(t, max(0.0, (min(t, rollback_at or 1e9) - 72) * failures_per_s)) for t in range(60, 190)]
    series(run, "health_check_failures", hc, {"deployment": "core-api"})
    rev = [(t, 2.0 if 72 <= t < (rollback_at or 1e9) else 1.0) for t in range(60, 190)]
    series(run, "deployment_revision", rev, {"deployment": "core-api"})


def test_rollback_on_the_4th_failure_passes(tmp_path: Path) -> None:
    run = server_run(tmp_path)
    _release(run, rollback_at=76, failures_per_s=1.0)
    r = results(run, "automated_rollback")[0]
    assert r.status == Status.PASS, r.message
    assert r.value == 4 and r.details["revision_end"] == 1.0


def test_no_rollback_or_a_late_one_fails(tmp_path: Path) -> None:
    (tmp_path / "none").mkdir()
    run = server_run(tmp_path / "none")
    _release(run, rollback_at=None, failures_per_s=1.0)
    r = results(run, "automated_rollback")[0]
    assert r.status == Status.FAIL and "no rollback" in r.message
    (tmp_path / "late").mkdir()
    run = server_run(tmp_path / "late")
    _release(run, rollback_at=80, failures_per_s=1.0)  # 8 failures before the rollback
    assert results(run, "automated_rollback")[0].status == Status.FAIL


def test_recovery_time_measured_from_injection(tmp_path: Path) -> None:
    rows = (steady(10, 75, 40) + steady(75, 85, 40, status=503) + steady(85, 190, 40))
    run = server_run(tmp_path, rows)
    inject(run, "bad-release", 75)
    inject(run, "node-drain", 135)
    rec = {r.details.get("fault"): r for r in results(run, "recovery_time")}
    assert rec["bad-release"].status == Status.PASS and 9.9 <= (rec["bad-release"].value or 0) <= 10.1
    assert rec["node-drain"].status == Status.PASS and rec["node-drain"].value == 0


def test_never_recovered_and_drain_budget_fail(tmp_path: Path) -> None:
    rows = steady(10, 70, 40) + steady(70, 130, 40, status=503) + steady(130, 190, 40)
    rows.append((140.05, 30, 502, ""))
    run = server_run(tmp_path, rows)
    inject(run, "bad-release", 71)
    inject(run, "node-drain", 131)
    rec = {r.details.get("fault"): r for r in results(run, "recovery_time")}
    assert rec["bad-release"].status == Status.FAIL and rec["bad-release"].details["recovered"] is False
    assert rec["node-drain"].status == Status.FAIL and "error budget" in rec["node-drain"].message
