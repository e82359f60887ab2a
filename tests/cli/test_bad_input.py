"""Bad input: malformed profiles and experiments are refused with the field named, exit 64,
no traceback, and nothing started (no run directory, no sandbox): each run points its sandbox at a
state directory and ports of its own, which must stay empty and quiet (a developer's sandbox on the
default ports is none of the test's business).

A corpus of malformed profiles checked in process (the message must name the field) is
tests/unit/test_bad_input.py; here a sample of them, and broken experiments, through ``gameday run``'s
command line: in this process (the refusals need no interpreter of their own), and once as a real process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, gameday_in_process, left_behind, quiet_port_base, target

SMOKE = ROOT / "profiles" / "smoke.yaml"

# (--set override, text the error must contain)
CORPUS: list[tuple[str, str]] = [
    ("name=", "name"), ("name=has space", "name"), ("name=[1, 2]", "name"), ("bogus=1", "bogus"),
    ("target.kind=kubernetes", "target.kind"), ("target.bogus=1", "target.bogus"),
    ("target.kind=cluster", "target"), ("target.kind=external", "target"),
    ("target.cluster={kube_context: x}", "target.cluster"),
    ("target.sandbox=[1]", "target.sandbox"), ("target.sandbox_state_dir=[1]", "target.sandbox_state_dir"),
    ("load.users=-1", "load.users"), ("load.users=abc", "load.users"), ("load.users=100000", "load.users"),
    ("load.users=0", "load"), ("load.spawn_rate=0", "load.spawn_rate"), ("load.spawn_rate=-3", "load.spawn_rate"),
    ("load.workers=-1", "load.workers"), ("load.workers=1000", "load.workers"),
    ("load.arrival_rate_per_min=-5", "load.arrival_rate_per_min"), ("load.locustfile=nowhere.py", "load.locustfile"),
    ("load.env=[1]", "load.env"), ("load.env={A: [1]}", "load.env"), ("load.bogus=1", "load.bogus"),
    ("phases.warmup_s=-1", "phases.warmup_s"), ("phases.baseline_s=abc", "phases.baseline_s"),
    ("phases.cooldown_s=99999", "phases.cooldown_s"), ("phases.bogus=1", "phases.bogus"),
    ("faults=3", "faults"), ("faults=[1]", "faults.0"), ("faults=[{id: Fire}]", "faults.0.id"),
    ("faults=[{id: node-drain}]", "faults.0.experiment"),
    ("faults=[{id: node-drain, experiment: nope.json}]", "faults.0.experiment"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json, observe_s: -1}]",
     "faults.0.observe_s"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json, recover_s: 0}]",
     "faults.0.recover_s"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json, bogus: 1}]", "faults.0.bogus"),
    ("faults=[{id: node-drain, experiment: ../experiments/sandbox/node-drain.json}, "
     "{id: node-drain, experiment: ../experiments/sandbox/node-drain.json}]", "unique"),
    ("checks.p95_ms=0", "checks.p95_ms"), ("checks.p95_ms=fast", "checks.p95_ms"),
    ("checks.missions_per_min=-1", "checks.missions_per_min"), ("checks.max_5xx_ratio=2", "checks.max_5xx_ratio"),
    ("checks.recovery_s={fire: 3}", "checks.recovery_s"), ("checks.recovery_s=[1]", "checks.recovery_s"),
    ("checks.required=[speed]", "checks.required"), ("checks.promql={bogus: up}", "checks.promql"),
    ("checks.drain_error_budget=-1", "checks.drain_error_budget"),
    ("checks.rollback_on_failure=0", "checks.rollback_on_failure"), ("checks.step_s=0", "checks.step_s"),
    ("checks.bogus=1", "checks.bogus"), ("guard.abort_error_ratio=0", "guard.abort_error_ratio"),
    ("guard.abort_for_s=-1", "guard.abort_for_s"), ("guard.bogus=1", "guard.bogus"),
    ("secrets=[1]", "secrets"), ("secrets={a: [1]}", "secrets"), ("description=[1]", "description"),
]


def _run(tmp: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
         *args: str) -> tuple[int, str, list[str]]:
    """``gameday run`` in this process, its sandbox on this test's own state directory and ports:
    (exit code, stderr, what it left behind there)."""
    state, base = tmp / "sandbox-state", quiet_port_base()
    code, _, err = gameday_in_process(capsys, monkeypatch, "run", str(SMOKE), "--out", str(tmp / "run"),
                                      *target(state, base), *args)
    return code, err, left_behind(state, base)


def test_the_real_process_refuses_before_starting_anything(tmp_path: Path) -> None:
    state, base = tmp_path / "sandbox-state", quiet_port_base()
    r = subprocess.run([sys.executable, "-m", "gameday", "run", str(SMOKE), "--out", str(tmp_path / "run"),
                        *target(state, base), "--set", CORPUS[11][0]],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 64 and "Traceback" not in r.stderr and r.stderr.startswith("gameday: ")
    assert CORPUS[11][1] in r.stderr
    assert not (tmp_path / "run").exists() and not left_behind(state, base)


@pytest.mark.parametrize("override", [CORPUS[3][0], CORPUS[11][0], CORPUS[32][0], CORPUS[40][0]])
def test_gameday_run_refuses_before_starting_anything(tmp_path: Path, override: str, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    code, err, left = _run(tmp_path, capsys, monkeypatch, "--set", override)
    assert code == 64 and "Traceback" not in err and err.startswith("gameday: ")
    assert not (tmp_path / "run").exists() and not left


@pytest.mark.parametrize("breakage", ["not json", "no method", "unknown function", "bad argument"])
def test_broken_experiment_is_refused_before_starting_anything(tmp_path: Path, breakage: str,
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    exp = json.loads((ROOT / "experiments" / "sandbox" / "node-drain.json").read_text())
    path = tmp_path / "x.json"
    if breakage == "not json":
        path.write_text('{"title": "x", "method": [')
    else:
        if breakage == "no method":
            del exp["method"]
        elif breakage == "unknown function":
            exp["method"][0]["provider"]["func"] = "no_such_function"
        else:
            exp["method"][0]["provider"]["arguments"] = {"no_such_argument": 1}
        path.write_text(json.dumps(exp))
    code, err, left = _run(tmp_path, capsys, monkeypatch, "--set", f"faults=[{{id: node-drain, experiment: {path}}}]")
    assert code == 64, err
    assert str(path) in err and "Traceback" not in err
    assert not (tmp_path / "run").exists() and not left
