"""Chaos Toolkit run-event handlers: the timeline recorder and the signal guard.

:class:`SignalGuard` makes SIGINT and SIGTERM stop the hypothesis or the method at once and
still play every rollback. chaoslib alone does not: its SIGTERM handler raises
``InterruptExecution``, which the Python provider wraps as ``ActivityFailed`` when it lands in
an activity (the experiment then just goes on to the next activity), and a second Ctrl-C in the
rollbacks would cut them short. The guard raises ``KeyboardInterrupt`` instead (neither the
provider nor chaoslib's activity wrapper catch it; chaoslib's run loop does, marks the journal
*interrupted* and plays the rollbacks, strategy "always"), and from the moment the rollbacks
start it only records further signals.

:class:`Recorder` writes what happened to the run's timeline as it happens: the injection (the
start of the method's first action), every activity, recovery (the method's waits all passed),
the rollbacks, and keeps a redacted snapshot of the journal on disk after each activity.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from chaoslib.run import RunEventHandler

from gameday.contract.events import Event
from gameday.harness.redact import Redactor, leaves
from gameday.harness.timeline import Timeline

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Received:
    name: str
    t: float
    during: str  # what was running: hypothesis-before, method, rollbacks, ...


class SignalGuard(RunEventHandler):  # type: ignore[misc]  # chaoslib ships no type hints
    """See the module docstring. Install with :meth:`installed` around the run (main thread)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.received: list[Received] = []
        self.stage = "starting"
        self._clock = clock
        self._protected = False
        self._critical = 0
        self._pending = False
        self._active = False

    # -- installation ---------------------------------------------------------------------------
    @contextmanager
    def installed(self) -> Iterator[SignalGuard]:
        """Handle SIGINT and SIGTERM until the block ends, then put the old handlers back."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("signal handling needs the main thread")
        saved = {s: signal.getsignal(s) for s in SIGNALS}
        self._install()
        self._active = True
        try:
            yield self
        finally:
            self._active = False
            for s, h in saved.items():
                signal.signal(s, h)

    def _install(self) -> None:
        for s in SIGNALS:
            signal.signal(s, self._handle)

    def protect(self) -> None:
        """From now on a signal is only recorded (rollbacks, journal, timeline must finish)."""
        self._protected = True

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A section a signal must not tear (a timeline line, a journal file): raise after it."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if self._pending and not self._critical and not self._protected:
            self._pending = False
            raise KeyboardInterrupt

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(Received(signal.Signals(signum).name, self._clock(), self.stage))
        if self._protected:
            return
        if self._critical:
            self._pending = True
            return
        raise KeyboardInterrupt

    # -- chaoslib events ------------------------------------------------------------------------
    def started(self, experiment: Any, journal: Any) -> None:
        # chaoslib's exit_signals() has just put its own SIGTERM handler in place: take it back
        if self._active:
            self._install()

    def start_hypothesis_before(self, experiment: Any) -> None:
        self.stage = "hypothesis-before"

    def start_method(self, experiment: Any) -> None:
        self.stage = "method"

    def start_hypothesis_after(self, experiment: Any) -> None:
        self.stage = "hypothesis-after"

    def start_rollbacks(self, experiment: Any) -> None:
        self.stage = "rollbacks"
        self.protect()


class Recorder(RunEventHandler):  # type: ignore[misc]
    """Timeline events for one fault (see the module docstring)."""

    def __init__(self, timeline: Timeline, fault: str, phase: str, redactor: Redactor, guard: SignalGuard,
                 snapshot: Callable[[dict[str, Any]], object], clock: Callable[[], float] = time.time) -> None:
        self.timeline, self.fault, self.phase = timeline, fault, phase
        self.redactor, self.guard, self.snapshot, self.clock = redactor, guard, snapshot, clock
        self.journal: dict[str, Any] | None = None
        self.section = "starting"
        self.injected_at: float | None = None
        self.inject_action: str | None = None
        self.recovered_at: float | None = None
        self.method_failed: list[str] = []
        self.method_done = False
        self.before_met: bool | None = None
        self.after_met: bool | None = None
        self.rollbacks: list[tuple[str, str]] = []
        self.rollbacks_done = False
        self.errors: list[str] = []  # our own failures while recording: reported, never swallowed

    def _emit(self, event: Event, **fields: Any) -> None:
        try:
            with self.guard.critical():
                self.timeline.append(event, self.phase, fault=self.fault, **self.redactor(fields))
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # chaoslib would drop it at DEBUG; we keep it
            self.errors.append(f"timeline {event}: {type(exc).__name__}: {exc}")

    def _snapshot(self) -> None:
        if self.journal is None:
            return
        try:
            with self.guard.critical():
                self.snapshot(self.journal)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            self.errors.append(f"journal snapshot: {type(exc).__name__}: {exc}")

    # -- chaoslib events ------------------------------------------------------------------------
    def started(self, experiment: Any, journal: Any) -> None:
        self.journal = journal

    def running(self, experiment: Any, journal: Any, configuration: Any, secrets: Any, schedule: Any,
                settings: Any) -> None:
        self.redactor.add(leaves(secrets or {}))  # the experiment's secrets, as resolved

    def start_hypothesis_before(self, experiment: Any) -> None:
        self.section = "hypothesis-before"

    def hypothesis_before_completed(self, experiment: Any, state: Any, journal: Any) -> None:
        self.before_met = bool(state and state.get("steady_state_met"))
        if self.before_met:
            self._emit(Event.STEADY_STATE_BEFORE, met=True)
        else:  # why no fault will be injected: the judge quotes it
            self._emit(Event.STEADY_STATE_BEFORE, met=False, failed=unmet_probes(state))

    def start_method(self, experiment: Any) -> None:
        self.section = "method"

    def start_activity(self, activity: Any) -> None:
        if self.section == "method" and activity.get("type") == "action" and self.injected_at is None:
            self.injected_at = self.clock()
            self.inject_action = str(activity.get("name"))
            self._emit(Event.FAULT_INJECTED, action=self.inject_action)

    def activity_completed(self, activity: Any, run: Any) -> None:
        status = str(run.get("status") or "interrupted")
        fields: dict[str, Any] = {"section": self.section, "activity": activity.get("name"),
                                  "type": activity.get("type"), "status": status,
                                  "duration_s": round(float(run.get("duration") or 0.0), 3)}
        if status != "succeeded" and run.get("exception"):
            fields["error"] = str(run["exception"][-1]).strip()
        if self.section == "method" and status != "succeeded":
            self.method_failed.append(str(activity.get("name")))
        if self.section == "rollbacks":
            self.rollbacks.append((str(activity.get("name")), status))
        self._emit(Event.CHAOS_ACTIVITY, **fields)
        self._snapshot()

    def method_completed(self, experiment: Any, state: Any = None) -> None:
        self.method_done = state is not None
        if self.injected_at is None:
            return
        if self.method_done and not self.method_failed:
            self.recovered_at = self.clock()
            self._emit(Event.FAULT_RECOVERED, action=self.inject_action, injected_t=self.injected_at,
                       recovery_s=round(self.recovered_at - self.injected_at, 3))
        else:
            self._emit(Event.FAULT_NOT_RECOVERED, action=self.inject_action, failed=self.method_failed)

    def start_hypothesis_after(self, experiment: Any) -> None:
        self.section = "hypothesis-after"

    def hypothesis_after_completed(self, experiment: Any, state: Any, journal: Any) -> None:
        self.after_met = bool(state and state.get("steady_state_met"))
        if self.after_met:
            self._emit(Event.STEADY_STATE_AFTER, met=True)
        else:
            self._emit(Event.STEADY_STATE_AFTER, met=False, failed=unmet_probes(state))

    def start_rollbacks(self, experiment: Any) -> None:
        self.section = "rollbacks"
        self._emit(Event.ROLLBACKS_STARTED)

    def rollbacks_completed(self, experiment: Any, journal: Any) -> None:
        self.rollbacks_done = True
        ok = all(s == "succeeded" for _, s in self.rollbacks)
        self._emit(Event.ROLLBACKS_DONE, ok=ok, rollbacks=[f"{n}: {s}" for n, s in self.rollbacks])
        self._snapshot()


_EXC_PREFIX = re.compile(r"^(?:[\w.]*(?:Error|Failed|Exception|Timeout): )+")


def unmet_probes(state: Any) -> list[str]:
    """``name: why`` for every probe of a steady-state run that did not meet its tolerance: the
    SLA probes' measured value against the threshold, or the error (no data is never a pass)."""
    out: list[str] = []
    for run in (state or {}).get("probes") or []:
        if not isinstance(run, dict) or run.get("tolerance_met"):
            continue
        name = str((run.get("activity") or {}).get("name") or "probe")
        out.append(f"{name}: {_why(run)}")
    if not out and state is None:
        out.append("the steady-state hypothesis did not run")
    return out


def _why(run: dict[str, Any]) -> str:
    exc = run.get("exception")
    if exc:
        lines = [x.strip() for x in (exc if isinstance(exc, list) else [exc]) if str(x).strip()]
        text = str(lines[-1]) if lines else "failed"
        text = text.splitlines()[-1] if text.splitlines() else text
        return _EXC_PREFIX.sub("", text)[:300]  # chaoslib wraps it: "ActivityFailed: ActivityFailed: why"
    out = run.get("output")
    if isinstance(out, dict) and "verdict" in out:
        unit = out.get("unit", "")
        value, threshold = out.get("value"), out.get("threshold")
        if out.get("idle"):
            return f"no request in the last {out.get('window_s')} s (idle)"
        shown = "no value" if value is None else f"{value:g}" if isinstance(value, int | float) else str(value)
        return (f"{shown} {unit} > {threshold} {unit} over the last {out.get('window_s')} s "
                f"({out.get('requests')} requests)")
    return f"returned {str(out)[:200]!r}, outside its tolerance"

