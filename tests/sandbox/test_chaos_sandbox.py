"""The four sandbox experiments for real: run by gameday's runner (and one by plain
``chaos run``) against a real sandbox of their own (what they leave behind is healthy but no
longer the initial topology), each leaving it healed; an interrupted experiment
(SIGINT / SIGTERM half-way through the method) still runs its rollbacks and heals it.

Recovery times (injection until the method's recovery waits pass) are printed with ``-s``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.analysis.windows import read_timeline_file as read_timeline
from gameday.harness import profile as profile_mod
from gameday.harness.chaos.runner import run_fault
from gameday.harness.errors import NothingToTarget
from gameday.harness.timeline import Timeline
from tests.helpers import BASE, ROOT, Sandbox, sandbox_up

EXP = ROOT / "experiments" / "sandbox"
FAULTS = ("db-failover", "redis-primary-kill", "node-drain", "bad-release")
SECRET = "pg-pass-that-must-not-leak"



CHAOS_BASE = BASE + 900  # pods on +100..+199: below BASE + 1100, clear of the other test sandboxes


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """In this module, ``sandbox`` is a default sandbox of its own, up for this module only: the
    drains, failovers and interrupted releases leave it healthy but not as it started (pods
    moved, primaries swapped, revisions used), which tests of the initial topology on the shared
    sandbox must not see.

    A killed Redis primary comes back at once (``redis_restart_delay_s=0``): the sandbox must still
    hold it down until Sentinel has promoted the replica, or the fault tests no failover at all (CI
    once saw the same primary before and after with a 3 s delay on a loaded machine)."""
    yield from sandbox_up("chaos", CHAOS_BASE, ["timings.redis_restart_delay_s=0"])


def write_profile(tmp: Path, sb: Sandbox, base: int | None = None, **fault_cfg: dict[str, Any]) -> Path:
    doc = {"name": "sandbox-chaos-test",
           "target": {"kind": "sandbox", "sandbox": {"ports": {"base": base or sb.base}},
                      "sandbox_state_dir": str(sb.state_dir)},
           "load": {"locustfile": str(ROOT / "loadtests/crew_spawn.py")},
           "faults": [{"id": f, "experiment": str(EXP / f"{f}.json"), "configuration": fault_cfg.get(f, {})}
                      for f in FAULTS],
           "secrets": {"db_password": SECRET}}
    path = tmp / "profile.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _gameday(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_plan_names_every_sandbox_target(sandbox: Sandbox, tmp_path: Path) -> None:
    st = sandbox.status()
    r = _gameday("plan", str(write_profile(tmp_path, sandbox)))
    print("\n" + r.stdout)
    assert r.returncode == 0, r.stderr
    assert f"sandbox controller {sandbox.control} (up)" in r.stdout
    assert f"postgres primary               {st['db']['primary']}" in r.stdout
    assert f"redis primary                  {st['redis']['primary']}" in r.stdout
    good = st["deployments"]["core-api"]["good_revision"]
    assert f"roll core-api from revision {good} to revision" in r.stdout
    assert "drain node-" in r.stdout
    assert sandbox.status()["deployments"] == st["deployments"]  # nothing changed


def test_plan_without_a_running_sandbox_uses_the_defaults(sandbox: Sandbox, tmp_path: Path) -> None:
    r = _gameday("plan", str(write_profile(tmp_path, sandbox, base=sandbox.base + 1500)))
    assert r.returncode == 0, r.stderr
    assert "the sandbox is not up" in r.stdout and "postgres primary               db-a" in r.stdout


@pytest.mark.parametrize("fault_id", FAULTS)
def test_sandbox_experiment_via_the_runner(sandbox: Sandbox, tmp_path: Path, fault_id: str) -> None:
    sandbox.wait(sandbox.healthy, 60, "healthy before the fault")
    before = sandbox.status()
    p = profile_mod.load(write_profile(tmp_path, sandbox))
    fault = next(f for f in p.faults if f.id == fault_id)
    with Timeline(tmp_path / "run" / "timeline.jsonl") as tl:
        result = run_fault(fault, tl, tmp_path / "run", p)
    events = read_timeline(tmp_path / "run" / "timeline.jsonl")
    print(f"\n[{fault_id}] recovery {result.recovery_s} s (injection -> method's recovery waits passed), "
          f"status {result.status}, deviated {result.deviated}")
    assert result.ok, [e for e in events if e.get("status") not in (None, "succeeded")]
    assert result.recovery_s is not None and result.recovery_s < 60
    journal = json.loads(result.journal.read_text())
    assert journal["status"] == "completed" and journal["rollbacks"]
    after = sandbox.status()
    if fault_id == "db-failover":
        assert after["db"]["primary"] != before["db"]["primary"]
    if fault_id == "redis-primary-kill":
        assert after["redis"]["primary"] != before["redis"]["primary"]
    if fault_id == "bad-release":
        dep = after["deployments"]["core-api"]
        assert dep["rollbacks"] == before["deployments"]["core-api"]["rollbacks"] + 1
        assert dep["good_revision"] == before["deployments"]["core-api"]["good_revision"]
    assert SECRET not in (tmp_path / "run" / "timeline.jsonl").read_text() + result.journal.read_text()
    sandbox.wait(sandbox.healthy, 90, f"healed after {fault_id}")


def test_node_drain_under_plain_chaos_run(sandbox: Sandbox, tmp_path: Path) -> None:
    """The experiment file alone, with the chaos CLI: no gameday involved but the SLA module. The
    file carries no SLA threshold: they are passed as gameday would pass the profile's checks."""
    sandbox.wait(sandbox.healthy, 60, "healthy before the fault")
    var_file = tmp_path / "vars.json"
    var_file.write_text(json.dumps({"configuration": {"sandbox_state_dir": str(sandbox.state_dir),
                                                      "prometheus_url": sandbox.prometheus,
                                                      "drain_node": "node-b",
                                                      "sla_p95_ms": 200, "sla_5xx_ratio": 0.05}}))
    journal_path = tmp_path / "journal.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([str(Path(sys.executable).parent / "chaos"), "--no-log-file", "run",
                        "--rollback-strategy", "always", "--var-file", str(var_file), "--journal-path",
                        str(journal_path), str(EXP / "node-drain.json")],
                       cwd=tmp_path, capture_output=True, text=True, timeout=180, env=env, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    journal = json.loads(journal_path.read_text())
    assert journal["status"] == "completed" and not journal["deviated"], journal
    thresholds = {p["activity"]["name"]: p["output"]["threshold"] for p in journal["steady_states"]["before"]["probes"]
                  if p["activity"]["provider"]["module"] == "gameday.harness.chaosext.sla"}
    assert thresholds == {"p95-latency-within-sla": 200.0, "5xx-ratio-within-sla": 0.05}
    drain = journal["run"][0]
    print(f"\n[chaos run node-drain] drained {drain['output']['node']} in {drain['duration']:.2f} s, "
          f"moved {drain['output']['moved']}")
    assert drain["output"]["node"] == "node-b"
    assert journal["rollbacks"][0]["status"] == "succeeded"
    sandbox.wait(sandbox.healthy, 60, "healed after chaos run")


def test_a_fault_that_resolves_to_nothing_fails_before_injection(sandbox: Sandbox, tmp_path: Path) -> None:
    p = profile_mod.load(write_profile(tmp_path, sandbox, **{"node-drain": {"drain_node": "node-z"}}))
    fault = next(f for f in p.faults if f.id == "node-drain")
    with Timeline(tmp_path / "t.jsonl") as tl, pytest.raises(NothingToTarget, match="no such node"):
        run_fault(fault, tl, tmp_path, p)
    assert read_timeline(tmp_path / "t.jsonl") == []
    assert all(n["schedulable"] for n in sandbox.status()["nodes"])


def _wait_for_event(path: Path, event: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in read_timeline(path):
            if e["event"] == event:
                return e
        time.sleep(0.05)
    raise AssertionError(f"no {event} in {path} after {timeout} s")


@pytest.mark.parametrize("fault_id, signum, after", [("node-drain", signal.SIGINT, 1.0),
                                                     ("bad-release", signal.SIGTERM, 1.5)])
def test_an_interrupted_experiment_leaves_the_sandbox_healed(sandbox: Sandbox, tmp_path: Path, fault_id: str,
                                                             signum: int, after: float) -> None:
    sandbox.wait(sandbox.healthy, 60, "healthy before the fault")
    profile = write_profile(tmp_path, sandbox)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "gameday", "fault", str(profile), fault_id, "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        injected = _wait_for_event(out / "timeline.jsonl", "fault_injected", 60)
        time.sleep(after)  # half-way: the drain is moving pods / the bad revision is rolling
        mid = sandbox.status()
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    if fault_id == "node-drain":
        assert any(not n["schedulable"] for n in mid["nodes"]), "the signal came after the drain was over"
    else:
        assert mid["deployments"]["core-api"]["phase"] == "progressing", "the signal came after the release"
    assert proc.returncode == 3, stdout + stderr
    assert f"{signal.Signals(signum).name} during fault {fault_id}: rollbacks done" in stderr
    events = read_timeline(out / "timeline.jsonl")
    names = [e["event"] for e in events]
    assert "fault_recovered" not in names and names.index("fault_injected") < names.index("rollbacks_done")
    assert next(e for e in events if e["event"] == "rollbacks_done")["ok"] is True
    interrupted = next(e for e in events if e["event"] == "chaos_interrupted")
    assert interrupted["during"] == "method"
    journal = json.loads((out / "journals" / f"{fault_id}.json").read_text())
    assert journal["status"] == "interrupted" and all(r["status"] == "succeeded" for r in journal["rollbacks"])
    t0 = time.monotonic()
    if fault_id == "node-drain":  # the controller finishes the drain it was asked for; let it, for the next test
        sandbox.wait(lambda: [e for e in sandbox.events() if e["t"] > injected["t"]
                              and e["event"] in ("node_drained", "node_drain_failed")], 60, "the drain to end")
    sandbox.wait(sandbox.healthy, 90, f"healed after the interrupted {fault_id}")
    st = sandbox.status()
    dep = st["deployments"]["core-api"]
    print(f"\n[interrupted {fault_id}] healed {time.monotonic() - t0:.2f} s after the runner exited: nodes "
          f"{[n['schedulable'] for n in st['nodes']]}, DB primary {st['db']['primary']}, Redis primary "
          f"{st['redis']['primary']}, core-api revision {dep['revision']} (good {dep['good_revision']})")
    assert all(n["schedulable"] for n in st["nodes"])
    assert [i["role"] for i in st["db"]["instances"].values() if i["up"]].count("primary") == 1
    assert [i["role"] for i in st["redis"]["instances"].values()].count("primary") == 1
    assert dep["revision"] == dep["good_revision"] == mid["deployments"]["core-api"]["good_revision"]
    code, ver = _get(f"{sandbox.api}/version")
    assert code == 200 and ver["revision"] == dep["good_revision"]


def _get(url: str) -> tuple[int, Any]:
    from tests.helpers import http

    return http("GET", url)
