"""The sandbox's Chaos Toolkit extension against a fake sandbox made of real HTTP servers.

The controller is not needed: three ``http.server`` threads stand in for the ingress
(base+0), the controller (base+1) and Prometheus (base+2), serve canned answers and record
every POST. That exercises what the extension owns: finding the sandbox, building URLs,
translating failures into ActivityFailed, waiting, discovery, and running under chaoslib.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.stubs.fake_sandbox import FakeSandbox, drain_experiment


def test_chaos_cli_runs_andrain_experiment(fake: FakeSandbox, cfg: dict[str, Any], tmp_path: Path) -> None:
    chaos = Path(sys.executable).with_name("chaos")
    if not chaos.exists():
        pytest.skip(f"no chaos CLI next to {sys.executable}")
    (tmp_path / "experiment.json").write_text(json.dumps(drain_experiment(cfg)))
    out = subprocess.run(
        [str(chaos), "--no-version-check", "--no-log-file", "run", "--rollback-strategy", "always",
         "--journal-path", "journal.json", "experiment.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads((tmp_path / "journal.json").read_text())["status"] == "completed"
    assert ("/nodes/node-a/drain", None) in fake.posts
