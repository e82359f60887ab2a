"""The live progress of ``gameday run`` (gameday.harness.live) and the guard's margin it shows: fed timeline
events, a progress file and an injected clock; no processes, no terminal."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from gameday.harness.guard import Guard, Margin
from gameday.harness.live import RunProgress, State, line, on_event, planned_phases, snapshot, table
from gameday.harness.profile import Fault, GuardSettings, Profile
from gameday.harness.timeline import Timeline


class Clock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def profile(tmp: Path) -> Profile:
    exp = tmp / "x.json"
    exp.write_text("{}")
    return Profile(name="p", faults=[Fault(id="redis-partition", experiment=exp, observe_s=5, recovery_s=30)],
                   phases={"warmup_s": 10, "baseline_s": 20, "cooldown_s": 10})  # type: ignore[arg-type]


def test_planned_phases_in_run_order(tmp_path: Path) -> None:
    p = profile(tmp_path)
    settle = p.checks.recovery_window_s + p.checks.recovery_sustain_s
    assert planned_phases(p) == {"warmup": 10, "baseline": 20, "fault:redis-partition": 5 + settle, "cooldown": 10}


def test_a_line_shows_phase_time_left_load_fault_and_guard(tmp_path: Path) -> None:
    state = State(planned_phases(profile(tmp_path)))
    for ev in ({"t": 100, "event": "run_started"},
               {"t": 105, "event": "phase_started", "phase": "warmup", "planned_s": 10},
               {"t": 115, "event": "phase_ended", "phase": "warmup"},
               {"t": 115, "event": "phase_started", "phase": "baseline", "planned_s": 20},
               {"t": 135, "event": "phase_ended", "phase": "baseline"},
               {"t": 135, "event": "phase_started", "phase": "fault:redis-partition"},
               {"t": 136, "event": "chaos_started", "fault": "redis-partition"},
               {"t": 138, "event": "fault_injected", "fault": "redis-partition"}):
        on_event(state, ev)
    progress = {"users": 100, "rps": 41.5, "p95_10s_ms": 870, "requests": 4200, "failures": 130, "fail_per_s": 9.0}
    margin = Margin(ratio=9 / 41.5, line=0.5, bad_for_s=0, abort_for_s=30, excused="redis-partition",
                    excused_for_s=52)
    s = snapshot(state, progress, margin, now=141.0)
    assert (s.phase, s.phase_elapsed_s, s.since_injection_s, s.run_elapsed_s) == ("fault:redis-partition", 6, 3, 41)
    # the fault's planned 15 s (5 observe + 10 settle) less 6, then the cool-down's 10
    assert s.phase_left_s == 9 and s.run_left_s == 19
    text = line(s)
    for part in ("fault:redis-partition 6s (~9s left)", "~19s left", "41.5 req/s", "p95(10s) 870 ms",
                 "130 failures of 4200", "fault injected (3s since injection)", "errors 22% (abort above 50% for 30 s)",
                 "margin 28 points", "redis-partition's outage excused 52 s more"):
        assert part in text, (part, text)
    on_event(state, {"t": 150, "event": "fault_recovered", "fault": "redis-partition", "recovery_s": 11.98})
    assert "fault recovered in 12.0 s" in line(snapshot(state, progress, margin, now=151.0))
    for ev in ({"t": 160, "event": "phase_ended", "phase": "fault:redis-partition"},
               {"t": 160, "event": "phase_started", "phase": "cooldown", "planned_s": 10},
               {"t": 170, "event": "phase_ended", "phase": "cooldown"}):
        on_event(state, ev)
    assert line(snapshot(state, progress, None, now=175.0)).startswith("[  75s, ~0s left] finishing (read-back")
    state = State(planned_phases(profile(tmp_path)))
    on_event(state, {"t": 100, "event": "run_started"})
    on_event(state, {"t": 150, "event": "fault_recovered", "fault": "redis-partition", "recovery_s": 11.98})
    rendered = io.StringIO()
    Console(file=rendered, width=160).print(table(snapshot(state, progress, margin, now=151.0)))
    assert "recovered in 12.0 s" in rendered.getvalue() and "870 ms" in rendered.getvalue()


def test_before_the_load_there_is_no_stats_and_no_guard(tmp_path: Path) -> None:
    state = State(planned_phases(profile(tmp_path)))
    text = line(snapshot(state, None, None, now=5.0))
    assert "preparing" in text and "no stats yet" in text and "guard" not in text


def test_margin_counts_a_streak_and_names_an_excused_outage(tmp_path: Path) -> None:
    clock = Clock()
    progress: dict[str, Any] = {"rps": 50.0, "fail_per_s": 40.0}
    g = Guard(GuardSettings(abort_error_ratio=0.5, abort_for_s=30, fault_grace_s=10), Timeline(tmp_path / "t.jsonl"),
              lambda: progress, clock=clock)
    assert g.margin().bad_for_s == 0
    g.decide()
    clock.t = 12
    g.decide()
    m = g.margin()
    assert m.ratio == 0.8 and m.bad_for_s == 12 and "18 s to abort" in m.describe()
    g.fault_started("redis-partition", 100, recovery_bound_s=30)
    g.fault_injected("redis-partition")
    clock.t = 20
    m = g.margin()  # the outage is excused until 12 + 30 + 10: nothing counts toward the abort
    assert m.excused == "redis-partition" and m.excused_for_s == 32 and m.bad_for_s == 0
    progress["rps"] = 0
    assert g.margin().describe() == "guard: no traffic yet"


def test_off_a_terminal_it_prints_a_line_every_period(tmp_path: Path) -> None:
    (tmp_path / "load").mkdir()
    (tmp_path / "load" / "progress.json").write_text(json.dumps(
        {"users": 10, "rps": 12.0, "p95_10s_ms": 40, "requests": 100, "failures": 0, "fail_per_s": 0}))
    out = io.StringIO()
    live = RunProgress(profile(tmp_path), tmp_path, console=Console(file=out, force_terminal=False, width=300),
                       log_every_s=0.05)
    with live:
        live.on_event({"t": time.time(), "event": "run_started"})
        live.on_event({"t": time.time(), "event": "phase_started", "phase": "baseline", "planned_s": 20})
        deadline = time.monotonic() + 5
        while out.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all("baseline" in ln and "12.0 req/s" in ln for ln in lines), lines
