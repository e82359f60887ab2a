"""The judge over synthetic run directories: each client-side check can pass, fail, and say
INCONCLUSIVE when its evidence is missing; the verdict never turns missing data into GO."""

from __future__ import annotations

from pathlib import Path

from gameday.analysis.judge import judge
from gameday.analysis.run import load_run
from gameday.analysis.verdict import Status, Verdict
from tests.helpers import make_run, steady


def by(results: list, check: str) -> list:
    return [r for r in results if r.id == check]


def test_healthy_client_checks_pass(tmp_path: Path) -> None:
    rows = steady(10, 130, 50)
    run = load_run(make_run(tmp_path, rows, acks=["a", "b"], readback={"found": {"a": "completed", "b": "completed"},
                                                                          "missing": []}))
    j = judge(run)
    assert [r.status for r in by(j.results, "latency_p95")] == [Status.PASS, Status.PASS]
    assert all(r.status == Status.PASS for r in by(j.results, "error_rate_5xx"))
    assert by(j.results, "lost_acks")[0].status == Status.PASS
    # four checks are not judged from these files: the verdict cannot be GO
    assert j.verdict == Verdict.INCONCLUSIVE
    only = judge(load_run(make_run(tmp_path, rows, acks=["a"], readback={"found": {"a": "completed"}, "missing": []},
                                   required=["latency_p95", "error_rate_5xx", "lost_acks"])))
    assert only.verdict == Verdict.GO


def test_slow_baseline_fails_latency(tmp_path: Path) -> None:
    rows = steady(10, 70, 260) + steady(70, 130, 40)
    j = judge(load_run(make_run(tmp_path, rows, required=["latency_p95"])))
    lat = by(j.results, "latency_p95")
    assert lat[0].status == Status.FAIL and lat[0].value is not None and lat[0].value >= 260
    assert lat[1].status == Status.PASS
    assert j.verdict == Verdict.NO_GO


def test_5xx_above_the_p1_line_in_a_fault_window_fails(tmp_path: Path) -> None:
    rows = steady(10, 70, 40) + steady(70, 80, 40, status=503) + steady(80, 130, 40)
    j = judge(load_run(make_run(tmp_path, rows, required=["error_rate_5xx"])))
    fault = [r for r in by(j.results, "error_rate_5xx") if "fault:db-failover" in r.window][0]
    assert fault.status == Status.FAIL and fault.details["server_errors"] == 100
    assert j.verdict == Verdict.NO_GO


def test_connection_errors_count_as_server_errors(tmp_path: Path) -> None:
    rows = steady(10, 70, 40, status=0)
    j = judge(load_run(make_run(tmp_path, rows, required=["error_rate_5xx"])))
    assert by(j.results, "error_rate_5xx")[0].status == Status.FAIL


def test_lost_and_never_completed_acks(tmp_path: Path) -> None:
    rb = {"found": {"a": "completed", "b": "queued"}, "missing": ["c"]}
    j = judge(load_run(make_run(tmp_path, steady(10, 130, 40), acks=["a", "b", "c"], readback=rb,
                                required=["lost_acks"])))
    r = by(j.results, "lost_acks")[0]
    assert r.status == Status.FAIL and r.value == 1
    assert r.details["lost"] == ["c"] and r.details["lost_by_window"] == {"warmup": 1}
    assert r.message == "1 lost of 3 acknowledged (acknowledged in warmup: 1)"  # b: missions_stuck's


def test_missing_evidence_is_inconclusive_never_go(tmp_path: Path) -> None:
    j = judge(load_run(make_run(tmp_path, [], required=["latency_p95", "error_rate_5xx", "lost_acks"])))
    assert {r.status for r in j.results} == {Status.INCONCLUSIVE}
    assert j.verdict == Verdict.INCONCLUSIVE
    # acks but no read-back: inconclusive too
    j = judge(load_run(make_run(tmp_path, steady(10, 130, 40), acks=["a"], required=["lost_acks"])))
    assert by(j.results, "lost_acks")[0].status == Status.INCONCLUSIVE and j.verdict == Verdict.INCONCLUSIVE


def test_an_empty_directory_is_inconclusive(tmp_path: Path) -> None:
    j = judge(load_run(tmp_path))
    assert j.verdict == Verdict.INCONCLUSIVE and j.verdict.exit_code == 2
