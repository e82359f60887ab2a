"""The alerting checks (analysis/checks/alerts.py) over run directories built here: Alertmanager's
v2 API as polled by gameday.harness.alerting, what the receivers got, the timeline of one DB failover.

Each failing case breaks exactly one thing of a healthy run and asserts the check that sees it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from gameday.analysis.alert_evidence import parse_time
from gameday.analysis.judge import CHECKERS, judge
from gameday.analysis.run import load_run
from gameday.analysis.verdict import CheckResult, Status
from gameday.contract import rundir

T0 = 1_800_000_000.0  # the run's start
INJECT = T0 + 32.0
RECOVERED = T0 + 40.0


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Alert:
    """One alert episode as the target would show it."""

    name: str
    severity: str
    fired: float  # seconds after T0
    resolved: float | None  # seconds after T0; None: still firing at the end
    receiver: str  # Alertmanager's routing, and where the notifications go
    notify_delay: float = 1.0
    notify: bool = True
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return f"fp-{self.name}"

    def v2(self) -> dict[str, object]:
        return {"fingerprint": self.fingerprint, "labels": {"alertname": self.name, "severity": self.severity,
                                                            **self.labels},
                "startsAt": iso(T0 + self.fired), "endsAt": iso(T0 + self.fired + 240), "state": "active",
                "silencedBy": [], "inhibitedBy": [], "receivers": [self.receiver]}


def build(tmp: Path, alerts: list[Alert], *, polls: bool = True, poll_error: bool = False,
          notifications: bool = True, checks: dict[str, object] | None = None, end: float = 100.0) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / rundir.PROFILE).write_text(yaml.safe_dump({"name": "t", "checks": {"alerts": checks or {}}}))
    events = [(0, "phase_started", {"phase": "baseline"}), (30, "phase_ended", {"phase": "baseline"}),
              (30, "phase_started", {"phase": "fault:db-failover"}),
              (32, "fault_injected", {"phase": "fault:db-failover", "fault": "db-failover"}),
              (40, "fault_recovered", {"phase": "fault:db-failover", "fault": "db-failover"}),
              (70, "phase_ended", {"phase": "fault:db-failover"}),
              (70, "phase_started", {"phase": "cooldown"}), (end, "phase_ended", {"phase": "cooldown"})]
    (tmp / rundir.TIMELINE).write_text("".join(json.dumps({"t": T0 + t, "event": e, **f}) + "\n" for t, e, f in events))
    if polls:
        (tmp / rundir.ALERTING).mkdir(exist_ok=True)
        lines = []
        for s in range(int(end) + 10):
            t = T0 + s
            if poll_error:
                lines.append({"t": t, "error": "ConnectionError: refused"})
                continue
            active = [a.v2() for a in alerts if a.fired <= s and (a.resolved is None or s < a.resolved)]
            lines.append({"t": t + 0.5, "alerts": active})
        (tmp / rundir.ALERTMANAGER_POLLS).write_text("".join(json.dumps(x) + "\n" for x in lines))
    if polls and notifications:
        notes = []
        for a in alerts:
            if not a.notify:
                continue
            body = a.v2()
            notes.append({"t": T0 + a.fired + a.notify_delay, "receiver": a.receiver,
                          "payload": {"status": "firing", "alerts": [{**body, "status": "firing",
                                                                      "endsAt": "0001-01-01T00:00:00Z"}]}})
            if a.resolved is not None:
                notes.append({"t": T0 + a.resolved + a.notify_delay, "receiver": a.receiver,
                              "payload": {"status": "resolved", "alerts": [{**body, "status": "resolved",
                                                                            "endsAt": iso(T0 + a.resolved)}]}})
        notes.sort(key=lambda n: float(str(n["t"])))
        (tmp / rundir.ALERT_NOTIFICATIONS).write_text("".join(json.dumps(n) + "\n" for n in notes))
    return tmp


def healthy() -> list[Alert]:
    """The DB failover pages 3.7 s after the injection; it resolves 2 s after the recovery."""
    return [Alert("HyperCodeDatabaseDown", "P1", fired=35.7, resolved=42.0, receiver="pager")]


def results(run: Path, check: str) -> list[CheckResult]:
    return list(CHECKERS[check](load_run(run)))


def only(run: Path, check: str) -> CheckResult:
    got = results(run, check)
    assert len(got) == 1, got
    return got[0]


def test_parse_time_reads_alertmanagers_nanoseconds_and_its_zero_time() -> None:
    assert parse_time("2026-12-01T17:28:33.616520335Z") == dt.datetime(2026, 12, 1, 17, 28, 33, 616520,
                                                                       tzinfo=dt.UTC).timestamp()
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("yesterday") is None


def test_a_healthy_failover_passes_every_alerting_check_with_its_timeline(tmp_path: Path) -> None:
    run = build(tmp_path, healthy())
    fired = only(run, "alert_fired")
    assert fired.status == Status.PASS and fired.value == 3.7 and fired.threshold == 30
    assert "notified pager +4.7 s" in fired.message and "resolved +10.0 s" in fired.message
    assert fired.details["notified"] == {"pager": T0 + 36.7}
    routed = only(run, "alert_routed")
    assert routed.status == Status.PASS and "pager" in routed.message
    resolved = only(run, "alert_resolved")
    assert resolved.status == Status.PASS and resolved.value == 2.0 and resolved.threshold == 60
    page = only(run, "no_false_page")
    assert page.status == Status.PASS and "HyperCodeDatabaseDown (db-failover)" in page.message


def test_an_alert_firing_after_its_bound_fails_alert_fired(tmp_path: Path) -> None:
    late = [Alert("HyperCodeDatabaseDown", "P1", fired=70.0, resolved=80.0, receiver="pager")]  # 38 s > 30 s
    fired = only(build(tmp_path, late), "alert_fired")
    assert fired.status == Status.FAIL and fired.value == 38.0
    assert "fired 38.0 s after it" in fired.message


def test_no_alert_at_all_fails_alert_fired_and_leaves_resolution_inconclusive(tmp_path: Path) -> None:
    run = build(tmp_path, [])
    fired = only(run, "alert_fired")
    assert fired.status == Status.FAIL and fired.value is None
    assert "no alert {severity=P1} fired within 30 s" in fired.message
    assert only(run, "alert_resolved").status == Status.INCONCLUSIVE
    assert only(run, "alert_routed").status == Status.INCONCLUSIVE  # nothing was routed: not exercised


def test_fired_but_never_notified_fails_alert_fired(tmp_path: Path) -> None:
    silent = [Alert("HyperCodeDatabaseDown", "P1", fired=35.7, resolved=42.0, receiver="pager", notify=False)]
    fired = only(build(tmp_path, silent), "alert_fired")
    assert fired.status == Status.FAIL and "no receiver got it" in fired.message


def test_a_p1_routed_to_the_ops_channel_fails_alert_routed_only(tmp_path: Path) -> None:
    wrong = [Alert("HyperCodeDatabaseDown", "P1", fired=35.7, resolved=42.0, receiver="ops-channel")]
    run = build(tmp_path, wrong)
    routed = only(run, "alert_routed")
    assert routed.status == Status.FAIL
    assert "must reach pager" in routed.message and "ops-channel" in routed.message
    assert only(run, "alert_fired").status == Status.PASS
    assert only(run, "no_false_page").status == Status.PASS


def test_an_alert_firing_at_the_runs_last_poll_is_not_judged_undelivered(tmp_path: Path) -> None:
    """CI: a P2 fired at the last poll of a 70 s outage run, before Alertmanager's group_wait could
    pass, and alert_routed said "reached no receiver". Its routing by Alertmanager is what can be
    judged; the same silence 60 s before the end is a failure to deliver."""
    late = [*healthy(), Alert("HyperCodeLatencyDegraded", "P2", fired=104.0, resolved=None,
                              receiver="ops-channel", notify=False)]
    routed = {r.window: r for r in results(build(tmp_path / "late", late), "alert_routed")}
    assert routed["run HyperCodeLatencyDegraded (P2)"].status == Status.PASS, routed
    early = [*healthy(), Alert("HyperCodeLatencyDegraded", "P2", fired=50.0, resolved=None,
                               receiver="ops-channel", notify=False)]
    routed = {r.window: r for r in results(build(tmp_path / "early", early), "alert_routed")}
    bad = routed["run HyperCodeLatencyDegraded (P2)"]
    assert bad.status == Status.FAIL and "reached no receiver" in bad.message, bad


def test_an_alert_never_resolved_fails_alert_resolved(tmp_path: Path) -> None:
    stuck = [Alert("HyperCodeDatabaseDown", "P1", fired=35.7, resolved=None, receiver="pager")]
    resolved = only(build(tmp_path, stuck), "alert_resolved")
    assert resolved.status == Status.FAIL and "never resolved" in resolved.message


def test_an_alert_resolved_late_fails_alert_resolved(tmp_path: Path) -> None:
    slow = [Alert("HyperCodeDatabaseDown", "P1", fired=35.7, resolved=105.0, receiver="pager")]  # 65 s > 60 s
    resolved = only(build(tmp_path, slow, end=110), "alert_resolved")
    assert resolved.status == Status.FAIL and resolved.value == 65.0


def test_a_p1_in_the_baseline_fails_no_false_page(tmp_path: Path) -> None:
    alerts = [*healthy(), Alert("HyperCodeMutantFalsePage", "P1", fired=5.0, resolved=None, receiver="pager")]
    run = build(tmp_path, alerts)
    page = only(run, "no_false_page")
    assert page.status == Status.FAIL and page.value == 1.0
    assert "HyperCodeMutantFalsePage" in page.message and "Alertmanager" in page.message
    assert only(run, "alert_fired").status == Status.PASS


def test_a_page_after_the_fault_within_the_grace_is_the_faults(tmp_path: Path) -> None:
    alerts = [*healthy(), Alert("HyperCodeDataLossRisk", "P1", fired=95.0, resolved=None, receiver="pager")]
    assert only(build(tmp_path, alerts), "no_false_page").status == Status.PASS  # 25 s after the window
    tight = build(tmp_path / "tight", alerts, checks={"page_grace_s": 10})
    assert only(tight, "no_false_page").status == Status.FAIL


def test_without_alertmanager_every_alerting_check_is_inconclusive(tmp_path: Path) -> None:
    none = build(tmp_path / "none", healthy(), polls=False)
    down = build(tmp_path / "down", healthy(), poll_error=True)
    for check in ("alert_fired", "alert_routed", "alert_resolved", "no_false_page"):
        a, b = only(none, check), only(down, check)
        assert a.status == Status.INCONCLUSIVE and "no Alertmanager evidence" in a.message, a
        assert b.status == Status.INCONCLUSIVE and "never answered" in b.message, b


def test_without_receiver_evidence_firing_is_judged_and_the_notification_said_unknown(tmp_path: Path) -> None:
    fired = only(build(tmp_path, healthy(), notifications=False), "alert_fired")
    assert fired.status == Status.PASS and "notification times unknown" in fired.message


def test_damaged_polls_are_inconclusive_naming_file_and_line(tmp_path: Path) -> None:
    run = build(tmp_path, healthy())
    path = run / rundir.ALERTMANAGER_POLLS
    lines = path.read_text().splitlines()
    lines[3] = "{not json"
    path.write_text("\n".join(lines) + "\n")
    fired = only(run, "alert_fired")
    assert fired.status == Status.INCONCLUSIVE
    assert f"{rundir.ALERTMANAGER_POLLS} line 4: not JSON" in fired.message


def test_the_profiles_expectations_replace_the_faults_default(tmp_path: Path) -> None:
    named = {"expect": {"db-failover": [{"alertname": "HyperCodeAPIDown", "severity": "P1", "fire_within_s": 20}]}}
    fired = only(build(tmp_path, healthy(), checks=named), "alert_fired")
    assert fired.status == Status.FAIL and "alertname=HyperCodeAPIDown" in fired.message


def test_alerting_checks_are_not_required_by_default(tmp_path: Path) -> None:
    j = judge(load_run(build(tmp_path, [])))
    assert "alert_fired" not in j.required
    assert any(r.id == "alert_fired" and r.status == Status.FAIL for r in j.results)


def test_a_page_during_the_targets_bring_up_is_shown_not_judged(tmp_path: Path) -> None:
    alerts = [*healthy(), Alert("HyperCodeAPIDown", "P1", fired=2.0, resolved=8.0, receiver="pager")]
    run = build(tmp_path, alerts)
    assert only(run, "no_false_page").status == Status.FAIL  # no target_ready: every page is judged
    timeline = run / rundir.TIMELINE
    timeline.write_text(json.dumps({"t": T0 + 10, "event": "target_ready"}) + "\n" + timeline.read_text())
    page = only(run, "no_false_page")
    assert page.status == Status.PASS and "before the target was ready" in page.message
    assert page.details["before_target_ready"] == ["HyperCodeAPIDown at 08:00:02 (Alertmanager)"]


def test_a_page_firing_since_the_bring_up_and_still_in_the_baseline_is_a_false_page(tmp_path: Path) -> None:
    alerts = [*healthy(), Alert("HyperCodeMutantFalsePage", "P1", fired=2.0, resolved=None, receiver="pager")]
    run = build(tmp_path, alerts)
    timeline = run / rundir.TIMELINE
    timeline.write_text(json.dumps({"t": T0 + 10, "event": "target_ready"}) + "\n" + timeline.read_text())
    page = only(run, "no_false_page")
    assert page.status == Status.FAIL
    assert "HyperCodeMutantFalsePage at 08:00:10 (Alertmanager, firing since 08:00:02)" in page.message


def test_a_p1_pending_for_the_outage_but_never_firing_is_named_in_the_failure(tmp_path: Path) -> None:
    run = build(tmp_path, [])  # the P1 rule's for: is longer than the outage: pending, never firing
    d = run / "prometheus"
    d.mkdir()
    labels = json.dumps({"__name__": "ALERTS", "alertname": "HyperCodeDatabaseDown", "alertstate": "pending",
                         "severity": "P1"}).replace('"', '""')
    rows = "".join(f'{T0 + s:.3f},1,"{labels}"\n' for s in range(33, 38))
    (d / "alerts.csv").write_text("timestamp,value,labels\n" + rows)
    (d / "alerts.json").write_text(json.dumps({"name": "alerts", "query": "ALERTS", "step_s": 1, "error": None}))
    fired = only(run, "alert_fired")
    assert fired.status == Status.FAIL
    assert "HyperCodeDatabaseDown was pending from +1.0 s to +5.0 s (Prometheus ALERTS) and never fired" \
        in fired.message


def test_the_fault_table_and_a_chart_show_each_alerts_lifecycle(tmp_path: Path) -> None:
    from gameday.analysis.render import charts, tables

    run = build(tmp_path, healthy())  # (no requests: the table's row itself comes from recovery_time)
    assert tables._alerts(judge(load_run(run)), "db-failover") == \
        "HyperCodeDatabaseDown P1: firing +3.7, pager +4.7, resolved +10.0"
    missing = build(tmp_path / "none", [])
    said = tables._alerts(judge(load_run(missing)), "db-failover")
    assert said.startswith("FAIL: no alert") and "fired within 30 s" in said
    assert "alerts" in charts.render(load_run(run))
