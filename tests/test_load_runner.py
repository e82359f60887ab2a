"""The load runner: real Locust processes against the real sandbox, every request recorded.

Bad input is checked without a sandbox (it must fail before anything starts); the rest runs
the runner for a few seconds against the shared sandbox and compares what was written with
what Locust itself counted and what the API acknowledged.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analysis.locust_stats import read_final
from analysis.recorded import read_acks, read_requests
from tests.conftest import ROOT, Sandbox
from tests.load import lookup

LOCUSTFILE = ROOT / "loadtests" / "crew_spawn.py"


def gameday(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


def profile(tmp: Path, body: str) -> Path:
    p = tmp / "profile.yaml"
    p.write_text(textwrap.dedent(body))
    return p


def locust_count(run_dir: Path) -> int:
    final = read_final(run_dir)
    assert final is not None, "Locust wrote no final stats"
    return final.requests


def _no_locust_running(marker: str) -> bool:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return out.stdout.strip() == ""


# ---- bad input: exit 64, a message naming the problem, nothing started ------------------------

def test_missing_locustfile_is_bad_input(tmp_path: Path) -> None:
    p = profile(tmp_path, "name: t\nload: {locustfile: nowhere.py}\n")
    r = gameday("load", str(p), "--duration", "5", "--out", str(tmp_path / "run"))
    assert r.returncode == 64 and "load.locustfile" in r.stderr and "nowhere.py" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "run").exists()


def test_locustfile_without_user_class_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("X = 1\n")
    p = profile(tmp_path, f"name: t\nload: {{locustfile: {tmp_path / 'empty.py'}}}\n")
    r = gameday("load", str(p), "--duration", "5", "--out", str(tmp_path / "run"))
    assert r.returncode == 64 and "no User class" in r.stderr, r.stderr
    assert not (tmp_path / "run").exists()


def test_unreachable_host_is_bad_input(tmp_path: Path) -> None:
    p = profile(tmp_path, f"""
        name: t
        target: {{kind: external, api_url: "http://127.0.0.1:9", prometheus_url: "http://127.0.0.1:9"}}
        load: {{locustfile: {LOCUSTFILE}}}
        """)
    r = gameday("load", str(p), "--duration", "5", "--out", str(tmp_path / "run"))
    assert r.returncode == 64 and "http://127.0.0.1:9" in r.stderr and "unreachable" in r.stderr
    assert not (tmp_path / "run").exists()
    assert _no_locust_running(str(tmp_path))


@pytest.mark.parametrize("duration", ["-5", "0"])
def test_non_positive_duration_is_bad_input(tmp_path: Path, duration: str) -> None:
    p = profile(tmp_path, f"name: t\nload: {{locustfile: {LOCUSTFILE}}}\n")
    r = gameday("load", str(p), "--duration", duration, "--out", str(tmp_path / "run"))
    assert r.returncode == 64 and "duration" in r.stderr
    assert not (tmp_path / "run").exists()


# ---- against the real sandbox ------------------------------------------------------------------

def _sandbox_profile(tmp: Path, sb: Sandbox, load: str) -> Path:
    return profile(tmp, f"""
        name: loadtest
        target: {{kind: sandbox, sandbox: {{ports: {{base: {sb.base}}}}}}}
        load: {{locustfile: {LOCUSTFILE}, {load}}}
        """)


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_every_request_is_recorded(tmp_path: Path, sandbox: Sandbox, workers: int) -> None:
    p = _sandbox_profile(tmp_path, sandbox, f"users: 20, spawn_rate: 20, workers: {workers}")
    run_dir = tmp_path / "run"
    r = gameday("load", str(p), "--duration", "8", "--out", str(run_dir))
    assert r.returncode == 0, r.stderr + r.stdout
    files = sorted(run_dir.glob("requests.*.csv"))
    assert len(files) == max(1, workers)
    df = read_requests(run_dir)
    assert len(df) > 50
    assert len(df) == locust_count(run_dir)  # not one row lost, not one invented
    acks = read_acks(run_dir)
    posted = df[(df["method"] == "POST") & (df["status"] == 201)]
    assert len(acks) == len(posted) and set(acks["mission_id"]) == set(posted["mission_id"])
    found, missing = lookup(sandbox.api, list(acks["mission_id"]))
    assert not missing and len(found) == len(acks)
    assert (df["latency_ms"] > 0).all() and df["latency_ms"].map(lambda v: v != round(v)).any()
    events = [line for line in (run_dir / "timeline.jsonl").read_text().splitlines() if line]
    assert '"load_started"' in events[0] and '"load_stopped"' in events[-1]
    assert "p95" in r.stdout and "Locust p95" in r.stdout
    assert _no_locust_running(str(run_dir))


@pytest.mark.sandbox
@pytest.mark.slow
def test_open_model_keeps_its_rate_when_the_target_slows(tmp_path: Path, mutant: Sandbox) -> None:
    """Against the mutant (each crew takes > 3 s: cold agents + 250 ms), a closed model would
    crawl; the open model keeps arriving on schedule and reports latency from the intended start."""
    p = _sandbox_profile(tmp_path, mutant, "users: 0, arrival_rate_per_min: 300")
    run_dir = tmp_path / "run"
    r = gameday("load", str(p), "--duration", "10", "--out", str(run_dir))
    assert r.returncode == 0, r.stderr + r.stdout
    df = read_requests(run_dir)
    assert 35 <= len(df) <= 60, len(df)  # ~5/s for 10 s, whatever the target's speed
    assert df["t_intended"].notna().all()
    assert (df["latency_intended_ms"] >= df["latency_ms"] - 1).all()
    assert df["latency_ms"].median() > 3000
    assert "intended start" in r.stdout
