"""Issue 14's corpus of damaged run directories: for each, ``gameday judge``'s exit code, no
traceback, which checks became INCONCLUSIVE and that the reason names the damaged file; and
``gameday history`` over all of them at once lists each and goes on.

Every case is judged and reported in full: results.json, report.md, junit.xml and report.html, with
every chart's drawing code run on the damaged run. What most cases leave out is the last step of a
chart, matplotlib's layout and PNG encoding (about 0.8 s of a judge's 1 s, the same work whatever the
damage): ``laid_out_only_where_it_counts`` (``tests.helpers.charts_drawn_not_laid_out``) makes
``Figure.tight_layout`` a no-op and ``Figure.savefig`` write a 1-pixel PNG. What a damage can break in
the charts is the code that reads the run (``CHARTS``' drawing functions and the fault shading), which
still runs for every case: an exception there still fails the case as before, and one of the types
``charts.render`` drops (ValueError, KeyError, TypeError, OverflowError: a chart left out, logged) is
dropped alike. The layout and encoding, the only place a damaged *value* on the axes could still fail,
run in full for the healthy run and for ``LAID_OUT``: the damages whose values still reach the axes
(Prometheus series the charts read themselves, request rows kept around a damaged one) or leave the
charts without an origin (an empty timeline). A damaged threshold draws no line (``Run.line``), and a
damaged file the loader rejects draws as absent evidence: both are drawing code, run for every case.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus.damaged_runs import DAMAGES, Damage
from tests.helpers import charts_drawn_not_laid_out, gameday_in_process, healthy_run

# the damages whose charts are laid out and encoded in full (module docstring)
LAID_OUT = {"prometheus-series-list", "prometheus-csv-renamed", "requests-latency-abc", "timeline-empty"}


@pytest.fixture(autouse=True)
def laid_out_only_where_it_counts(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """For a damage outside ``LAID_OUT``: every chart drawn, none laid out or encoded (module docstring)."""
    callspec = getattr(request.node, "callspec", None)
    damage = callspec.params.get("damage") if callspec is not None else None
    if isinstance(damage, Damage) and damage.name not in LAID_OUT:
        charts_drawn_not_laid_out(monkeypatch)


def test_the_laid_out_damages_are_in_the_corpus() -> None:
    assert LAID_OUT <= {d.name for d in DAMAGES}


def test_the_corpus_is_at_least_forty_named_damages() -> None:
    names = [d.name for d in DAMAGES]
    assert len(names) >= 40 and len(set(names)) == len(names)


def test_the_healthy_run_is_go(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = gameday_in_process(capsys, monkeypatch, "judge", str(healthy_run(tmp_path / "run")))
    assert code == 0, out + err
    assert "VERDICT: GO" in out


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.name for d in DAMAGES])
def test_a_damaged_run_directory(damage: Damage, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    run = healthy_run(tmp_path / damage.name)
    damage.do(run)
    code, out, err = gameday_in_process(capsys, monkeypatch, "judge", str(run))
    assert "Traceback" not in err + out
    assert code == damage.exit_code, out + err
    if damage.bad_input:
        assert damage.names in err and not (run / "results.json").is_file() or damage.names == "report.html"
        return
    results = json.loads((run / "results.json").read_text())
    by_id: dict[str, list[dict]] = {}
    for c in results["checks"]:
        by_id.setdefault(c["id"], []).append(c)
    for check in damage.inconclusive:
        assert by_id.get(check), f"{check} not answered"
        assert {c["status"] for c in by_id[check]} == {"INCONCLUSIVE"}, by_id[check]
    if damage.names:
        reasons = [c["message"] for c in results["checks"] if c["status"] == "INCONCLUSIVE"]
        assert any(damage.names in r for r in reasons), reasons
        if damage.names != "profile.yaml":  # a bad threshold is found by the check that reads it
            assert any(damage.names in r for r in (c["message"] for c in by_id.get("run_directory", [])))
    if damage.exit_code in (1, 2) or damage.names:
        assert results["verdict"] != "GO"
    # the checks the damage does not touch are still judged (not all INCONCLUSIVE)
    if damage.inconclusive and set(damage.inconclusive) != {"latency_p95", "error_rate_5xx", "lost_acks"}:
        assert any(c["status"] == "PASS" for c in results["checks"]), "nothing else was judged"
    for f in ("report.md", "junit.xml", "report.html"):
        assert (run / f).is_file()
    assert not list(run.glob(".*.tmp")), "a temporary file was left behind"


def test_history_lists_every_damaged_run_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    for d in DAMAGES:
        if not d.bad_input:
            d.do(healthy_run(runs / d.name))
    code, out, err = gameday_in_process(capsys, monkeypatch, "history", str(runs))
    assert code == 0, out + err
    assert "Traceback" not in err
    rows = json.loads((runs / "history.json").read_text())["rows"]
    assert {r["run"] for r in rows} == {d.name for d in DAMAGES if not d.bad_input}
    t1e300 = next(r for r in rows if r["run"] == "timeline-t-1e300")
    assert t1e300["started_utc"] is not None  # the damaged event is left out; the run_started time stands


def test_compare_on_damaged_input_is_bad_input_not_a_regression(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    base = healthy_run(tmp_path / "base")
    for name in ("requests-latency-abc", "timeline-t-is-text", "requests-renamed-column", "no-timeline"):
        run = healthy_run(tmp_path / name)
        next(d for d in DAMAGES if d.name == name).do(run)
        code, out, err = gameday_in_process(capsys, monkeypatch, "compare", str(base), str(run))
        assert code == 64, out + err
        assert "Traceback" not in err and str(run) in err
    code, out, err = gameday_in_process(capsys, monkeypatch, "compare", str(base), str(healthy_run(tmp_path / "again")))
    assert code == 0, out + err
