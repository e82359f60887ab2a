"""gameday's chaos layer without a target: redaction, the SLA probes (against a Prometheus
stub), experiment checks, the allow-list, and the signal guard inside a real chaoslib run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

EXPERIMENTS = sorted((ROOT / "experiments").glob("*/*.json"))


def test_every_experiment_passes_chaos_validate() -> None:
    chaos = Path(sys.executable).parent / "chaos"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_")}
    procs = {p: subprocess.Popen([str(chaos), "--no-log-file", "validate", str(p)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for p in EXPERIMENTS}
    for path, proc in procs.items():
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{path}:\n{out}"
        assert "look valid" in out


