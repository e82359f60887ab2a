"""report.md and junit.xml from synthetic run directories: what CI and a reviewer see."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from gameday.analysis.judge import judge
from gameday.analysis.render import junit, markdown
from gameday.analysis.run import load_run
from tests.helpers import make_run, steady


def test_a_failed_check_is_a_junit_failure_and_missing_evidence_an_error(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path, steady(10, 70, 260) + steady(70, 130, 40), required=["latency_p95"]))
    j = judge(run)
    root = ET.fromstring(junit.render(j, "r1", "completed"))
    assert int(root.get("failures", "0")) >= 1 and int(root.get("errors", "0")) >= 1  # no acks: lost_acks unknown
    names = [c.get("name") for c in root.iter("testcase")]
    assert any(n and n.startswith("latency_p95 [baseline") for n in names)
    md = markdown.render(run, j, "completed")
    assert md.startswith("# gameday: NO-GO") and "❌ FAIL" in md and "did not complete" not in md


def test_an_interrupted_run_says_so_on_top(tmp_path: Path) -> None:
    run = load_run(make_run(tmp_path, steady(10, 130, 40), required=["latency_p95"]))
    j = judge(run)
    md = markdown.render(run, j, "interrupted")
    assert "run INTERRUPTED" in md.splitlines()[0] and "It is not a certification" in md
    root = ET.fromstring(junit.render(j, "r1", "interrupted"))
    assert any(c.get("name") == "run completed" for c in root.iter("testcase"))
