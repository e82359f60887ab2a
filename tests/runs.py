"""Running the real ``gameday`` command line against a throwaway sandbox, for the end-to-end tests.

Every such test brings its sandbox up on the scratch ports (``SCRATCH_BASE``) in a state
directory of its own, through the profile (``target.sandbox.ports.base``,
``target.sandbox_state_dir``), and takes it down afterwards whatever happened.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, SCRATCH_BASE


@contextmanager
def scratch_state(prefix: str = "gameday-test-run-") -> Iterator[Path]:
    """A sandbox state directory under /tmp (pytest's tmp dirs are 0700: Postgres runs as postgres)."""
    state = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    state.chmod(0o755)
    try:
        yield state
    finally:
        sandbox_down(state)
        shutil.rmtree(state, ignore_errors=True)


def sandbox_down(state: Path) -> None:
    subprocess.run([sys.executable, "-m", "sandbox", "--state-dir", str(state), "down"], cwd=ROOT,
                   capture_output=True, timeout=120, check=False)


def target(state: Path, base: int = SCRATCH_BASE) -> list[str]:
    """``--set`` overrides pointing a profile's sandbox at ``state`` on the scratch ports."""
    return ["--set", f"target.sandbox.ports.base={base}", "--set", f"target.sandbox_state_dir={state}"]


def gameday(*args: str, timeout: float = 400, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False, env=env)


def results(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "results.json").read_text())
    return data


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines() if line.strip()]


def wait_for_phase(run_dir: Path, phase: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tl = run_dir / "timeline.jsonl"
        if tl.exists() and f'"phase_started", "phase": "{phase}"' in tl.read_text():
            return True
        time.sleep(0.2)
    return False
