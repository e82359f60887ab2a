"""The CLI starts light: importing ``gameday.harness.cli`` with every command registered (what ``gameday
--help`` does) and running ``gameday validate`` load none of the heavy libraries.

Start-up is a matter of imports, so this asserts the imports rather than a time (a timed test
fails on a busy machine and passes on a fast one whatever the code does);
``benchmarks/cli_startup.py`` measures the time itself. Each check runs in a fresh interpreter:
this process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

# what made ``gameday --help`` take seconds, and what the commands that need them import themselves
HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "jinja2", "chaoslib", "chaosaws", "chaosk8s", "locust",
         "boto3", "botocore", "kubernetes", "prometheus_api_client", "gameday.analysis.run", "gameday.analysis.judge",
         "gameday.harness.orchestrator", "gameday.harness.chaos.runner")

_REPORT = f"""
import atexit, json, sys
heavy = {HEAVY!r}
def report():
    loaded = sorted(m for m in heavy if m in sys.modules)
    sys.stderr.write("LOADED " + json.dumps(loaded) + "\\n")
atexit.register(report)
"""


def heavy_modules_loaded(code: str, root: Path = ROOT) -> list[str]:
    """Run ``code`` in a fresh interpreter in ``root``; the heavy modules it had imported at exit."""
    proc = subprocess.run([sys.executable, "-c", _REPORT + code], cwd=root, capture_output=True, text=True,
                          timeout=60, check=False)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("LOADED ")]
    assert lines, f"no report (exit {proc.returncode}): {proc.stderr[-2000:]}"
    loaded: list[str] = json.loads(lines[-1].removeprefix("LOADED "))
    return loaded


def test_import_and_register_every_command_loads_nothing_heavy() -> None:
    # the modules must exist for the check to mean anything: a typo in HEAVY would pass silently
    assert heavy_modules_loaded("import pandas, scipy.stats, gameday.analysis.run") == [
        "gameday.analysis.run", "numpy", "pandas", "scipy"]
    assert heavy_modules_loaded("import gameday.harness.cli; gameday.harness.cli._register()") == []


def test_help_loads_nothing_heavy() -> None:
    code = "import sys; sys.argv = ['gameday', '--help']; from gameday.harness.cli import main; main()"
    assert heavy_modules_loaded(code) == []


def test_validate_loads_nothing_heavy() -> None:
    code = ("import sys; sys.argv = ['gameday', 'validate', 'profiles/sandbox.yaml']; "
            "from gameday.harness.cli import main; main()")
    assert heavy_modules_loaded(code) == []
