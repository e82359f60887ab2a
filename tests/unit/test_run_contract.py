"""The run directory's safe writes and clean reports (issue 14): one atomic writer that never
follows a planted symlink, junit.xml valid for any message, report.md cells that stay cells.

The judges here are about which files are written and where, not about the pictures: their charts
are drawn but not laid out or encoded (``charts_drawn_not_laid_out``; figures/*.png are still written,
each a PNG, through the same writer)."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gameday.analysis.judge import Judgement
from gameday.analysis.render import junit, markdown
from gameday.analysis.run import load_run
from gameday.analysis.verdict import CheckResult, Status, Verdict
from gameday.contract.atomic import UnsafePath, write_atomic
from tests.helpers import charts_drawn_not_laid_out, gameday_in_process, healthy_run


def snapshot(d: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(d.rglob("*")) if p.is_file()}


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    p = write_atomic(tmp_path / "a.json", "one")
    write_atomic(p, b"two")
    assert p.read_bytes() == b"two" and [x.name for x in tmp_path.iterdir()] == ["a.json"]


def test_write_atomic_removes_its_temp_on_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "a.json", "x")
    assert list(tmp_path.iterdir()) == []


def test_write_atomic_never_writes_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.sh"
    victim.write_text("original\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.md").symlink_to(victim)  # at the destination: replaced, not followed
    write_atomic(run / "report.md", "new", root=run)
    assert victim.read_text() == "original\n"
    assert not (run / "report.md").is_symlink() and (run / "report.md").read_text() == "new"
    (run / "figures").symlink_to(outside, target_is_directory=True)  # a directory leaving the run
    with pytest.raises(UnsafePath):
        write_atomic(run / "figures" / "latency.png", b"png", root=run)
    assert sorted(p.name for p in outside.iterdir()) == ["victim.sh"]


PLANTED = (".report.md.tmp", ".results.json.tmp", ".report.html.tmp", ".junit.xml.tmp", ".profile.tmp",
           "report.md", "junit.xml", "results.json", "report.html", "figures/latency.png", "figures/errors.png")


def test_judge_and_report_change_nothing_outside_the_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    charts_drawn_not_laid_out(monkeypatch)
    outside = tmp_path / "outside"
    outside.mkdir()
    run = healthy_run(tmp_path / "run")
    (run / "figures").mkdir()
    for i, name in enumerate(PLANTED):
        victim = outside / f"victim-{i}.sh"
        victim.write_text("#!/bin/sh\necho untouched\n")
        (run / name).symlink_to(victim)
    before = snapshot(outside)
    for command in ("judge", "report"):
        code, out, err = gameday_in_process(capsys, monkeypatch, command, str(run))
        assert code == 0, out + err
    assert snapshot(outside) == before
    assert (run / "figures" / "latency.png").read_bytes().startswith(b"\x89PNG")


def test_a_symlinked_figures_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    charts_drawn_not_laid_out(monkeypatch)
    outside = tmp_path / "outside"
    outside.mkdir()
    run = healthy_run(tmp_path / "run")
    (run / "figures").symlink_to(outside, target_is_directory=True)
    code, out, err = gameday_in_process(capsys, monkeypatch, "report", str(run))
    assert code == 64 and "outside" in err and "Traceback" not in err
    assert list(outside.iterdir()) == []


def test_history_never_writes_through_a_symlink(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    runs = tmp_path / "runs"
    healthy_run(runs / "a")
    for name in ("index.html", "history.json", ".index.html.tmp", ".history.json.tmp"):
        (outside / name).write_text("untouched")
        (runs / name).symlink_to(outside / name)
    before = snapshot(outside)
    code, out, err = gameday_in_process(capsys, monkeypatch, "history", str(runs))
    assert code == 0, out + err
    assert snapshot(outside) == before
    assert json.loads((runs / "history.json").read_text())["rows"][0]["verdict"] == "GO"


HOSTILE = "bad\x00\x01\x08\x0b\x1b[31m\ud800 </failure>]]> | pipe\n# Injected heading\n<script>alert(1)</script>"


def _judgement() -> Judgement:
    r = CheckResult("latency_p95", Status.FAIL, 1.0, 2.0, "baseline | x\nwin", "client <b>", HOSTILE)
    return Judgement([r], ["latency_p95"], Verdict.NO_GO)


def test_junit_is_valid_xml_for_any_message() -> None:
    root = ET.fromstring(junit.render(_judgement(), "run\x07", "completed"))
    failure = root.find("testcase/failure")
    assert failure is not None and "Injected heading" in failure.get("message", "")


def test_report_md_cells_stay_cells(tmp_path: Path) -> None:
    run = load_run(healthy_run(tmp_path / "run"))
    text = markdown.render(run, _judgement(), "completed")
    assert "<script>" not in text and "</script>" not in text and "&lt;script>" in text
    assert not any(line.startswith("# Injected") for line in text.splitlines())
    row = next(line for line in text.splitlines() if line.startswith("| latency_p95"))
    assert len(re.findall(r"(?<!\\)\|", row)) == 7  # six cells, whatever the message holds


def test_results_json_follows_its_documented_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    charts_drawn_not_laid_out(monkeypatch)
    jsonschema = pytest.importorskip("jsonschema")
    from gameday.contract.rundir import RESULTS_SCHEMA_VERSION
    from tests.helpers import ROOT

    schema = json.loads((ROOT / "docs/results.schema.json").read_text())
    run = healthy_run(tmp_path / "run")
    gameday_in_process(capsys, monkeypatch, "judge", str(run))
    doc = json.loads((run / "results.json").read_text())
    jsonschema.validate(doc, schema)
    assert doc["schema_version"] == RESULTS_SCHEMA_VERSION == schema["properties"]["schema_version"]["const"]


def test_a_run_that_failed_exits_4_and_says_what_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    charts_drawn_not_laid_out(monkeypatch)
    run = healthy_run(tmp_path / "run")
    lines = (run / "timeline.jsonl").read_text().splitlines()
    lines[-1] = json.dumps({"t": 1130.5, "event": "run_failed", "reason": "TargetUnavailable: api down"})
    lines.append(json.dumps({"t": 1131.0, "event": "run_finished", "status": "failed"}))
    (run / "timeline.jsonl").write_text("\n".join(lines) + "\n")
    code, out, err = gameday_in_process(capsys, monkeypatch, "judge", str(run))
    assert code == 4, out + err
    doc = json.loads((run / "results.json").read_text())
    assert doc["status"] == "failed" and doc["failure"] == "TargetUnavailable: api down" and doc["exit_code"] == 4
    assert "could not be completed: TargetUnavailable: api down" in out
    assert "What failed: TargetUnavailable: api down" in (run / "report.md").read_text()
