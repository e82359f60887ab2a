"""A season of judged runs for the unit and CLI layers of ``test_history`` (the ``runs_dir`` fixture
is registered in tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.analysis import results
from gameday.analysis.judge import judge
from gameday.analysis.run import load_run
from tests.helpers import inject, make_run, ramp, series, steady

DAY = 86400.0


T0 = 1.8e9  # 2027-01-15: every synthetic game day is a whole number of days after it


PHASES = (("warmup", 0, 10), ("baseline", 10, 70), ("fault:db-failover", 70, 100), ("cooldown", 100, 130))


REQUIRED = ["latency_p95", "throughput", "error_rate_5xx", "recovery_time", "lost_acks"]


def shifted(rows: list[tuple[float, float, int, str]], off: float) -> list[tuple[float, float, int, str]]:
    return [(t + off, lat, status, mid) for t, lat, status, mid in rows]


def game_day(d: Path, day: int, *, baseline_ms: float = 40, outage_s: float = 5, missions: float | None = 120,
             lost: bool = False, finished: bool = True, write_results: bool = True, report: bool = False) -> Path:
    """One run directory: the four phases ``day`` days after T0, a db-failover injected at +71 s with
    ``outage_s`` of 503s, missions/min in Prometheus (unless None), mission "b" lost if ``lost``, and its
    results.json from the real judge."""
    off = T0 + day * DAY
    d.mkdir(parents=True)
    rows = (steady(10, 70, baseline_ms) + steady(70, 71 + outage_s, 40, status=503) + steady(71 + outage_s, 130, 40))
    readback = {"found": {"a": "completed"}, "missing": ["b"]} if lost else \
        {"found": {"a": "completed", "b": "completed"}, "missing": []}
    make_run(d, shifted(rows, off), acks=["a", "b"], readback=readback,
             phases=tuple((n, a + off, b + off) for n, a, b in PHASES), required=REQUIRED)
    text = (d / "timeline.jsonl").read_text()
    start = json.dumps({"t": off - 5, "event": "run_started", "profile": "smoke", "target": "sandbox"})
    (d / "timeline.jsonl").write_text(start + "\n" + text)
    inject(d, "db-failover", off + 71)
    if missions is not None:
        series(d, "missions_per_min", ramp(off, off + 130, missions))
    if finished:
        with open(d / "timeline.jsonl", "a") as f:
            f.write(json.dumps({"t": off + 131, "event": "run_finished", "status": "completed"}) + "\n")
    if write_results:
        results.write(d, judge(load_run(d)), results.run_status(d))
    if report:
        (d / "report.html").write_text("<html>report</html>")
    return d


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six runs whose directory names do not sort in time order, one of them two levels down."""
    root = tmp_path_factory.mktemp("runs")
    game_day(root / "e-unjudged", 0, write_results=False)                   # GO, judged now
    game_day(root / "2027-q1" / "c-inconclusive", 1, missions=None)         # no Prometheus: INCONCLUSIVE
    game_day(root / "b-go", 2, report=True)                                 # GO, with a report
    game_day(root / "a-nogo", 3, baseline_ms=260, outage_s=20, lost=True, report=True)  # slow, a lost ack: NO-GO
    game_day(root / "d-interrupted", 4, finished=False)                     # killed before run_finished
    load = root / "g-load"
    load.mkdir()
    (load / "timeline.jsonl").write_text(
        json.dumps({"t": T0 + 5 * DAY, "event": "load_started", "phase": "load"}) + "\n"
        + json.dumps({"t": T0 + 5 * DAY + 60, "event": "load_stopped", "phase": "load"}) + "\n")
    (root / "notes").mkdir()  # not a run: no timeline.jsonl
    (root / "latest").symlink_to(root / "a-nogo")  # the same run again: listed once
    return root
