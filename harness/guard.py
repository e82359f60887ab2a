"""The guard: abort a run that has gone too far, the way Ctrl-C does.

A thread watches the load's live progress (Locust's failures and requests per second) and the
faults on the timeline. When one of its rules fires it records why on the timeline
(``guard_abort`` with ``rule`` and ``reason``) and sends the process SIGINT: the chaos runner then
stops the fault and plays its rollbacks, exactly as for an operator's Ctrl-C, and the run ends
ABORTED (exit 3).

The rules (the profile's ``guard`` section sets their lines; ``rule`` names the one that fired):

``error-ratio``
    Outside any fault's outage, the error ratio above ``abort_error_ratio`` for ``abort_for_s``:
    the target is failing and no fault of ours explains it.
``error-ratio-past-recovery-bound``
    Inside a fault's outage the errors are expected: they are what ``recovery_time`` judges,
    against the fault's own bound (``checks.recovery_s``; an RDS failover takes 60-120 s, far more
    than ``abort_for_s``). So from the fault's injection until its recovery bound plus
    ``fault_grace_s`` have passed, errors do not count toward ``abort_for_s``; after that they
    do, and ``abort_for_s`` more of them abort the run. An outage that ends before that is judged
    (NO-GO on ``recovery_time`` if it took longer than its bound), not aborted.
``fault-past-its-bound``
    A fault (its experiment, rollbacks included) still running ``fault_grace_s`` after its
    ``observe_s + recover_s`` is stopped and rolled back, errors or not: a fault that never
    recovers must not hold the target broken.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gameday.contract.events import Event
from gameday.harness.profile import GuardSettings
from gameday.harness.timeline import Timeline

Rule = Literal["error-ratio", "error-ratio-past-recovery-bound", "fault-past-its-bound"]
RULE_ERRORS: Rule = "error-ratio"
RULE_ERRORS_PAST_BOUND: Rule = "error-ratio-past-recovery-bound"
RULE_FAULT_OVERRUN: Rule = "fault-past-its-bound"


@dataclass(frozen=True)
class Abort:
    """Why the guard stops a run: the rule that fired, and the reason in words (which names it)."""

    rule: Rule
    reason: str
    fault: str | None = None


@dataclass(frozen=True)
class Margin:
    """The guard's distance from aborting, as the live display shows it."""

    ratio: float | None  # failed / all requests per second now (Locust's 10 s rates); None: no traffic
    line: float  # abort_error_ratio
    bad_for_s: float  # seconds above the line that count toward abort_for_s (an excused outage does not)
    abort_for_s: float
    excused: str | None = None  # the fault whose outage does not count now
    excused_for_s: float = 0.0

    def describe(self) -> str:
        if self.ratio is None:
            return "guard: no traffic yet"
        head = f"guard: errors {self.ratio:.0%} (abort above {self.line:.0%} for {self.abort_for_s:g} s)"
        if self.bad_for_s > 0:
            head += f", above for {self.bad_for_s:.0f} s: {self.abort_for_s - self.bad_for_s:.0f} s to abort"
        elif self.ratio <= self.line:
            head += f", margin {(self.line - self.ratio) * 100:.0f} points"
        if self.excused:
            head += f"; {self.excused}'s outage excused {self.excused_for_s:.0f} s more"
        return head


@dataclass(frozen=True)
class _Excuse:
    """A fault's expected outage: from its injection until its recovery bound + grace passed."""

    fault: str
    injected: float
    bound_s: float
    until: float


@dataclass
class _Window:
    """One fault window as the guard sees it; times are the guard's clock."""

    fault: str
    opened: float
    overrun_after_s: float  # observe_s + recover_s + fault_grace_s, from the window's start
    recovery_bound_s: float | None  # checks.recovery_s[fault], from the injection
    injected: float | None = None
    running: bool = True  # the experiment has not returned yet


class Guard:
    def __init__(self, config: GuardSettings, timeline: Timeline, progress: Callable[[], dict[str, Any] | None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.timeline = timeline
        self.progress = progress
        self.clock = clock
        self.tripped: str | None = None
        self.abort: Abort | None = None
        self._window: _Window | None = None
        self._excuse: _Excuse | None = None  # the last injected fault's; kept after its window closes
        self._bad_since: float | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gameday-guard", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    # -- what the orchestrator and the timeline tell it ------------------------------------------
    def fault_started(self, fault: str, bound_s: float, recovery_bound_s: float | None = None) -> None:
        """A fault's window opens. ``bound_s``: the experiment is stopped past this (observe_s +
        recover_s + fault_grace_s); ``recovery_bound_s``: its checks.recovery_s, from its injection
        (None: its outage is not excused)."""
        with self._lock:
            self._window = _Window(fault, self.clock(), bound_s, recovery_bound_s)

    def fault_injected(self, fault: str) -> None:
        """The fault's first action started: its outage is excused for its recovery bound + grace."""
        with self._lock:
            w = self._window
            if w is None or w.fault != fault or w.injected is not None:
                return
            w.injected = self.clock()
            if w.recovery_bound_s is not None:
                self._excuse = _Excuse(fault, w.injected, w.recovery_bound_s,
                                       w.injected + w.recovery_bound_s + self.config.fault_grace_s)

    def fault_stopped(self) -> None:
        """The experiment returned (rollbacks played): no overrun to watch; the window may go on."""
        with self._lock:
            if self._window is not None:
                self._window.running = False

    def fault_ended(self) -> None:
        """The fault's window closed; its excuse still ends at its bound + grace, not before."""
        with self._lock:
            self._window = None

    def on_event(self, event: dict[str, Any]) -> None:
        """A timeline listener: learns each injection from the chaos runner's ``fault_injected``."""
        if event.get("event") == Event.FAULT_INJECTED and event.get("fault"):
            self.fault_injected(str(event["fault"]))

    # -- the decision --------------------------------------------------------------------------
    def check(self) -> str | None:
        """One look; returns why to abort (the reason names the rule), or None."""
        decision = self.decide()
        return decision.reason if decision else None

    def decide(self) -> Abort | None:
        """One look. Pure but for the clock, the progress file and the error streak it keeps."""
        now = self.clock()
        with self._lock:
            w, excuse = self._window, self._excuse
        if w is not None and w.running and now - w.opened > w.overrun_after_s:
            return Abort(RULE_FAULT_OVERRUN,
                         f"guard rule {RULE_FAULT_OVERRUN}: fault {w.fault} still running after "
                         f"{now - w.opened:.0f} s (bound {w.overrun_after_s:g} s = observe_s + recover_s + "
                         f"fault_grace_s); stopped and rolled back", w.fault)
        p = self.progress()
        if not p or float(p.get("rps", 0) or 0) <= 0:
            return None  # no traffic seen: nothing to judge; the streak neither grows nor breaks
        ratio = float(p.get("fail_per_s", 0) or 0) / float(p["rps"])
        if ratio <= self.config.abort_error_ratio:
            self._bad_since = None
            return None
        self._bad_since = self._bad_since if self._bad_since is not None else now
        counted_from = self._bad_since
        clipped = excuse is not None and excuse.until > counted_from and excuse.injected <= now
        if clipped and excuse is not None:
            counted_from = excuse.until  # the fault's outage is recovery_time's to judge, not ours
        if now - counted_from < self.config.abort_for_s:
            return None
        line = (f"error ratio {ratio:.0%} above {self.config.abort_error_ratio:.0%} for "
                f"{now - counted_from:.0f} s")
        in_outage = w is not None and w.injected is not None
        if excuse is not None and (clipped or (in_outage and w is not None and w.fault == excuse.fault)):
            return Abort(RULE_ERRORS_PAST_BOUND,
                         f"guard rule {RULE_ERRORS_PAST_BOUND}: {line}, {now - excuse.injected:.0f} s after "
                         f"{excuse.fault}'s injection (its recovery bound {excuse.bound_s:g} s + fault_grace_s "
                         f"{self.config.fault_grace_s:g} s had passed)", excuse.fault)
        where = (f"in fault:{w.fault}'s window before its injection" if w is not None and w.injected is None
                 else "outside any fault's outage")
        return Abort(RULE_ERRORS, f"guard rule {RULE_ERRORS}: {line} {where}", w.fault if w else None)

    def margin(self) -> Margin:
        """How far the run is from the error rule, for the live display (reads, decides nothing)."""
        now = self.clock()
        with self._lock:
            excuse, bad_since = self._excuse, self._bad_since
        p = self.progress()
        rps = float((p or {}).get("rps", 0) or 0)
        ratio = float((p or {}).get("fail_per_s", 0) or 0) / rps if rps > 0 else None
        counted_from = bad_since
        if counted_from is not None and excuse is not None and excuse.until > counted_from and excuse.injected <= now:
            counted_from = excuse.until
        excused = excuse.fault if excuse is not None and excuse.injected <= now < excuse.until else None
        bad_for = max(0.0, now - counted_from) if counted_from is not None else 0.0
        return Margin(ratio, self.config.abort_error_ratio, bad_for, self.config.abort_for_s, excused,
                      max(0.0, excuse.until - now) if excused and excuse else 0.0)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            decision = self.decide()
            if decision and self.tripped is None:
                self.abort = decision
                self.tripped = decision.reason
                self.timeline.append(Event.GUARD_ABORT, reason=decision.reason, rule=decision.rule,
                                     fault=decision.fault)
                os.kill(os.getpid(), signal.SIGINT)
                return
