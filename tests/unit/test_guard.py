"""The guard's decision, with an injected clock and progress (no processes, no signals)."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gameday.harness.guard import Abort, Guard
from gameday.harness.orchestrator import _hold_outage
from gameday.harness.profile import Fault, GuardSettings, Profile
from gameday.harness.timeline import Timeline


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def make(tmp: Path, progress: dict[str, Any] | None, clock: Clock) -> Guard:
    cfg = GuardSettings(abort_error_ratio=0.5, abort_for_s=30, fault_grace_s=10)
    return Guard(cfg, Timeline(tmp / "t.jsonl"), lambda: progress, clock=clock)


def test_errors_must_be_sustained(tmp_path: Path) -> None:
    clock = Clock()
    p: dict[str, Any] = {"rps": 50.0, "fail_per_s": 40.0}
    g = make(tmp_path, p, clock)
    assert g.check() is None
    clock.t = 29
    assert g.check() is None
    clock.t = 30
    why = g.check()
    assert why and "80%" in why and "30 s" in why


def test_a_dip_resets_the_clock(tmp_path: Path) -> None:
    clock = Clock()
    p: dict[str, Any] = {"rps": 50.0, "fail_per_s": 40.0}
    g = make(tmp_path, p, clock)
    g.check()
    clock.t = 20
    p["fail_per_s"] = 1.0
    assert g.check() is None
    p["fail_per_s"] = 40.0
    clock.t = 40
    assert g.check() is None  # bad again only since t=40
    clock.t = 70
    assert g.check() is not None


def test_a_fault_past_its_bound(tmp_path: Path) -> None:
    clock = Clock()
    g = make(tmp_path, {"rps": 0}, clock)
    g.fault_started("db-failover", bound_s=100)
    clock.t = 100
    assert g.check() is None
    clock.t = 101
    assert "db-failover" in (g.check() or "")
    g.fault_ended()
    assert g.check() is None


def test_no_progress_is_no_abort(tmp_path: Path) -> None:
    assert make(tmp_path, None, Clock()).check() is None


# -- a fault's own outage: judged by recovery_time, not aborted (issue 21) ------------------------

FAILING: dict[str, Any] = {"rps": 50.0, "fail_per_s": 50.0}


def make_fault_guard(tmp: Path, progress: dict[str, Any] | None, clock: Clock, grace: float = 10,
                     abort_for: float = 30) -> Guard:
    cfg = GuardSettings(abort_error_ratio=0.5, abort_for_s=abort_for, fault_grace_s=grace)
    return Guard(cfg, Timeline(tmp / "t.jsonl"), lambda: progress, clock=clock)


def test_a_fault_outage_within_its_bound_is_not_aborted(tmp_path: Path) -> None:
    """A 110 s outage of a fault whose recovery bound is 120 s: 100 % errors all along, no abort
    (the old guard aborted it after 30 s)."""
    clock = Clock()
    g = make_fault_guard(tmp_path, FAILING, clock)
    g.fault_started("db-failover", bound_s=1000, recovery_bound_s=120)
    clock.t = 5
    g.fault_injected("db-failover")
    for t in range(5, 116):
        clock.t = t
        assert g.check() is None, t


def test_errors_past_the_recovery_bound_abort_with_that_rule(tmp_path: Path) -> None:
    """Excused until injection + bound (120) + grace (10) = 135; then 30 s more of errors abort."""
    clock = Clock()
    g = make_fault_guard(tmp_path, FAILING, clock)
    g.fault_started("db-failover", bound_s=1000, recovery_bound_s=120)
    clock.t = 5
    g.fault_injected("db-failover")
    for t in range(5, 165):
        clock.t = t
        assert g.decide() is None, t
    clock.t = 165
    abort = g.decide()
    assert abort is not None and abort.rule == "error-ratio-past-recovery-bound" and abort.fault == "db-failover"
    assert "error-ratio-past-recovery-bound" in abort.reason and "160 s after db-failover's injection" in abort.reason


def test_the_excuse_outlives_the_window_but_not_the_bound(tmp_path: Path) -> None:
    """The window closed mid-outage: errors stay excused until bound + grace, then count again."""
    clock = Clock()
    g = make_fault_guard(tmp_path, FAILING, clock, grace=0)
    g.fault_started("redis-primary-kill", bound_s=1000, recovery_bound_s=30)
    g.fault_injected("redis-primary-kill")
    for t in range(0, 21):
        clock.t = t
        assert g.check() is None
    g.fault_stopped()
    g.fault_ended()
    for t in range(21, 60):
        clock.t = t
        assert g.check() is None, t  # excused until 30, counted from there: 29 s at most
    clock.t = 60
    abort = g.decide()
    assert abort is not None and abort.rule == "error-ratio-past-recovery-bound"


def test_errors_outside_faults_abort_as_before(tmp_path: Path) -> None:
    """A recovered fault's excuse is over: new sustained errors abort after abort_for_s, named so."""
    clock = Clock()
    p: dict[str, Any] = {"rps": 50.0, "fail_per_s": 0.0}
    g = make_fault_guard(tmp_path, p, clock)
    g.fault_started("db-failover", bound_s=1000, recovery_bound_s=120)
    g.fault_injected("db-failover")
    g.fault_stopped()
    g.fault_ended()
    clock.t = 200  # the excuse ended at 130
    p["fail_per_s"] = 45.0
    assert g.check() is None
    clock.t = 230
    abort = g.decide()
    assert abort is not None and abort.rule == "error-ratio" and abort.fault is None
    assert "outside any fault's outage" in abort.reason and "90%" in abort.reason


def test_errors_in_a_window_before_its_injection_are_not_excused(tmp_path: Path) -> None:
    clock = Clock()
    g = make_fault_guard(tmp_path, FAILING, clock)
    g.fault_started("node-drain", bound_s=1000, recovery_bound_s=60)
    assert g.check() is None
    clock.t = 30
    abort = g.decide()
    assert abort is not None and abort.rule == "error-ratio" and "before its injection" in abort.reason


def test_a_fault_past_its_bound_names_its_rule_and_stops_once_the_experiment_returns(tmp_path: Path) -> None:
    clock = Clock()
    g = make_fault_guard(tmp_path, {"rps": 50.0, "fail_per_s": 0.0}, clock)
    g.fault_started("bad-release", bound_s=90, recovery_bound_s=120)
    g.fault_injected("bad-release")
    clock.t = 91
    abort = g.decide()
    assert abort is not None and abort.rule == "fault-past-its-bound" and "bad-release" in abort.reason
    g.fault_stopped()  # the experiment returned: its window may still observe, nothing to stop
    assert g.decide() is None


def test_another_faults_injection_is_ignored(tmp_path: Path) -> None:
    clock = Clock()
    g = make_fault_guard(tmp_path, FAILING, clock)
    g.fault_started("db-failover", bound_s=1000, recovery_bound_s=120)
    g.fault_injected("redis-primary-kill")  # not this window's fault: no excuse
    assert g.check() is None
    clock.t = 30
    assert (g.decide() or Abort("fault-past-its-bound", "")).rule == "error-ratio"


def test_it_learns_the_injection_from_the_timeline(tmp_path: Path) -> None:
    """The orchestrator hangs :meth:`Guard.on_event` on the timeline; the chaos runner's
    ``fault_injected`` event then starts the excuse."""
    clock = Clock()
    tl = Timeline(tmp_path / "t.jsonl")
    g = Guard(GuardSettings(abort_error_ratio=0.5, abort_for_s=30, fault_grace_s=10), tl, lambda: FAILING,
              clock=clock)
    tl.listeners.append(g.on_event)
    g.fault_started("db-failover", bound_s=1000, recovery_bound_s=120)
    tl.append("fault_injected", "fault:db-failover", fault="db-failover", action="fail-db-primary")
    clock.t = 100
    assert g.check() is None
    tl.close()


def test_the_abort_is_on_the_timeline_with_its_rule(tmp_path: Path) -> None:
    """The guard's thread records ``guard_abort`` (rule, reason, fault) and sends SIGINT."""
    got: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    tl = Timeline(tmp_path / "t.jsonl")
    g = Guard(GuardSettings(abort_error_ratio=0.5, abort_for_s=1, fault_grace_s=0), tl, lambda: FAILING)
    try:
        g.start()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        g.stop()
        signal.signal(signal.SIGINT, previous)
        tl.close()
    assert got == [signal.SIGINT]
    events = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["guard_abort"]
    assert events[0]["rule"] == "error-ratio" and events[0]["reason"].startswith("guard rule error-ratio:")
    assert g.abort is not None and g.tripped == g.abort.reason


# -- the fault window holds a long outage (orchestrator) ------------------------------------------

def _hold(tmp: Path, progress: Callable[[], dict[str, Any] | None], injected_ago: float = 0.0) -> list[dict[str, Any]]:
    fault = Fault(id="db-failover", experiment=Path("db-failover.json"))
    profile = Profile(name="t", faults=[fault], checks={"recovery_s": {"db-failover": 2.0}},  # type: ignore[arg-type]
                      guard={"fault_grace_s": 0.5})  # type: ignore[arg-type]
    tl = Timeline(tmp / "hold.jsonl")
    _hold_outage(profile, fault, time.time() - injected_ago, progress, tl, "fault:db-failover", lambda s: None)
    tl.close()
    return [json.loads(line) for line in (tmp / "hold.jsonl").read_text().splitlines()]


def test_the_window_holds_while_the_load_still_fails(tmp_path: Path) -> None:
    until = time.time() + 1.0
    t0 = time.monotonic()
    evs = _hold(tmp_path, lambda: FAILING if time.time() < until else {"rps": 50.0, "fail_per_s": 1.0})
    took = time.monotonic() - t0
    assert 1.0 <= took < 2.0, took
    assert [e["event"] for e in evs] == ["outage_held"] and evs[0]["until_bound"] is False


def test_the_hold_ends_at_the_recovery_bound_plus_grace(tmp_path: Path) -> None:
    """Never recovering: held until injection + bound (2 s) + grace (0.5 s), then the guard's."""
    t0 = time.monotonic()
    evs = _hold(tmp_path, lambda: {"rps": 0.0, "fail_per_s": 0.0}, injected_ago=1.0)  # nothing answers at all
    assert 1.2 <= time.monotonic() - t0 < 2.2
    assert evs[0]["until_bound"] is True


def test_no_hold_when_served_or_unknown(tmp_path: Path) -> None:
    t0 = time.monotonic()
    assert _hold(tmp_path, lambda: {"rps": 50.0, "fail_per_s": 0.0}) == []
    assert _hold(tmp_path, lambda: None) == []
    assert time.monotonic() - t0 < 0.5
