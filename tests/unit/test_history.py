"""gameday history over synthetic game days: ordered by start time, the numbers of each results.json,
a run without results.json judged in memory (nothing written), incomplete runs kept out of the
trends, a self-contained page with relative links, bad input refused with exit 64."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest

from gameday.analysis import history
from gameday.analysis.judge import judge
from gameday.analysis.render import history as page
from gameday.analysis.run import load_run


def rows_json(runs: Path, out: Path) -> list[dict[str, Any]]:
    rows = history.collect(runs, out.parent)
    page.write(out, rows, runs)
    data: list[dict[str, Any]] = json.loads((out.parent / "history.json").read_text())["rows"]
    return data


def test_runs_are_found_two_levels_deep_and_ordered_by_start_time(runs_dir: Path) -> None:
    found = [p.relative_to(runs_dir).as_posix() for p in history.find_runs(runs_dir)]
    assert found == ["2027-q1/c-inconclusive", "a-nogo", "b-go", "d-interrupted", "e-unjudged", "g-load"]
    rows = history.collect(runs_dir)
    assert [r.run for r in rows] == ["e-unjudged", "c-inconclusive", "b-go", "a-nogo", "d-interrupted", "g-load"]
    assert [r.started_utc for r in rows][:2] == ["2027-01-15T07:59:55Z", "2027-01-16T07:59:55Z"]  # run_started
    # the interrupted run's checks pass as far as they go: its GO is listed, with its status, and not charted
    assert [r.verdict for r in rows] == ["GO", "INCONCLUSIVE", "GO", "NO-GO", "GO", None]


def test_history_json_holds_each_runs_results_json(runs_dir: Path, tmp_path: Path) -> None:
    rows = {r["run"]: r for r in rows_json(runs_dir, tmp_path / "index.html")}
    for name in ("c-inconclusive", "b-go", "a-nogo", "d-interrupted"):
        (run_dir,) = runs_dir.rglob(name)
        res = json.loads((run_dir / "results.json").read_text())
        row = rows[name]
        checks = res["checks"]
        base = {c["id"]: c for c in checks if c["window"].startswith("baseline")}
        rec = next(c for c in checks if c["id"] == "recovery_time")
        lost = next(c for c in checks if c["id"] == "lost_acks")
        assert row["source"] == "results.json"
        assert (row["verdict"], row["status"], row["exit_code"]) == (res["verdict"], res["status"], res["exit_code"])
        assert row["p95_baseline_ms"] == base["latency_p95"]["value"] and row["p95_threshold_ms"] == 200
        assert row["missions_per_min"] == base["throughput"]["value"]
        assert row["recovery"] == {"db-failover": {"seconds": rec["value"], "bound": rec["threshold"],
                                                   "status": rec["status"]}}
        assert row["lost_acks"] == lost["value"] == (1 if name == "a-nogo" else 0)
        assert row["failed_checks"] == sum(c["status"] == "FAIL" for c in checks)
        assert row["inconclusive_checks"] == sum(c["status"] == "INCONCLUSIVE" for c in checks)
    # the numbers differ between runs: a row cannot have been read from the wrong directory
    assert rows["a-nogo"]["p95_baseline_ms"] > 200 > rows["b-go"]["p95_baseline_ms"]
    assert rows["a-nogo"]["recovery"]["db-failover"]["seconds"] > rows["b-go"]["recovery"]["db-failover"]["seconds"]
    assert rows["c-inconclusive"]["missions_per_min"] is None and rows["b-go"]["missions_per_min"] == 120
    assert rows["d-interrupted"]["exit_code"] == 3 and rows["d-interrupted"]["status"] == "interrupted"


def test_a_run_without_results_json_is_judged_in_memory_and_left_untouched(runs_dir: Path, tmp_path: Path) -> None:
    d = runs_dir / "e-unjudged"
    before = {p.name: p.stat().st_mtime_ns for p in d.rglob("*")}
    row = {r["run"]: r for r in rows_json(runs_dir, tmp_path / "index.html")}["e-unjudged"]
    assert {p.name: p.stat().st_mtime_ns for p in d.rglob("*")} == before  # nothing written into it
    j = judge(load_run(d))
    assert row["source"] == "judged now" and row["verdict"] == j.verdict.value == "GO"
    assert row["p95_baseline_ms"] == next(r.value for r in j.results if r.id == "latency_p95")
    assert row["in_trends"] is True


def test_a_run_the_judge_cannot_load_is_listed_as_not_judged(runs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_: Path) -> None:
        raise ValueError("torn CSV")

    monkeypatch.setattr(history, "load_run", broken)
    row = next(r for r in history.collect(runs_dir) if r.run == "e-unjudged")
    assert row.source == "not judged" and row.verdict is None and "torn CSV" in row.note and not row.in_trends


def test_only_completed_certification_runs_feed_the_trends(runs_dir: Path) -> None:
    rows = history.collect(runs_dir)
    assert [r.run for r in rows if r.in_trends] == ["e-unjudged", "c-inconclusive", "b-go", "a-nogo"]
    load = rows[-1]
    assert (load.kind, load.status, load.source) == ("load", "completed", "not judged")
    fig, ax = plt.subplots()
    try:
        page.p95(ax, rows)
        lines = {ln.get_label(): list(ln.get_ydata()) for ln in ax.get_lines()}  # type: ignore[arg-type]
    finally:
        plt.close(fig)
    assert lines["p95 (client, exact)"] == [r.p95_baseline_ms for r in rows if r.in_trends]  # not d-interrupted
    assert lines["threshold"] == [200.0, 200.0]


def test_recovery_chart_has_one_line_per_fault_with_its_bound(runs_dir: Path) -> None:
    rows = history.collect(runs_dir)
    fig, ax = plt.subplots()
    try:
        page.recovery(ax, rows)
        labels = [ln.get_label() for ln in ax.get_lines()]
        got = next(ln for ln in ax.get_lines() if ln.get_label() == "db-failover")
        values = list(got.get_ydata())  # type: ignore[arg-type]
    finally:
        plt.close(fig)
    assert labels == ["db-failover", "db-failover bound"]
    assert values == [r.recovery["db-failover"].seconds for r in rows if r.in_trends]


def test_the_page_is_self_contained_with_every_chart_and_relative_links(runs_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "site" / "history.html"
    out.parent.mkdir()
    rows_json(runs_dir, out)
    html = out.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched: opens offline
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(pngs) == len(page.CHARTS)
    links = re.findall(r'href="([^"]+)"', html)
    up = os.path.relpath(runs_dir, out.parent)
    assert up.startswith("..") and sorted(links) == [f"{up}/a-nogo/report.html", f"{up}/b-go/report.html"]
    assert all((out.parent / link).is_file() for link in links)  # they resolve from where the page is
    for verdict in ("GO", "NO-GO", "INCONCLUSIVE"):
        assert f'class="verdict {verdict}"' in html
    assert "not judged" in html and "interrupted" in html


def test_charts_are_pngs_with_data(runs_dir: Path) -> None:
    full = page.charts(history.collect(runs_dir))
    empty = page.charts([])
    assert set(full) == set(page.CHARTS)
    for name, data in full.items():
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
        assert data != empty[name], name  # the data is drawn, not only "no data"


