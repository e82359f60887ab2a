"""Notifications (the profile's ``notify:``): Slack-compatible webhooks and Grafana annotations.

Messages and annotations are pure functions of timeline events; delivery goes through a local
HTTP receiver (``scripts/webhook_receiver.py``, on 127.0.0.1): in order when it answers, and
never failing or stalling the run when it answers 500, refuses connections or never answers
(``notify_failed`` on the timeline instead). Secrets (webhook URLs, the Grafana token) never
reach the run directory. One real ``gameday run`` (no faults, short phases) at the end.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from gameday.harness import profile as profile_mod
from gameday.harness.errors import BadInput, TargetUnavailable
from gameday.harness.notify import Notifier, messages
from gameday.harness.notify.grafana import Annotator
from gameday.harness.profile import Profile
from gameday.harness.timeline import Timeline
from tests.stubs import refusing_port
from tests.stubs.webhook import HOOK_SECRET, RECEIVER, SMOKE, TOKEN


def make_profile(notify: dict[str, Any], **extra: Any) -> Profile:
    return Profile.model_validate({"name": "unit", "notify": notify, **extra})


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines()]


# a run as the timeline records it (times in unix seconds)
RUN = [
    {"t": 100.0, "event": "run_started", "profile": "unit", "target": "sandbox", "faults": ["db-failover"]},
    {"t": 101.0, "event": "phase_started", "phase": "warmup", "planned_s": 10.0},
    {"t": 111.0, "event": "phase_ended", "phase": "warmup"},
    {"t": 111.5, "event": "phase_started", "phase": "fault:db-failover"},
    {"t": 112.0, "event": "chaos_activity", "phase": "fault:db-failover", "fault": "db-failover"},
    {"t": 112.25, "event": "fault_injected", "phase": "fault:db-failover", "fault": "db-failover",
     "action": "fail-db-primary"},
    {"t": 118.125, "event": "fault_recovered", "phase": "fault:db-failover", "fault": "db-failover",
     "action": "fail-db-primary", "injected_t": 112.25, "recovery_s": 5.875},
    {"t": 120.0, "event": "chaos_done", "phase": "fault:db-failover", "fault": "db-failover", "status": "completed",
     "ok": True, "recovery_s": 5.875, "rollbacks_ok": True},
    {"t": 125.0, "event": "phase_ended", "phase": "fault:db-failover", "ok": True, "recovery_s": 5.875},
    {"t": 125.5, "event": "phase_started", "phase": "cooldown", "planned_s": 10.0},
    {"t": 130.0, "event": "run_interrupted", "reason": "interrupted (SIGINT/SIGTERM)"},
    {"t": 131.0, "event": "run_finished", "status": "interrupted"},
]
RESULTS = {"status": "completed", "verdict": "NO-GO",
           "checks": [{"id": "latency_p95", "status": "PASS"}, {"id": "lost_acks", "status": "FAIL"}]}


# -- pure: messages and annotations -------------------------------------------------------------
def test_messages_are_pure_functions_of_events() -> None:
    ctx = messages.Context("unit", Path("/runs/r1"), "https://ci.example/artifacts/{run}/{profile}/report.html")
    out = [messages.for_event(e, ctx) for e in RUN]
    named = [(m[0], m[1]["text"]) for m in out if m is not None]
    assert [n for n, _ in named] == ["run_started", "fault_started", "fault_ended", "run_interrupted"]
    texts = dict(named)
    assert texts["run_started"] == ("gameday unit: run started against sandbox; faults: db-failover; "
                                    "run directory /runs/r1")
    assert "db-failover injected (fail-db-primary)" in texts["fault_started"]
    assert "recovered in 5.9 s, rollbacks ok" in texts["fault_ended"]
    assert "INTERRUPTED: interrupted (SIGINT/SIGTERM)" in texts["run_interrupted"]
    bad = messages.for_event({"event": "chaos_done", "fault": "x", "status": "failed", "ok": False,
                              "recovery_s": None, "rollbacks_ok": False}, ctx)
    assert bad is not None and "NOT recovered, rollbacks FAILED" in bad[1]["text"]
    assert bad[1]["attachments"][0]["color"] == "danger"
    aborted = messages.for_event({"event": "run_aborted", "reason": "error ratio 0.9 for 30 s"}, ctx)
    assert aborted is not None and aborted[0] == "run_aborted"
    assert "ABORTED by the guard: error ratio" in aborted[1]["text"]
    v = messages.verdict(RESULTS, ctx)
    assert v["text"] == ("gameday unit: VERDICT NO-GO: 1/2 checks PASS; lost_acks FAIL; report /runs/r1/report.html "
                         "(https://ci.example/artifacts/r1/unit/report.html)")
    assert v["attachments"][0]["color"] == "danger"
    cut = messages.verdict({**RESULTS, "status": "interrupted"}, ctx)["text"]
    assert "VERDICT INTERRUPTED (not a verdict: the checks judged so far say NO-GO)" in cut
    assert "VERDICT NO-GO" not in cut
    assert "results.json could not be read" in messages.verdict(None, ctx)["text"]
    assert messages.for_event({"event": "notify_failed"}, ctx) is None
    assert out == [messages.for_event(e, ctx) for e in RUN]  # no hidden state


def test_annotations_are_regions_per_phase_and_fault_in_ms() -> None:
    a = Annotator("unit", ["gameday", "unit"], "dash-1")
    got = [x for e in RUN for x in a.feed(e)]
    by_text = {x["text"]: x for x in got}
    warm = by_text["gameday unit: phase warmup"]
    assert (warm["time"], warm["timeEnd"], warm["tags"]) == (101000, 111000, ["gameday", "unit", "phase", "warmup"])
    assert warm["dashboardUID"] == "dash-1"
    fault = by_text["gameday unit: fault db-failover (fail-db-primary): recovered in 5.9 s"]
    assert (fault["time"], fault["timeEnd"]) == (112250, 118125)
    assert fault["tags"] == ["gameday", "unit", "fault", "db-failover"]
    assert by_text["gameday unit: phase fault:db-failover ok"]["timeEnd"] == 125000
    # the interruption closes the cool-down where it happened, and is a point of its own
    cool = by_text["gameday unit: phase cooldown (run interrupted)"]
    assert (cool["time"], cool["timeEnd"]) == (125500, 130000)
    point = by_text["gameday unit: run INTERRUPTED: interrupted (SIGINT/SIGTERM)"]
    assert point["time"] == 130000 and "timeEnd" not in point
    assert len(got) == 5  # warmup, fault, fault phase, cooldown, interruption; nothing left open at run_finished
    v = a.verdict(RESULTS, 140.0, "/runs/r1/report.html")
    assert v == {"time": 140000, "tags": ["gameday", "unit", "verdict", "NO-GO"], "dashboardUID": "dash-1",
                 "text": "gameday unit: VERDICT NO-GO; report /runs/r1/report.html"}


# -- the profile section: bad input is exit 64 ----------------------------------------------------
@pytest.mark.parametrize(("override", "needle"), [
    ("notify.webhooks=[{url: ftp://hooks.example/x}]", "notify.webhooks.0.url"),
    ("notify.webhooks=[{url: hooks.slack.com/services/x}]", "notify.webhooks.0.url"),
    ('notify.webhooks=[{url: "https://x/${BAD-NAME}"}]', "notify.webhooks.0.url"),
    ("notify.webhooks=[{url: https://x, timeout_s: -1}]", "notify.webhooks.0.timeout_s"),
    ("notify.webhooks=[{url: https://x, timeout_s: 0}]", "notify.webhooks.0.timeout_s"),
    ("notify.webhooks=[{url: https://x, events: [fault_begins]}]", "notify.webhooks.0.events.0"),
    ("notify.webhooks=[{url: https://x, bogus: 1}]", "notify.webhooks.0.bogus"),
    ("notify.webhooks=https://x", "notify.webhooks"),
    ("notify.grafana={url: https://g}", "notify.grafana.token"),
    ("notify.grafana={url: grafana, token: t}", "notify.grafana.url"),
    ("notify.grafana={url: https://g, token: t, tags: nope}", "notify.grafana.tags"),
    ("notify.grafana={url: https://g, token: t, timeout_s: -2}", "notify.grafana.timeout_s"),
    ("notify.report_url=https://ci/{run}/{nope}", "notify.report_url"),
    ("notify.report_url=file:///tmp/{run}", "notify.report_url"),
    ("notify.flush_s=-1", "notify.flush_s"), ("notify.bogus=1", "notify.bogus"),
])
def test_bad_notify_section_names_the_field(override: str, needle: str) -> None:
    with pytest.raises(BadInput) as exc:
        profile_mod.load(SMOKE, [override])
    assert needle in str(exc.value) and exc.value.exit_code == 64, str(exc.value)


def test_env_references_resolve_at_run_start_or_are_bad_input() -> None:
    p = make_profile({"webhooks": [{"url": "${HOOK_URL}"}], "grafana": {"url": "https://g", "token": "${G_TOKEN}"}})
    with pytest.raises(BadInput, match=r"notify.webhooks.0.url: environment variable HOOK_URL is not set"):
        Notifier.for_profile(p, {"G_TOKEN": TOKEN})
    with pytest.raises(BadInput, match=r"notify.webhooks.0.url: resolves to something that is not an http"):
        Notifier.for_profile(p, {"HOOK_URL": "hooks.example/x", "G_TOKEN": TOKEN})
    with pytest.raises(BadInput, match=r"notify.grafana.token: environment variable G_TOKEN"):
        Notifier.for_profile(p, {"HOOK_URL": "https://hooks.example/x"})
    assert Notifier.for_profile(p, {"HOOK_URL": "https://hooks.example/x", "G_TOKEN": TOKEN}).enabled
    assert not Notifier.for_profile(make_profile({})).enabled


def test_secrets_are_masked_in_the_resolved_profile_and_known_to_the_redactor() -> None:
    literal = f"https://hooks.slack.example/services/{HOOK_SECRET}"
    p = make_profile({"webhooks": [{"url": literal}, {"url": "https://hooks.example/${HOOK_PATH}"}],
                      "grafana": {"url": "https://grafana.example", "token": TOKEN}})
    dumped = json.dumps(p.model_dump(mode="json"))
    assert HOOK_SECRET not in dumped and TOKEN not in dumped
    assert "https://hooks.example/${HOOK_PATH}" in dumped and "https://grafana.example" in dumped
    secrets = p.notify.secret_values({"HOOK_PATH": "T1/B2/zzzz"})
    assert {literal, TOKEN, "https://hooks.example/T1/B2/zzzz", "T1/B2/zzzz"} <= secrets


# -- the timeline's listener hook ------------------------------------------------------------------
def test_a_faulty_listener_never_breaks_the_timeline(tmp_path: Path) -> None:
    seen: list[str] = []

    def broken(e: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    with Timeline(tmp_path / "timeline.jsonl", listeners=[broken, lambda e: seen.append(e["event"])]) as tl:
        rec = tl.append("run_started", profile="unit")
    assert rec["event"] == "run_started" and seen == ["run_started"]
    assert events(tmp_path)[0]["event"] == "run_started"


# -- delivery ---------------------------------------------------------------------------------------
def _notifier(notify: dict[str, Any], run_dir: Path, said: list[str] | None = None) -> Notifier:
    n = Notifier.for_profile(make_profile(notify), {})
    n.start(run_dir, (said if said is not None else []).append)
    return n


def _play(n: Notifier, run_dir: Path, evs: list[dict[str, Any]]) -> float:
    """The events through a real timeline with the notifier listening; the longest append, in seconds."""
    worst = 0.0
    with Timeline(run_dir / "timeline.jsonl", listeners=[n.on_event]) as tl:
        for e in evs:
            fields = {k: v for k, v in e.items() if k not in ("t", "event")}
            t0 = time.monotonic()
            tl.append(e["event"], **fields)
            worst = max(worst, time.monotonic() - t0)
    return worst


def test_delivers_webhooks_and_annotations_in_order(receiver: Any, tmp_path: Path) -> None:
    n = _notifier({"webhooks": [{"url": f"{receiver.url}/hook/{HOOK_SECRET}"}],
                   "grafana": {"url": receiver.url + "/", "token": TOKEN, "dashboard_uid": "dash-1"},
                   "report_url": "https://ci.example/{run}/report.html"}, tmp_path)
    _play(n, tmp_path, RUN)
    (tmp_path / "results.json").write_text(json.dumps(RESULTS))
    n.verdict()
    summary = n.close()
    assert summary == {"sent": 11, "failed": 0, "undelivered": 0}, summary
    hooks = [r for r in receiver.requests if r["path"].startswith("/hook/")]
    grafana = [r for r in receiver.requests if r["path"] == "/api/annotations"]
    assert [r["body"]["text"].split(": ")[1].split(" ")[0:2] for r in hooks] == [
        ["run", "started"], ["fault", "db-failover"], ["fault", "db-failover"], ["run", "INTERRUPTED"],
        ["VERDICT", "NO-GO"]]
    assert hooks[-1]["body"]["text"].endswith(f"report {tmp_path}/report.html "
                                              f"(https://ci.example/{tmp_path.name}/report.html)")
    assert all(r["headers"]["Content-Type"] == "application/json" for r in receiver.requests)
    assert all(r["headers"]["Authorization"] == f"Bearer {TOKEN}" for r in grafana)
    assert not any("Authorization" in r["headers"] for r in hooks)
    bodies = [r["body"] for r in grafana]
    assert [b["text"] for b in bodies] == [
        "gameday unit: phase warmup", "gameday unit: fault db-failover (fail-db-primary): recovered in 5.9 s",
        "gameday unit: phase fault:db-failover ok", "gameday unit: phase cooldown (run interrupted)",
        "gameday unit: run INTERRUPTED: interrupted (SIGINT/SIGTERM)",
        f"gameday unit: VERDICT NO-GO; report {tmp_path}/report.html (https://ci.example/{tmp_path.name}/report.html)"]
    assert all(b["tags"][:2] == ["gameday", "unit"] and b["dashboardUID"] == "dash-1" for b in bodies)
    assert all(isinstance(b["time"], int) and b["time"] > 1e12 for b in bodies)  # ms, the timeline's clock
    regions = [b for b in bodies if "timeEnd" in b]
    assert len(regions) == 4 and all(b["timeEnd"] >= b["time"] for b in regions)
    assert "notify_failed" not in [e["event"] for e in events(tmp_path)]


def test_events_filter_per_webhook(receiver: Any, tmp_path: Path) -> None:
    n = _notifier({"webhooks": [{"url": f"{receiver.url}/a", "events": ["fault_started", "verdict"]},
                                {"url": f"{receiver.url}/b", "events": ["run_started"]}]}, tmp_path)
    _play(n, tmp_path, RUN)
    n.verdict()  # no results.json: still announced, as unreadable
    n.close()
    got = sorted((r["path"], r["body"]["text"].removeprefix("gameday unit: ").split(" ")[0]) for r in receiver.requests)
    assert got == [("/a", "fault"), ("/a", "no"), ("/b", "run")], got


@pytest.mark.parametrize("failure", ["http-500", "refused", "never-answers"])
def test_a_failing_sink_never_fails_or_stalls_the_run(failure: str, tmp_path: Path) -> None:
    timeout_s, flush_s = 1.0, 2.0
    said: list[str] = []
    with ExitStack() as stack:
        if failure == "refused":
            url = f"http://127.0.0.1:{stack.enter_context(refusing_port())}"
        else:
            r = RECEIVER.Receiver(status=500 if failure == "http-500" else 200,
                                  delay_s=60 if failure == "never-answers" else 0).start()
            stack.callback(r.stop)
            url = r.url
        n = _notifier({"webhooks": [{"url": f"{url}/hook/{HOOK_SECRET}", "timeout_s": timeout_s}],
                       "grafana": {"url": url, "token": TOKEN, "timeout_s": timeout_s}, "flush_s": flush_s},
                      tmp_path, said)
        worst = _play(n, tmp_path, RUN)
        n.verdict()
        t0 = time.monotonic()
        summary = n.close()
        took = time.monotonic() - t0
    # fsync included; delivery is elsewhere. An append that waited on a sink would take its whole timeout
    # (never-answers), so that is the line; 0.5 s was crossed once by the fsync alone (0.67 s, three
    # workers on two cores)
    assert worst < timeout_s, f"a timeline append took {worst:.2f} s"
    assert took <= flush_s + 3, f"close() took {took:.1f} s"
    assert summary["sent"] == 0 and summary["failed"] + summary["undelivered"] == 11, summary
    failed = [e for e in events(tmp_path) if e["event"] == "notify_failed"]
    assert {e["sink"] for e in failed} == {"notify.webhooks.0", "notify.grafana"}
    expect = {"http-500": "HTTP 500", "refused": "connection refused", "never-answers": "timed out after 1 s"}[failure]
    assert any(e["error"] == expect for e in failed), failed
    if failure == "never-answers":
        assert any("not delivered within the 2 s flush bound" in e["error"] for e in failed)
    text = (tmp_path / "timeline.jsonl").read_text()
    assert HOOK_SECRET not in text and TOKEN not in text and "127.0.0.1" not in text
    assert len([s for s in said if s.startswith("notify: ")]) == 2 and "notifications: 0 sent" in said[-1]


def test_an_exception_is_announced_as_run_failed(receiver: Any, tmp_path: Path) -> None:
    n = Notifier.for_profile(make_profile({"webhooks": [{"url": f"{receiver.url}/hook"}]},
                                          secrets={"db": "hunter2-db-password"}), {})
    with pytest.raises(TargetUnavailable), n.started(tmp_path):
        raise TargetUnavailable("sandbox did not come up: postgres password hunter2-db-password refused")
    (msg,) = [r["body"]["text"] for r in receiver.requests]
    assert msg.startswith("gameday unit: run FAILED before a verdict: TargetUnavailable: sandbox did not come up")
    assert "hunter2" not in msg and "***REDACTED***" in msg


