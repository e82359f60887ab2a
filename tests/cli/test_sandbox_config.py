"""The sandbox's configuration: strict, with errors that name the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def test_unknown_knob_exits_64_and_starts_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    r = subprocess.run([sys.executable, "-m", "gameday.sandbox", "--state-dir", str(state), "up",
                        "--set", "knobs.nope=1"], cwd=ROOT, capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 64
    assert "knobs.nope" in r.stderr and "Traceback" not in r.stderr
    assert not state.exists()  # nothing written, nothing started
