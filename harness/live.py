"""Live progress of ``gameday run``: where the run is, how the load fares, how close the guard is.

A 4-8 minute run otherwise prints only its phase lines. This shows, once a second on a terminal
(a Rich Live panel on stderr) and as one line every ``log_every_s`` elsewhere (CI logs):

* the phase, its time left, and the run's time left (planned: a fault's window may be held longer);
* requests/s, the p95 of the last 10 s, requests and failures so far (Locust's live stats, the
  ``load/progress.json`` the plugin writes every second: rounded, the report has the exact ones);
* the current fault's state, from the timeline events the chaos runner appends;
* the guard's margin (``gameday.harness.guard.Guard.margin``).

It only reads: the timeline listener records what it is told, the refresh reads the progress file.
A failure to draw never reaches the run (Timeline listeners are isolated; the refresh catches).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from gameday.contract.events import Event
from gameday.harness.guard import Guard, Margin
from gameday.harness.profile import Profile

# what each chaos event says about the fault, in the order they come
_FAULT_STATE = {
    Event.CHAOS_STARTED: "starting",
    Event.IDENTITY_CHECKED: "target identity checked",
    Event.STEADY_STATE_BEFORE: "steady state checked",
    Event.FAULT_INJECTED: "injected",
    Event.FAULT_RECOVERED: "recovered",
    Event.FAULT_NOT_RECOVERED: "NOT recovered",
    Event.STEADY_STATE_AFTER: "steady state after checked",
    Event.ROLLBACKS_STARTED: "rolling back",
    Event.ROLLBACKS_DONE: "rolled back",
    Event.CHAOS_FAILED: "experiment FAILED",
    Event.CHAOS_DONE: "experiment done",
    Event.CHAOS_INTERRUPTED: "interrupted, rolled back",
    Event.OUTAGE_HELD: "outage held in its window",
}


@dataclass
class State:
    """What the display knows; filled by timeline events (any thread), read by the refresh."""

    planned: dict[str, float]  # phase -> planned seconds, in run order
    phase: str | None = None
    phase_started: float | None = None  # time.time()
    started: float | None = None
    fault_state: str | None = None
    injected_at: float | None = None
    finished: list[str] = field(default_factory=list)


def planned_phases(profile: Profile) -> dict[str, float]:
    """Each phase's planned length: a fault's is its observation plus the settle after it (it may
    last longer: the experiment's own waits, an outage held until its recovery bound)."""
    settle = profile.checks.recovery_window_s + profile.checks.recovery_sustain_s
    out = {"warmup": profile.phases.warmup_s, "baseline": profile.phases.baseline_s}
    out.update({f"fault:{f.id}": f.observe_s + settle for f in profile.faults})
    out["cooldown"] = profile.phases.cooldown_s
    return out


def on_event(state: State, event: dict[str, Any]) -> None:
    """Fold one timeline event into ``state``."""
    name, t = event.get("event"), float(event.get("t", time.time()))
    if name == Event.RUN_STARTED:
        state.started = t
    elif name == Event.PHASE_STARTED:
        state.phase, state.phase_started = str(event.get("phase")), t
        if event.get("planned_s") is not None:
            state.planned[state.phase] = float(event["planned_s"])
        state.fault_state, state.injected_at = None, None
    elif name == Event.PHASE_ENDED and event.get("phase") == state.phase:
        state.finished.append(str(state.phase))
        if all(p in state.finished for p in state.planned):  # the load stops; read-back, evidence, verdict
            state.phase, state.phase_started, state.fault_state = "finishing (read-back, evidence)", t, None
    elif name in _FAULT_STATE:
        label = _FAULT_STATE[Event(str(name))]
        if name == Event.FAULT_INJECTED:
            state.injected_at = t
        elif name == Event.FAULT_RECOVERED and event.get("recovery_s") is not None:
            label += f" in {float(event['recovery_s']):.1f} s"
        state.fault_state = label


@dataclass(frozen=True)
class Snapshot:
    """One look at the run: what a line or the panel shows."""

    phase: str
    phase_elapsed_s: float
    phase_left_s: float
    run_elapsed_s: float
    run_left_s: float
    progress: dict[str, Any] | None
    fault_state: str | None
    since_injection_s: float | None
    guard: Margin | None


def snapshot(state: State, progress: dict[str, Any] | None, margin: Margin | None, now: float) -> Snapshot:
    phase = state.phase or "preparing"
    elapsed = now - state.phase_started if state.phase_started is not None else 0.0
    left = max(0.0, state.planned.get(phase, 0.0) - elapsed)
    upcoming = [p for p in state.planned if p != phase and p not in state.finished]
    return Snapshot(phase, elapsed, left, now - state.started if state.started is not None else 0.0,
                    left + sum(state.planned[p] for p in upcoming), progress, state.fault_state,
                    now - state.injected_at if state.injected_at is not None else None, margin)


def line(s: Snapshot) -> str:
    """The plain one-line form (CI logs)."""
    parts = [f"[{s.run_elapsed_s:4.0f}s, ~{s.run_left_s:.0f}s left] {s.phase} {s.phase_elapsed_s:.0f}s "
             f"(~{s.phase_left_s:.0f}s left)"]
    p = s.progress
    if p is None:
        parts.append("load: no stats yet")
    else:
        parts.append(f"{float(p.get('rps', 0)):.1f} req/s, p95(10s) {float(p.get('p95_10s_ms', 0)):.0f} ms, "
                     f"{int(p.get('failures', 0))} failures of {int(p.get('requests', 0))}")
    if s.fault_state:
        since = "" if s.since_injection_s is None else f" ({s.since_injection_s:.0f}s since injection)"
        parts.append(f"fault {s.fault_state}{since}")
    if s.guard is not None:
        parts.append(s.guard.describe())
    return " | ".join(parts)


def table(s: Snapshot) -> Table:
    """The terminal form: one row per aspect."""
    t = Table(title=f"gameday run  {s.run_elapsed_s:.0f} s elapsed, ~{s.run_left_s:.0f} s left",
              show_header=False, expand=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("phase", f"{s.phase}: {s.phase_elapsed_s:.0f} s, ~{s.phase_left_s:.0f} s left")
    p = s.progress
    if p is None:
        t.add_row("load", "no stats yet")
    else:
        t.add_row("load", f"{int(p.get('users', 0))} users, {float(p.get('rps', 0)):.1f} req/s, "
                          f"p95 (10 s) {float(p.get('p95_10s_ms', 0)):.0f} ms")
        t.add_row("so far", f"{int(p.get('requests', 0))} requests, {int(p.get('failures', 0))} failures "
                            f"({float(p.get('fail_per_s', 0)):.1f}/s now)")
    if s.fault_state:
        since = "" if s.since_injection_s is None else f", {s.since_injection_s:.0f} s since injection"
        t.add_row("fault", f"{s.fault_state}{since}")
    t.add_row("guard", "not watching yet" if s.guard is None else s.guard.describe().removeprefix("guard: "))
    return t


class RunProgress:
    """Use as a context manager around ``certify``; pass :meth:`on_event` as a timeline listener
    and :meth:`watch` as ``on_guard``."""

    def __init__(self, profile: Profile, run_dir: Path, console: Console | None = None, log_every_s: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.console = console or Console(stderr=True)
        self.state = State(planned_phases(profile))
        self.progress_file = run_dir / "load" / "progress.json"
        self.log_every = log_every_s
        self.clock = clock
        self._guard: Guard | None = None
        self._live: Live | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        on_event(self.state, event)

    def watch(self, guard: Guard) -> None:
        self._guard = guard

    def say(self, text: str) -> None:
        """A phase line: printed above the live panel (a plain write to stderr would be drawn over)."""
        self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def _progress(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.progress_file.read_text())
            return data
        except (OSError, ValueError):
            return None

    def now(self) -> Snapshot:
        margin = None
        if self._guard is not None:
            try:
                margin = self._guard.margin()
            except Exception:  # a display must not break the run it shows
                margin = None
        return snapshot(self.state, self._progress(), margin, self.clock())

    def _render(self) -> Table:
        return table(self.now())

    def _log_loop(self) -> None:
        while not self._stop.wait(self.log_every):
            if self.state.started is not None:
                self.console.print(line(self.now()), highlight=False, soft_wrap=True)

    def __enter__(self) -> RunProgress:
        if self.console.is_terminal:
            self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=1,
                              transient=False)
            self._live.__enter__()
        else:
            self._thread = threading.Thread(target=self._log_loop, name="gameday-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._live is not None:
            self._live.__exit__(None, None, None)
        if self._thread is not None:
            self._thread.join(timeout=2)
