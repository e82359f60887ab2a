"""Issue 14's corpus of damaged run directories: for each, ``gameday judge``'s exit code, no
traceback, which checks became INCONCLUSIVE and that the reason names the damaged file; and
``gameday history`` over all of them at once lists each and goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.corpus.damaged_runs import DAMAGES, Damage
from tests.helpers import gameday_in_process, healthy_run


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
