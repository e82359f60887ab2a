"""The guard: abort a run that has gone too far, the way Ctrl-C does.

A thread watches the load's live progress (Locust's failures and requests per second) and the
time a fault has been running. When the error ratio stays above the profile's line for its
duration, or a fault outlives its bound, it records why on the timeline and sends the process
SIGINT: the chaos runner then stops the fault and plays its rollbacks, exactly as for an
operator's Ctrl-C, and the run ends ABORTED (exit 3).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from harness.profile import Guard as GuardConfig
from harness.timeline import Timeline


class Guard:
    def __init__(self, config: GuardConfig, timeline: Timeline, progress: Callable[[], dict[str, Any] | None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.timeline = timeline
        self.progress = progress
        self.clock = clock
        self.tripped: str | None = None
        self._fault: tuple[str, float, float] | None = None  # id, started, bound
        self._bad_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="gameday-guard", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def fault_started(self, fault: str, bound_s: float) -> None:
        self._fault = (fault, self.clock(), bound_s)

    def fault_ended(self) -> None:
        self._fault = None

    def check(self) -> str | None:
        """One look; returns why to abort, or None. Pure but for the clock and the progress file."""
        now = self.clock()
        p = self.progress()
        if p and p.get("rps", 0) > 0:
            ratio = float(p.get("fail_per_s", 0)) / float(p["rps"])
            if ratio > self.config.abort_error_ratio:
                self._bad_since = self._bad_since if self._bad_since is not None else now
                if now - self._bad_since >= self.config.abort_for_s:
                    return (f"error ratio {ratio:.0%} above {self.config.abort_error_ratio:.0%} "
                            f"for {now - self._bad_since:.0f} s")
            else:
                self._bad_since = None
        if self._fault is not None:
            fault, started, bound = self._fault
            if now - started > bound:
                return f"fault {fault} still running after {now - started:.0f} s (bound {bound:.0f} s)"
        return None

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            why = self.check()
            if why and self.tripped is None:
                self.tripped = why
                self.timeline.append("guard_abort", reason=why)
                os.kill(os.getpid(), signal.SIGINT)
                return
