"""The cluster path of the alerting evidence: Alertmanager's URL with its credentials in the profile,
read through its v2 API by gameday.harness.alerting against a stub that refuses unauthenticated requests
(tests/stubs/alertmanager.py), then judged from the run directory alone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from gameday.analysis.judge import CHECKERS
from gameday.analysis.run import load_run
from gameday.analysis.verdict import Status
from gameday.contract import rundir
from gameday.harness.alert_config import AlertmanagerAccess
from gameday.harness.alerting import AlertWatch, finish
from gameday.harness.errors import BadInput
from gameday.harness.profile import ProfileError, load
from tests.stubs.alertmanager import AmState, StubAlert, running

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-am-token-for-tests"


def test_the_cluster_example_names_alertmanager_with_its_token_by_reference() -> None:
    p = load(ROOT / "profiles" / "cluster.example.yaml")
    am = p.target.alertmanager
    assert am is not None and am.url.startswith("https://") and am.bearer_token == "${ALERTMANAGER_TOKEN}"
    assert am.receivers_url is None  # PagerDuty and Slack have no API to read back


@pytest.mark.parametrize(("field", "value", "says"), [
    ("bearer_token", "plain-token", "expected a ${ENV_VAR} reference"),
    ("url", "alertmanager:9093", "should match pattern"),
    ("password", "${AM_PASSWORD}", "password without username"),
])
def test_a_bad_alertmanager_section_names_its_field(tmp_path: Path, field: str, value: str, says: str) -> None:
    with pytest.raises(ProfileError) as exc:
        load(ROOT / "profiles" / "cluster.example.yaml", [f"target.alertmanager.{field}={value}"])
    assert "target.alertmanager" in str(exc.value) and says in str(exc.value)


def test_an_unset_token_variable_is_bad_input_before_any_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AM_TOKEN_UNSET", raising=False)
    access = AlertmanagerAccess(url="http://127.0.0.1:1", bearer_token="${AM_TOKEN_UNSET}")
    with pytest.raises(BadInput, match="AM_TOKEN_UNSET is not set"):
        access.headers()


def _run_dir(tmp: Path, injected: float, access: AlertmanagerAccess, polls: float) -> Path:
    """A run directory whose alerting evidence the watch collects for ``polls`` seconds."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / rundir.PROFILE).write_text(yaml.safe_dump({"name": "c", "checks": {}}))
    watch = AlertWatch(access, tmp, max_s=60).start()
    time.sleep(polls)
    meta = finish(watch, tmp)
    t = injected
    events = [(t - 5, "phase_started", {"phase": "fault:db-failover"}),
              (t, "fault_injected", {"phase": "fault:db-failover", "fault": "db-failover"}),
              (t + 0.5, "fault_recovered", {"phase": "fault:db-failover", "fault": "db-failover"}),
              (time.time(), "phase_ended", {"phase": "fault:db-failover"})]
    (tmp / rundir.TIMELINE).write_text("".join(json.dumps({"t": a, "event": e, **f}) + "\n" for a, e, f in events))
    assert meta["notifications"] is None
    return tmp


def test_alerts_read_with_the_token_are_judged_from_alertmanager_alone(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTMANAGER_TOKEN", TOKEN)
    now = time.time()
    state = AmState(authorization=f"Bearer {TOKEN}",
                    alerts=[StubAlert("RDSWriterUnavailable", "P1", now + 0.6, now + 1.6, "pagerduty-sre")])
    with running(state) as (_, url):
        access = AlertmanagerAccess(url=url, bearer_token="${ALERTMANAGER_TOKEN}", poll_s=0.2)
        run = _run_dir(tmp_path, now, access, polls=2.6)
    assert state.refused == 0 and state.requests >= 10
    routes = {"checks": {"alerts": {"routes": {"P1": "pagerduty-sre"}}}}
    (run / rundir.PROFILE).write_text(yaml.safe_dump({"name": "c", **routes}))
    loaded = load_run(run)
    fired = CHECKERS["alert_fired"](loaded)[0]
    assert fired.status == Status.PASS, fired
    assert 0.5 <= (fired.value or 0) <= 0.7 and "notification times unknown" in fired.message
    assert CHECKERS["alert_routed"](loaded)[0].status == Status.PASS
    resolved = CHECKERS["alert_resolved"](loaded)[0]
    assert resolved.status == Status.PASS and "RDSWriterUnavailable resolved" in resolved.message
    assert TOKEN not in "".join(p.read_text() for p in run.rglob("*") if p.is_file())


def test_a_refused_token_leaves_every_alerting_check_inconclusive(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTMANAGER_TOKEN", "wrong")
    state = AmState(authorization=f"Bearer {TOKEN}", alerts=[StubAlert("X", "P1", time.time(), None, "pager")])
    with running(state) as (_, url):
        run = _run_dir(tmp_path, time.time(), AlertmanagerAccess(url=url, bearer_token="${ALERTMANAGER_TOKEN}",
                                                                 poll_s=0.2), polls=0.8)
    assert state.refused >= 3
    loaded = load_run(run)
    for check in ("alert_fired", "alert_routed", "alert_resolved", "no_false_page"):
        r = CHECKERS[check](loaded)[0]
        assert r.status == Status.INCONCLUSIVE and "401" in r.message, r
