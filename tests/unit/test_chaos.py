"""gameday's chaos layer without a target: redaction, the SLA probes (against a Prometheus
stub), experiment checks, the allow-list, and the signal guard inside a real chaoslib run."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from gameday.harness.chaos import experiment as xp
from gameday.harness.chaos.events import SignalGuard
from gameday.harness.chaosext import sla
from gameday.harness.errors import ExperimentError, NotAllowed
from gameday.harness.profile import ClusterTarget
from gameday.harness.redact import MASK, Redactor, env_secrets
from gameday.harness.safety import allow
from tests.helpers import ROOT
from tests.stubs import prometheus

EXPERIMENTS = sorted((ROOT / "experiments").glob("*/*.json"))


# ---- redaction ---------------------------------------------------------------------------------
def test_redactor_masks_values_everywhere_and_secret_named_keys() -> None:
    r = Redactor(["hunter2-password"])
    data = {"msg": "login with hunter2-password failed", "nested": [{"x": "hunter2-password"}],
            "api_token": "not-declared-anywhere", "tokens_used": 3, "ok": True, "n": None}
    out = r(data)
    assert out["msg"] == f"login with {MASK} failed"
    assert out["nested"] == [{"x": MASK}]
    assert out["api_token"] == MASK  # by its key's name
    assert out["ok"] is True and out["n"] is None
    assert data["msg"].startswith("login with hunter2")  # the input is untouched


def test_env_secrets_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_value123")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-value")
    monkeypatch.setenv("DB_PASSWORD", "pw-value-1")
    monkeypatch.setenv("HOME_DIR_NAME", "not-secret")
    found = env_secrets()
    assert {"ghp_value123", "aws-secret-value", "pw-value-1"} <= found
    assert "not-secret" not in found


# ---- SLA probes against a Prometheus stub ------------------------------------------------------
@pytest.fixture()
def prom() -> Any:
    with prometheus.running() as (state, url):
        yield state, {"prometheus_url": url}


def test_latency_probe_passes_and_fails_on_the_threshold(prom: Any) -> None:
    state, cfg = prom
    rec = sla.latency_quantile_within(threshold_ms=200, window_s=30, configuration=cfg)
    assert rec["verdict"] == "pass" and rec["value"] == 40.0 and rec["requests"] == 1200.0
    state.p95_s = 0.35
    rec = sla.latency_quantile_within(threshold_ms=200, window_s=30, configuration=cfg)
    assert rec["verdict"] == "fail" and rec["value"] == 350.0
    assert 'route!~"/healthz|/readyz|/metrics"' in rec["query"]


def test_error_ratio_probe_counts_absent_5xx_as_zero_once_there_is_traffic(prom: Any) -> None:
    state, cfg = prom
    assert sla.error_ratio_within(threshold=0.05, configuration=cfg)["value"] == 0.0
    state.errors = 120.0
    rec = sla.error_ratio_within(threshold=0.05, configuration=cfg)
    assert rec["verdict"] == "fail" and rec["value"] == 0.1


def test_no_data_is_never_a_pass(prom: Any) -> None:
    state, cfg = prom
    state.requests = None  # the series does not exist
    with pytest.raises(ActivityFailed, match="no data"):
        sla.error_ratio_within(threshold=0.05, configuration=cfg)
    # idle is a pass only when asked for, and only if Prometheus holds the metric at all
    assert sla.error_ratio_within(threshold=0.05, idle_ok=True, configuration=cfg)["verdict"] == "pass"
    state.requests = 0.0
    assert sla.latency_quantile_within(threshold_ms=200, idle_ok=False, configuration=cfg)["verdict"] == "fail"
    with pytest.raises(ActivityFailed, match="cannot be queried"):
        sla.latency_quantile_within(threshold_ms=200, configuration={"prometheus_url": "http://127.0.0.1:1"})
    with pytest.raises(ActivityFailed, match="prometheus_url is not set"):
        sla.latency_quantile_within(threshold_ms=200, configuration={"prometheus_url": "${prometheus_url}"})


def test_settle_waits_for_the_signal_to_come_back(prom: Any) -> None:
    state, cfg = prom
    state.p95_s = 0.5
    t0 = time.monotonic()
    rec = sla.latency_quantile_within(threshold_ms=200, settle_s=0.6, interval_s=0.2, configuration=cfg)
    assert rec["verdict"] == "fail" and 0.4 <= time.monotonic() - t0 < 3


# ---- experiments -------------------------------------------------------------------------------
def test_every_experiment_validates_in_process() -> None:
    # 6 sandbox (db-failover twice, the redis-partition custom fault), 7 cluster (the FIS template custom fault)
    assert len(EXPERIMENTS) == 13, EXPERIMENTS
    for path in EXPERIMENTS:
        exp = xp.load(path)
        xp.validate(exp, path)
        assert xp.kind(exp) == path.parent.name
        ids = {a.name for a in xp.activities(exp)}
        assert "p95-latency-within-sla" in ids and "5xx-ratio-within-sla" in ids
        assert exp["rollbacks"], f"{path}: no rollbacks"


def test_mixed_and_broken_experiments_are_bad_input(tmp_path: Path) -> None:
    mixed = xp.load(ROOT / "experiments/sandbox/node-drain.json")
    mixed["method"].append(xp.load(ROOT / "experiments/cluster/node-drain.json")["method"][0])
    with pytest.raises(ExperimentError, match="both the sandbox and a cluster"):
        xp.kind(mixed)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ExperimentError, match="not valid JSON"):
        xp.load(bad)
    broken = xp.load(ROOT / "experiments/sandbox/node-drain.json")
    broken["method"][0]["provider"]["arguments"]["no_such_argument"] = 1
    with pytest.raises(ExperimentError, match="no_such_argument"):
        xp.validate(broken, bad)


# ---- allow-list --------------------------------------------------------------------------------
def _cluster(**over: Any) -> ClusterTarget:
    base: dict[str, Any] = {"kube_context": "hypercode-staging", "aws_region": "eu-west-1",
                            "aws_account_id": "123456789012", "db_instance": "hypercode-db",
                            "allow": {"kube_contexts": ["hypercode-staging"], "aws_accounts": ["123456789012"],
                                      "aws_regions": ["eu-west-1"]}}
    base.update(over)
    return ClusterTarget.model_validate(base)


def test_allow_list_refuses_with_the_field_to_change() -> None:
    allow.check_static(_cluster())
    with pytest.raises(NotAllowed, match=r"kube context 'prod-eks' is not allowed.*allow.kube_contexts lists "
                                         r"hypercode-staging"):
        allow.check_static(_cluster(kube_context="prod-eks"))
    with pytest.raises(NotAllowed, match="us-east-1"):
        allow.check_static(_cluster(aws_region="us-east-1"))
    with pytest.raises(NotAllowed, match="RDS instance 'prod-db' is outside the allow-list"):
        allow.check_static(_cluster(db_instance="prod-db"))
    with pytest.raises(NotAllowed, match="the list is empty"):
        allow.check_static(_cluster(allow={"aws_accounts": ["123456789012"], "aws_regions": ["eu-west-1"]}))
    with pytest.raises(NotAllowed, match="account 999999999999"):
        allow.check_account(_cluster(), "999999999999")
    assert NotAllowed.exit_code == 64


# ---- the signal guard inside a real chaoslib run -----------------------------------------------
def _act(name: str, func: str, **args: Any) -> dict[str, Any]:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": "tests.stubs.chaos_activities", "func": func, "arguments": args}}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_inside_an_activity_stops_the_method_and_runs_every_rollback(tmp_path: Path, signum: int) -> None:
    """chaoslib alone turns SIGTERM inside a Python activity into a failed activity and goes on
    with the method; the guard stops it and plays the rollbacks, deferring a second signal."""
    from chaoslib.experiment import run_experiment

    log = tmp_path / "log.txt"
    experiment = {
        "title": "t", "description": "d",
        "method": [_act("signal-self", "signal_self_then_sleep", log=str(log), signum=int(signum)),
                   _act("must-not-run", "append", log=str(log), text="method-continued")],
        "rollbacks": [_act("rollback-signals-again", "signal_self_then_sleep", log=str(log), signum=int(signum),
                           seconds=0.2),
                      _act("rollback-2", "append", log=str(log), text="rollback-2")],
    }
    guard = SignalGuard()
    with guard.installed():
        journal = run_experiment(experiment, settings={"runtime": {"rollbacks": {"strategy": "always"}}},
                                 event_handlers=[guard])
    lines = log.read_text().split()
    assert journal["status"] == "interrupted"
    assert "method-continued" not in lines
    assert lines.count("signalled") == 2 and "rollback-2" in lines
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded", "succeeded"]
    assert [r.during for r in guard.received] == ["method", "rollbacks"]
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, signal.default_int_handler) or callable(
        signal.getsignal(signal.SIGTERM))


def test_journal_is_json_with_datetimes_and_redacted(tmp_path: Path) -> None:
    import datetime as dt

    from gameday.harness.chaos import journal

    path = journal.write(tmp_path / "journals" / "x.json",
                         {"when": dt.datetime(2026, 1, 1), "note": "token abc-secret-1"}, Redactor(["abc-secret-1"]))
    data = json.loads(path.read_text())
    assert data == {"when": "2026-01-01 00:00:00", "note": f"token {MASK}"}
