"""report.html and its charts from a synthetic run directory: self-contained, every chart drawn."""

from __future__ import annotations

import re
from pathlib import Path

from gameday.analysis.judge import judge
from gameday.analysis.render import charts, html
from gameday.analysis.run import load_run
from tests.helpers import inject, make_run, ramp, series, steady


def test_report_is_self_contained_with_every_chart(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, steady(10, 70, 40) + steady(70, 80, 40, status=503) + steady(80, 130, 40),
                       acks=["a"], readback={"found": {"a": "completed"}, "missing": []})
    inject(run_dir, "db-failover", 71)
    series(run_dir, "missions_per_min", ramp(0, 130, 120))
    series(run_dir, "latency_p95", ramp(0, 130, 0.05))
    series(run_dir, "warm_pool_size", ramp(0, 130, 200))
    run = load_run(run_dir)
    j = judge(run)
    pngs = charts.render(run)
    assert set(pngs) == set(charts.CHARTS)
    for name, data in pngs.items():
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
    html.write(run_dir, run, j, "completed", pngs)
    page = (run_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(pngs)
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched: opens offline
    assert "Checklist §7 sign-off" in page and "DB HA Config" in page and "db-failover" in page
    assert all((run_dir / "figures" / f"{n}.png").stat().st_size > 5000 for n in pngs)


def test_an_interrupted_run_has_a_banner_naming_what_is_missing(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, steady(10, 40, 40))
    run = load_run(run_dir)
    page = html.render(run, judge(run), "interrupted", charts.render(run))
    assert "This run did not complete: INTERRUPTED" in page
    assert "readback.json" in page and "prometheus" in page
