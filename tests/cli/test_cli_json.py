"""``gameday --version`` and the ``--json`` outputs (docs/cli-json.md): each is one JSON document on
stdout with the documented keys, and the exit code is the one the text output would give.

Each command's JSON is read from a real process at least once (nothing but the document on stdout,
whatever the interpreter prints at exit); a second call of the same command (compare's regression) or
one whose process is exercised elsewhere (history: tests/cli/test_history.py) runs in this process
(``gameday_in_process``: the same ``main``, its stdout and exit code), without paying pandas' import again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tests.helpers import gameday_in_process

ROOT = Path(__file__).resolve().parents[2]
HEADER = "t_start,latency_ms,name,method,status,ok,error,mission_id,t_intended,latency_intended_ms\n"


def gameday(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)


def as_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def a_run(d: Path, scale: float, seed: int) -> Path:
    """A run directory with a profile, a timeline and 3000 recorded requests (latency x ``scale``)."""
    d.mkdir(parents=True)
    (d / "profile.yaml").write_text(yaml.safe_dump({"name": "t", "checks": {"p95_ms": 200}}))
    with open(d / "timeline.jsonl", "w") as f:
        for name, a, b in (("warmup", 0, 10), ("baseline", 10, 130)):
            f.write(json.dumps({"t": a, "event": "phase_started", "phase": name}) + "\n")
            f.write(json.dumps({"t": b, "event": "phase_ended", "phase": name}) + "\n")
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(10, 130, 3000))
    lat = rng.lognormal(3.5, 0.5, t.size) * scale
    with open(d / "requests.local-1.csv", "w") as f:
        f.write(HEADER)
        for i, (a, b) in enumerate(zip(t, lat, strict=True)):
            f.write(f"{a},{b},/v1/crews,POST,201,1,,m{seed}-{i},,\n")
    (d / "acks.local-1.csv").write_text("t_ack,mission_id,latency_ms\n")
    return d


def test_version_flag_names_the_installed_version() -> None:
    from importlib.metadata import version

    proc = gameday("--version")
    assert proc.returncode == 0 and proc.stdout == f"gameday {version('gameday')}\n"


def test_validate_json_good_and_bad(tmp_path: Path) -> None:
    good = gameday("validate", "profiles/smoke.yaml", "--json")
    doc = as_json(good)
    assert good.returncode == 0 and doc["valid"] is True and doc["errors"] == [] and doc["name"] == "smoke"
    assert set(doc) == {"profile", "valid", "errors", "name", "target", "users", "faults"}
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text("name: x\nload:\n  users: -3\n")
    bad = gameday("validate", str(bad_file), "--json")
    doc = as_json(bad)
    assert bad.returncode == 64 and doc["valid"] is False and set(doc) == {"profile", "valid", "errors"}
    assert len(doc["errors"]) == 1 and "load.users" in doc["errors"][0] and "bad.yaml" in doc["errors"][0]


def test_compare_json_keys_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    base, same, slow = a_run(tmp_path / "a", 1.0, 1), a_run(tmp_path / "b", 1.0, 2), a_run(tmp_path / "c", 1.4, 3)
    ok = gameday("compare", str(base), str(same), "--json")
    doc = as_json(ok)
    assert ok.returncode == 0 and doc["regression"] is False and doc["exit_code"] == 0
    assert set(doc) == {"baseline", "run", "regression", "exit_code", "tolerance", "metrics"}
    assert [m["metric"] for m in doc["metrics"]] == ["latency_p95", "server_errors", "acks_per_min"]
    assert all(set(m) == {"metric", "classification", "baseline", "run", "change", "detail"} for m in doc["metrics"])
    code, out, err = gameday_in_process(capsys, monkeypatch, "compare", str(base), str(slow), "--json")
    doc = json.loads(out)
    lat = doc["metrics"][0]
    assert code == 1 and doc["regression"] is True and lat["classification"] == "fail", err
    assert 0.25 < lat["change"] < 0.6
    # no acknowledgements in either run: no number, null rather than NaN (which is not JSON)
    assert doc["metrics"][2]["change"] is None


def test_history_json_is_history_json(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    a_run(runs / "r1", 1.0, 1)
    code, out, err = gameday_in_process(capsys, monkeypatch, "history", str(runs), "--json")
    doc = json.loads(out)  # one document, nothing else on stdout
    assert code == 0, err
    assert doc == json.loads((runs / "history.json").read_text())
    assert [r["run"] for r in doc["rows"]] == ["r1"]


def test_plan_json_on_the_sandbox_profile() -> None:
    proc = gameday("plan", "profiles/smoke.yaml", "--json")
    doc = as_json(proc)
    assert proc.returncode == 0, proc.stderr
    assert set(doc) == {"profile", "source", "plans", "refused"} and doc["refused"] == []
    assert [p["fault"] for p in doc["plans"]] == [f["id"] for f in yaml.safe_load(
        (ROOT / "profiles/smoke.yaml").read_text())["faults"]]


def test_schema_prints_the_committed_schema() -> None:
    proc = gameday("schema")
    assert proc.returncode == 0 and proc.stdout == (ROOT / "docs/profile.schema.json").read_text()
