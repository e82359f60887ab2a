"""Notifications (the profile's ``notify:``): Slack-compatible webhooks and Grafana annotations.

Messages and annotations are pure functions of timeline events; delivery goes through a local
HTTP receiver (``scripts/webhook_receiver.py``, on 127.0.0.1): in order when it answers, and
never failing or stalling the run when it answers 500, refuses connections or never answers
(``notify_failed`` on the timeline instead). Secrets (webhook URLs, the Grafana token) never
reach the run directory. One real ``gameday run`` (no faults, short phases) at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT, left_behind, quiet_port_base, target

SMOKE = ROOT / "profiles" / "smoke.yaml"
def test_gameday_run_refuses_an_unset_reference_before_starting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GAMEDAY_UNSET_HOOK"}
    state, base = tmp_path / "sandbox-state", quiet_port_base()  # this test's own: they must stay empty
    r = subprocess.run([sys.executable, "-m", "gameday", "run", str(SMOKE), "--out", str(tmp_path / "run"),
                        *target(state, base), "--set", 'notify.webhooks=[{url: "${GAMEDAY_UNSET_HOOK}"}]'],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=env)
    assert r.returncode == 64 and "GAMEDAY_UNSET_HOOK is not set" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists() and not left_behind(state, base)


