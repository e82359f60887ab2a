"""No secret leaks: canaries planted in the profile, in an experiment and in the environment
appear in no file of the run directory, no log of the sandbox, no report and no output.

The canaries are made to travel: the profile's secret is also a fault configuration value and a
Locust environment variable; the experiment's inline secret and an environment secret (read
through the experiment's configuration) are returned as probe outputs, which Chaos Toolkit
journals and logs. The test checks they did travel (the probes ran, the mask is in the journal)
so that their absence means redaction, not a path never taken.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import ROOT, events, gameday, scratch_state, target

CANARY_PROFILE = "canary-profile-5c1e7f3a9b"
CANARY_EXPERIMENT = "canary-experiment-8d2b6a4e0f"
CANARY_ENV = "canary-environment-3f9a1c7d5e"
CANARIES = (CANARY_PROFILE, CANARY_EXPERIMENT, CANARY_ENV)
MASK = "***REDACTED***"


def canary_experiment(tmp: Path) -> Path:
    """The Redis primary kill, with an inline secret scope and two probes that echo secrets back."""
    exp = json.loads((ROOT / "experiments/sandbox/redis-primary-kill.json").read_text())
    exp["secrets"] = {"hypercode": {"api_token": CANARY_EXPERIMENT}}
    exp["configuration"]["canary_from_env"] = {"type": "env", "key": "GAMEDAY_CANARY_TOKEN"}
    echo = [
        {"type": "probe", "name": "echo-experiment-secret",
         "provider": {"type": "python", "module": "tests.stubs.canary_probes", "func": "echo_secret",
                      "secrets": ["hypercode"], "arguments": {"name": "api_token"}}},
        {"type": "probe", "name": "echo-environment-secret",
         "provider": {"type": "python", "module": "tests.stubs.canary_probes", "func": "echo_configuration",
                      "arguments": {"key": "canary_from_env"}}},
    ]
    exp["method"] = echo + exp["method"]
    path = tmp / "redis-primary-kill-canary.json"
    path.write_text(json.dumps(exp, indent=2))
    return path


def _leaks(root: Path) -> list[str]:
    found = []
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        data = f.read_bytes()
        found += [f"{f}: {c}" for c in CANARIES if c.encode() in data]
    return found


def test_no_canary_reaches_a_file_a_log_or_the_output(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    experiment = canary_experiment(tmp_path)
    env = {**os.environ, "GAMEDAY_CANARY_TOKEN": CANARY_ENV}
    fault = (f"faults=[{{id: redis-primary-kill, experiment: {experiment}, observe_s: 3, recover_s: 60, "
             f"configuration: {{sla_window_s: 5, sla_settle_s: 10, operator_note: {CANARY_PROFILE}}}}}]")
    sets = [fault, f"secrets={{hypercode_token: {CANARY_PROFILE}}}", f"load.env={{HYPERCODE_NOTE: {CANARY_PROFILE}}}",
            "phases.warmup_s=5", "phases.baseline_s=8", "phases.cooldown_s=3", "load.users=20",
            "checks.required=[lost_acks, recovery_time]"]
    with scratch_state("gameday-test-secrets-") as state:
        r = gameday("run", "profiles/smoke.yaml", "--out", str(run_dir), *target(state),
                    *[a for s in sets for a in ("--set", s)], env=env)
        sandbox_leaks = _leaks(state)  # the sandbox's logs and configs, before it is removed
    assert r.returncode in (0, 1, 2), r.stdout[-2000:] + r.stderr[-2000:]
    # the canaries did travel: both echo probes ran and returned something that was then masked
    ran = {e["activity"]: e["status"] for e in events(run_dir) if e["event"] == "chaos_activity"}
    assert ran.get("echo-experiment-secret") == "succeeded" and ran.get("echo-environment-secret") == "succeeded", ran
    journal = json.loads((run_dir / "journals/redis-primary-kill.json").read_text())
    outputs = [a.get("output") for a in journal["run"] if a["activity"]["name"].startswith("echo-")]
    assert outputs == [MASK, MASK], outputs
    assert MASK in (run_dir / "profile.yaml").read_text()
    # ...and appear nowhere
    for name in ("results.json", "report.html", "report.md", "junit.xml", "load/locust.log"):
        assert (run_dir / name).exists(), name
    leaks = _leaks(run_dir) + sandbox_leaks
    leaks += [f"gameday's {stream}: {c}" for stream, text in (("stdout", r.stdout), ("stderr", r.stderr))
              for c in CANARIES if c in text]
    assert not leaks, "\n".join(leaks)
