"""``throughput`` from the growth of ``missions_completed_total`` inside the baseline
(analysis/counters.py), not from a rate series whose points reach back before the load."""

from __future__ import annotations

import math
from pathlib import Path

from gameday.analysis.judge import judge
from gameday.analysis.run import load_run
from gameday.analysis.verdict import CheckResult, Status
from tests.helpers import series, server_run

# the load starts at 0 s; SERVER_PHASES' baseline is 10-70 s


def throughput(run: Path) -> CheckResult:
    got = [r for r in judge(load_run(run)).results if r.id == "throughput"]
    assert len(got) == 1, got
    return got[0]


def counter(t: float, per_s: float, scrape_s: float = 1.0, since: float = 0.0) -> float:
    """What a counter growing ``per_s`` from ``since`` showed at ``t`` (its last scrape)."""
    last = math.floor(t / scrape_s) * scrape_s
    return max(0.0, (last - since) * per_s)


def diluted_rate(t: float, per_min: float) -> float:
    """``rate(...[1m]) * 60`` at ``t`` of a counter that began growing at 0 s."""
    return per_min * min(max(t, 0.0), 60.0) / 60.0


def pod(name: str, status: str = "completed") -> dict[str, str]:
    return {"__name__": "missions_completed_total", "pod": name, "status": status, "job": "worker"}


def test_a_baseline_shorter_than_the_rate_range_is_judged_on_the_counter(tmp_path: Path) -> None:
    run = server_run(tmp_path)
    series(run, "missions_per_min", [(float(t), diluted_rate(t, 60)) for t in range(0, 190)])
    for name in ("worker-1", "worker-2"):  # two pods, 30 missions a minute each
        series(run, "missions_completed", [(float(t), counter(t, 0.5)) for t in range(0, 190)], pod(name))
        series(run, "missions_completed", [(float(t), counter(t, 0.1)) for t in range(0, 190)], pod(name, "failed"))
    r = throughput(run)
    assert r.status == Status.PASS and r.value == 60.0, r.message  # failed missions are not throughput
    assert r.details["rate_series_median"] < 50  # what the rate series said: FAIL on a healthy target
    # without the raw counter the rate series is all there is, and it is diluted
    (run / "prometheus" / "missions_completed.csv").unlink()
    (run / "prometheus" / "missions_completed.json").unlink()
    assert throughput(run).status == Status.FAIL


def test_pods_that_restart_or_move_keep_what_they_completed(tmp_path: Path) -> None:
    run = server_run(tmp_path)
    # worker-1 restarts at 40 s (its counter starts again from 0); worker-2 is drained at 50 s and
    # worker-3 takes over from 0: 60 a minute all along
    series(run, "missions_completed", [(float(t), counter(t, 0.5) if t < 40 else counter(t, 0.5, since=40))
                                       for t in range(0, 190)], pod("worker-1"))
    series(run, "missions_completed", [(float(t), counter(t, 0.5)) for t in range(0, 51)], pod("worker-2"))
    series(run, "missions_completed", [(float(t), counter(t, 0.5, since=50)) for t in range(50, 190)],
           pod("worker-3"))
    r = throughput(run)
    assert r.status == Status.PASS and abs(r.value - 60.0) < 2, r.message


def test_a_coarse_scrape_is_timed_between_its_change_points(tmp_path: Path) -> None:
    run = server_run(tmp_path)  # a scrape every 15 s, snapshotted every second: the value moves 4 times
    series(run, "missions_completed", [(float(t), counter(t, 0.75, scrape_s=15)) for t in range(0, 190)], pod("w"))
    r = throughput(run)
    assert r.status == Status.FAIL and r.value == 45.0 and r.details["span_s"] == 45.0, r.message  # 15, 30, .., 60


def test_a_counter_that_never_grows_is_zero_not_missing(tmp_path: Path) -> None:
    run = server_run(tmp_path)
    series(run, "missions_per_min", [(float(t), 120.0) for t in range(0, 190)])  # a rate series that lies
    series(run, "missions_completed", [(float(t), 7.0) for t in range(0, 190)], pod("w"))
    r = throughput(run)
    assert r.status == Status.FAIL and r.value == 0.0, r.message


def test_damaged_label_cells_are_left_out_not_a_checker_error(tmp_path: Path) -> None:
    run = server_run(tmp_path)
    series(run, "missions_completed", [(float(t), counter(t, 1.0)) for t in range(0, 190)], pod("w"))
    with open(run / "prometheus" / "missions_completed.csv", "a") as f:
        f.write('30,5,"abc"\n31,6,"[1, 2]"\n')
    r = throughput(run)
    assert r.status == Status.PASS and r.value == 60.0, r.message
