"""gameday history over synthetic game days: ordered by start time, the numbers of each results.json,
a run without results.json judged in memory (nothing written), incomplete runs kept out of the
trends, a self-contained page with relative links, bad input refused with exit 64."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import results
from analysis.judge import judge
from analysis.run import load_run
from tests.helpers import ROOT, gameday_in_process, inject, make_run, ramp, series, steady

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


def gameday(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "history", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_writes_the_index_beside_the_runs_and_exits_0(runs_dir: Path) -> None:
    done = gameday(str(runs_dir))
    assert done.returncode == 0, done.stderr
    assert (runs_dir / "index.html").is_file() and (runs_dir / "history.json").is_file()
    assert 'href="b-go/report.html"' in (runs_dir / "index.html").read_text()
    assert "6 runs, 4 charted" in done.stdout


def test_cli_refuses_bad_input_with_64_naming_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusals, in this process (the real process is test_cli_writes_the_index_...)."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "file").write_text("x")
    game_day(tmp_path / "runs" / "r1", 0)
    cases = {str(tmp_path / "missing"): "no such directory", str(tmp_path / "file"): "not a directory",
             str(tmp_path / "empty"): "no run directory"}
    for path, why in cases.items():
        code, _, err = gameday_in_process(capsys, monkeypatch, "history", path)
        assert code == 64 and path in err and why in err, (path, err)
        assert "Traceback" not in err
    code, _, err = gameday_in_process(capsys, monkeypatch, "history", str(tmp_path / "runs"),
                                      "--out", str(tmp_path / "nowhere" / "index.html"))
    assert code == 64 and "nowhere" in err
