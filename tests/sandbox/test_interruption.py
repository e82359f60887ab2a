"""Stopping a run anywhere: SIGINT or SIGTERM at seeded random points, and what must follow.

Each point is a real ``gameday run --keep-up`` against one shared scratch sandbox, signalled a
random delay into a chosen phase (warm-up, baseline, each fault, cool-down; the fault under test is
put first, and a cool-down point has that one fault only, so the sweep stays short). Afterwards:
exit 3; the partial run directory is judged and rendered INTERRUPTED; every fault that started has
its rollbacks done and ok; no Locust is left; and the sandbox is healed — nodes uncordoned, one
Postgres primary with a streaming standby, one Redis primary, the good revision serving on every API
pod — before the next point starts. A last test signals ``gameday run`` while it is still bringing
the sandbox up: nothing may be left listening.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.helpers import (
    ROOT,
    SCRATCH_BASE,
    Sandbox,
    events,
    http,
    listening,
    results,
    scratch_state,
    target,
    wait_for_phase,
)

SEED = 20261128
POINTS = 10
FAULTS = ["redis-primary-kill", "node-drain", "bad-release", "db-failover"]
PHASES = ["warmup", "baseline", *(f"fault:{f}" for f in FAULTS), "cooldown"]
# how far into each phase a signal may land (s): the phase's length, or a fault's injection to recovery
MAX_DELAY = {"warmup": 5.0, "baseline": 8.0, "cooldown": 3.0, "fault:redis-primary-kill": 6.0,
             "fault:node-drain": 7.0, "fault:bad-release": 8.0, "fault:db-failover": 8.0}
SANDBOX = ["target.sandbox.timings.db_failover_detection_s=2", "target.sandbox.timings.redis_restart_delay_s=3"]
SHORT = ["phases.warmup_s=5", "phases.baseline_s=8", "phases.cooldown_s=3", "load.users=30"]


@dataclass(frozen=True)
class Point:
    phase: str
    delay_s: float
    sig: signal.Signals


def points() -> list[Point]:
    """Every phase once, then seeded random phases; seeded delays and signals."""
    rng = random.Random(SEED)
    phases = PHASES + rng.choices(PHASES, k=POINTS - len(PHASES))
    return [Point(p, round(rng.uniform(0, MAX_DELAY[p]), 2), rng.choice([signal.SIGINT, signal.SIGTERM]))
            for p in phases]


def faults_first(phase: str) -> str:
    """The profile's faults, the one under test first; a point in the cool-down gets one fault before it,
    not four: what it tests is a run stopped after its faults' rollbacks, and the other three cost ~65 s."""
    fid = phase.removeprefix("fault:") if phase.startswith("fault:") else FAULTS[0]
    order = [fid] if phase == "cooldown" else [fid, *(f for f in FAULTS if f != fid)]
    return "faults=[" + ", ".join(
        f"{{id: {f}, experiment: ../experiments/sandbox/{f}.json, observe_s: 3, recover_s: 60, "
        f"configuration: {{sla_window_s: 5, sla_settle_s: 10}}}}" for f in order) + "]"


@pytest.fixture(scope="module")
def state() -> Iterator[Path]:
    with scratch_state("gameday-test-interrupt-") as s:
        yield s


def _locusts(run_dir: Path) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cwd", "cmdline"])
            if p.info["cwd"] == str(run_dir) and "locust" in " ".join(p.info["cmdline"] or [])]


def _argv(run_dir: Path, state: Path, sets: list[str], keep_up: bool = True) -> list[str]:
    argv = [sys.executable, "-m", "gameday", "run", "profiles/smoke.yaml", "--out", str(run_dir),
            *target(state), *[a for s in sets for a in ("--set", s)]]
    return argv + (["--keep-up"] if keep_up else [])


@pytest.mark.parametrize("i", range(POINTS))
def test_interrupted_anywhere_rolls_back_and_heals(i: int, state: Path, tmp_path: Path) -> None:
    pt = points()[i]
    run_dir = tmp_path / "run"
    sb = Sandbox(state, SCRATCH_BASE)
    proc = subprocess.Popen(_argv(run_dir, state, [*SANDBOX, *SHORT, faults_first(pt.phase)]), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for_phase(run_dir, pt.phase, 180), f"never reached {pt.phase}"
        time.sleep(pt.delay_s)
        sent = time.time()
        proc.send_signal(pt.sig)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.time() - sent
    evs = events(run_dir)
    names = [e["event"] for e in evs]
    print(f"\n[point {i}] {pt.sig.name} {pt.delay_s:.2f} s into {pt.phase}: exit {proc.returncode}, "
          f"clean-up {took:.1f} s, last events {names[-6:]}")
    assert proc.returncode == 3, out[-3000:]
    assert "run_interrupted" in names and names[-1] == "run_finished", names
    started = {e["fault"] for e in evs if e["event"] == "chaos_started"}
    done = {e["fault"]: e for e in evs if e["event"] == "rollbacks_done"}
    assert started <= set(done), f"faults started {started}, rollbacks done for {set(done)}"
    assert all(d["ok"] for d in done.values()), done
    res = results(run_dir)
    assert res["status"] == "interrupted" and "INTERRUPTED" in (run_dir / "report.html").read_text()
    assert not _locusts(run_dir), "Locust left running"
    sb.wait(sb.healthy, 120, "the sandbox healed")
    st = sb.status()
    code, version = http("GET", sb.api + "/version")
    assert code == 200 and version["revision"] == st["deployments"]["core-api"]["good_revision"], (version, st)


def test_interrupted_while_the_sandbox_comes_up_leaves_nothing(tmp_path: Path) -> None:
    """SIGINT while ``sandbox up`` runs: what came up goes down, nothing listens afterwards."""
    run_dir = tmp_path / "run"
    base = SCRATCH_BASE + 200  # apart from the sweep's sandbox (pods use +100..+199)
    with scratch_state("gameday-test-interrupt-up-") as st:
        proc = subprocess.Popen(_argv(run_dir, st, [*SHORT, "faults=[]"], keep_up=False)
                                + ["--set", f"target.sandbox.ports.base={base}"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not listening(base + 10) and time.monotonic() < deadline:  # Postgres is the first to listen
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=180)
        assert proc.returncode == 3, out[-3000:]
        assert not [p for p in range(base, base + 200) if listening(p)], out[-3000:]
        assert results(run_dir)["status"] == "interrupted"
