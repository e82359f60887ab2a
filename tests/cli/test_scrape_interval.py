"""Query ranges follow the target's scrape interval (issue 22): learned from a real HTTP answer
shaped as Prometheus gives it, every range at least four intervals, a profile's own range that
cannot hold two samples refused (exit 64, naming the field), and the judge of the bad release
honest about what a coarse scrape can and cannot tell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, gameday_in_process, left_behind, quiet_port_base, target


# ---- refusing windows that cannot hold two samples ---------------------------------------------
def _smoke(tmp_path: Path, **fault_conf: Any) -> Path:
    raw = yaml.safe_load((ROOT / "profiles" / "smoke.yaml").read_text())
    raw["load"]["locustfile"] = str(ROOT / "loadtests" / "crew_spawn.py")
    for f in raw["faults"]:
        f["experiment"] = str(ROOT / f["experiment"].removeprefix("../"))
    raw["faults"][0]["configuration"] = {**raw["faults"][0].get("configuration", {}), **fault_conf}
    path = tmp_path / "short-window.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_gameday_run_refuses_a_10s_window_at_30s_before_starting(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = _smoke(tmp_path, sla_window_s=10)
    state, base = tmp_path / "state", quiet_port_base()
    code, out, err = gameday_in_process(capsys, monkeypatch, "run", str(path), "--out", str(tmp_path / "run"),
                                        "--set", "target.sandbox.scrape_interval_s=30", *target(state, base))
    assert code == 64, out + err
    assert "faults.0.configuration.sla_window_s: 10 s cannot hold 2 samples at a 30 s scrape interval" in err
    assert "Traceback" not in err
    assert not left_behind(state, base) and not (tmp_path / "run").exists()  # nothing was started


