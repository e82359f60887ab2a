"""Notifications (the profile's ``notify:``): Slack-compatible webhooks and Grafana annotations.

Messages and annotations are pure functions of timeline events; delivery goes through a local
HTTP receiver (``scripts/webhook_receiver.py``, on 127.0.0.1): in order when it answers, and
never failing or stalling the run when it answers 500, refuses connections or never answers
(``notify_failed`` on the timeline instead). Secrets (webhook URLs, the Grafana token) never
reach the run directory. One real ``gameday run`` (no faults, short phases) at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.helpers import ROOT, SCRATCH_BASE, listening, target
from tests.stubs.webhook import HOOK_SECRET, SMOKE, TOKEN


# -- one real run -------------------------------------------------------------------------------------
def test_a_real_run_announces_start_phases_and_verdict(receiver: Any, tmp_path: Path) -> None:
    from tests.helpers import NO_FAULTS

    state = Path(tempfile.mkdtemp(prefix="gameday-test-notify-", dir="/tmp"))
    state.chmod(0o755)
    run_dir = tmp_path / "run"
    env = {**os.environ, "GAMEDAY_TEST_HOOK_URL": f"{receiver.url}/hook/{HOOK_SECRET}"}
    try:
        r = subprocess.run(
            [sys.executable, "-m", "gameday", "run", str(SMOKE), "--out", str(run_dir),
             *target(state, SCRATCH_BASE), *NO_FAULTS,
             "--set", 'notify.webhooks=[{url: "${GAMEDAY_TEST_HOOK_URL}"}]',
             "--set", f"notify.grafana={{url: {receiver.url}, token: {TOKEN}, dashboard_uid: gd-test}}"],
            cwd=ROOT, capture_output=True, text=True, timeout=400, check=False, env=env)
    finally:
        subprocess.run([sys.executable, "-m", "gameday.sandbox", "--state-dir", str(state), "down"], cwd=ROOT,
                       capture_output=True, timeout=120, check=False)
        shutil.rmtree(state, ignore_errors=True)
    res = json.loads((run_dir / "results.json").read_text())
    assert r.returncode == res["exit_code"] and r.returncode in (0, 1, 2), r.stderr[-2000:]
    seen = [(x["path"], x["body"]["text"].removeprefix("gameday smoke: ")) for x in receiver.requests]
    texts = [t for _, t in seen]
    assert seen[0][0] == f"/hook/{HOOK_SECRET}", seen
    assert texts[0].startswith("run started against sandbox; faults: none"), texts
    assert [t for t in texts if t.startswith("phase ")] == ["phase warmup", "phase baseline", "phase cooldown"]
    # the verdict, to both sinks, is the last thing announced, with the report's path
    last = sorted(seen[-2:])
    assert [p for p, _ in last] == ["/api/annotations", f"/hook/{HOOK_SECRET}"], seen
    assert all(f"VERDICT {res['verdict']}" in t and f"report {run_dir}/report.html" in t for _, t in last), last
    assert all(x["headers"]["Authorization"] == f"Bearer {TOKEN}" for x in receiver.requests
               if x["path"] == "/api/annotations")
    assert "notifications: " in r.stderr and " 0 failed, 0 not delivered" in r.stderr
    for f in run_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert HOOK_SECRET.encode() not in data and TOKEN.encode() not in data, f
    assert not [p for p in range(SCRATCH_BASE, SCRATCH_BASE + 200) if listening(p)]
