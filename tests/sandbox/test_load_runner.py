"""The load runner: real Locust processes against the real sandbox, every request recorded.

Bad input is checked without a sandbox (it must fail before anything starts); the rest runs
the runner for a few seconds against the shared sandbox and compares what was written with
what Locust itself counted and what the API acknowledged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.analysis.recorded import read_acks, read_requests
from tests.helpers import LOCUSTFILE, Sandbox, gameday, locust_count, lookup, no_process_matching, write_profile


def _sandbox_profile(tmp: Path, sb: Sandbox, load: str) -> Path:
    return write_profile(tmp, f"""
        name: loadtest
        target: {{kind: sandbox, sandbox: {{ports: {{base: {sb.base}}}}}}}
        load: {{locustfile: {LOCUSTFILE}, {load}}}
        """)


@pytest.mark.parametrize("workers", [0, 2])
def test_every_request_is_recorded(tmp_path: Path, sandbox: Sandbox, workers: int) -> None:
    p = _sandbox_profile(tmp_path, sandbox, f"users: 20, spawn_rate: 20, workers: {workers}")
    run_dir = tmp_path / "run"
    r = gameday("load", str(p), "--duration", "8", "--out", str(run_dir))
    assert r.returncode == 0, r.stderr + r.stdout
    files = sorted(run_dir.glob("requests.*.arrows"))
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
    assert no_process_matching(str(run_dir))


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
