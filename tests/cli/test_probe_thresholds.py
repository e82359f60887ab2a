"""One source of thresholds (issue 12, item 5): the experiments' SLA probes take their
thresholds from the profile's checks, injected by the harness; no experiment file carries one; a
fault cannot set its own (exit 64, naming the field); ``gameday plan`` shows the values; an
experiment still runs alone with ``chaos run --var`` (the real Chaos Toolkit CLI, against a
Prometheus stub)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.harness.chaos import experiment as xp
from gameday.harness.chaos import sla_config
from gameday.harness.chaos.events import unmet_probes
from gameday.harness.profile import ProfileError
from gameday.harness.profile import load as load_profile
from tests.helpers import ROOT, gameday_in_process, quiet_port_base
from tests.stubs import prometheus


def _profile(tmp_path: Path, p95_ms: float = 150, ratio: float = 0.02, **fault_conf: Any) -> Path:
    raw = yaml.safe_load((ROOT / "profiles" / "smoke.yaml").read_text())
    raw["load"]["locustfile"] = str(ROOT / "loadtests" / "crew_spawn.py")
    for f in raw["faults"]:
        f["experiment"] = str(ROOT / f["experiment"].removeprefix("../"))
    raw["faults"][1]["configuration"] = {**raw["faults"][1].get("configuration", {}), **fault_conf}
    raw["checks"].update(p95_ms=p95_ms, max_5xx_ratio=ratio)
    raw["target"]["sandbox"] = {"ports": {"base": quiet_port_base()}, "scrape_interval_s": 30}  # no sandbox there
    raw["target"]["sandbox_state_dir"] = str(tmp_path / "state")
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_fault_setting_a_threshold_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    p = load_profile(_profile(tmp_path, sla_p95_ms=500))
    with pytest.raises(ProfileError, match=r"faults\.1\.configuration\.sla_p95_ms: a fault cannot set an SLA "
                                           r"threshold \(got 500\); the probes use the profile's checks\.p95_ms"):
        sla_config.refuse_thresholds(p)
    # the command line in this process: its refusals need no interpreter of their own
    code, out, err = gameday_in_process(capsys, monkeypatch, "plan", str(tmp_path / "profile.yaml"))
    assert code == 64, out + err
    assert "faults.1.configuration.sla_p95_ms" in out + err
    assert "Traceback" not in err
    (tmp_path / "b").mkdir()
    path = _profile(tmp_path / "b", sla_5xx_ratio=0.2)
    code, out, err = gameday_in_process(capsys, monkeypatch, "run", str(path), "--out", str(tmp_path / "run"))
    assert code == 64 and "faults.1.configuration.sla_5xx_ratio" in err, err
    assert not (tmp_path / "b" / "state").exists()  # refused before anything started


# ---- run alone: chaos run --var -----------------------------------------------------------------
def _alone(tmp_path: Path) -> Path:
    """The SLA part of a real experiment (its configuration and probes), with a harmless method."""
    src = xp.load(ROOT / "experiments" / "sandbox" / "node-drain.json")
    probes = [p for p in src["steady-state-hypothesis"]["probes"]
              if p["provider"]["module"] == "gameday.harness.chaosext.sla"]
    conf = {k: v for k, v in src["configuration"].items() if k.startswith("sla_") or k == "prometheus_url"}
    # the thresholds are what this checks; a probe that stays out of them re-measures for sla_settle_s
    # (45 s in the experiment) before it fails: 1 s here, as it waits the same way
    conf["sla_settle_s"] = 1
    exp = {"version": "1.0.0", "title": "SLA probes alone", "description": "test", "configuration": conf,
           "steady-state-hypothesis": {"title": "within SLA", "probes": probes},
           "method": [{"type": "probe", "name": "noop",
                       "provider": {"type": "python", "module": "os.path", "func": "isdir",
                                    "arguments": {"s": "/"}}}]}
    path = tmp_path / "alone.json"
    path.write_text(json.dumps(exp))
    return path


def _chaos(tmp_path: Path, exp: Path, url: str, *var: str) -> dict[str, Any]:
    journal = tmp_path / f"journal-{len(var)}.json"
    settings = tmp_path / "settings.yaml"
    settings.write_text("{}\n")
    subprocess.run([str(ROOT / ".venv/bin/chaos"), "--settings", str(settings), "run", "--no-validation",
                    "--rollback-strategy", "always", "--journal-path", str(journal),
                    "--var", f"prometheus_url={url}", *[x for v in var for x in ("--var", v)], str(exp)],
                   capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    data: dict[str, Any] = json.loads(journal.read_text())
    return data


def test_an_experiment_runs_alone_with_var_and_says_what_is_missing_without(tmp_path: Path) -> None:
    exp = _alone(tmp_path)
    with prometheus.running() as (state, url):
        state.p95_s = 0.170  # 170 ms: within 200, not within 150
        ok = _chaos(tmp_path, exp, url, "sla_p95_ms:float=200", "sla_5xx_ratio:float=0.05")
        before = ok["steady_states"]["before"]
        assert before["steady_state_met"] is True, before
        outputs = [p["output"] for p in before["probes"]]
        assert [o["threshold"] for o in outputs] == [200.0, 0.05]
        strict = _chaos(tmp_path, exp, url, "sla_p95_ms:float=150", "sla_5xx_ratio:float=0.05", "x=1")
        assert strict["steady_states"]["before"]["steady_state_met"] is False
        assert strict["steady_states"]["before"]["probes"][0]["output"]["value"] == 170.0
        missing = _chaos(tmp_path, exp, url)
    before = missing["steady_states"]["before"]
    assert before["steady_state_met"] is False
    why = unmet_probes(before)
    assert why[0].startswith("p95-latency-within-sla: threshold_ms is not set (configuration key sla_p95_ms)")
    assert "chaos run --var sla_p95_ms:float=200" in why[0]


