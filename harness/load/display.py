"""Live progress of a load run: users, requests/s, p95 over the last 10 s, errors.

Reads the progress file the Locust plugin writes every second. On a terminal it is a Rich
live table; in CI logs it prints one line every ``log_every_s`` seconds instead.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from gameday.harness.load.runner import LoadRun


def _table(p: dict[str, Any] | None, elapsed: float, duration: float) -> Table:
    t = Table(title=f"load  {elapsed:5.0f} / {duration:.0f} s", expand=False)
    for col in ("users", "req/s", "p95 10s (ms)", "requests", "failures", "fail/s"):
        t.add_column(col, justify="right")
    if p is None:
        t.add_row("-", "-", "-", "-", "-", "-")
    else:
        t.add_row(str(p["users"]), f"{p['rps']:.1f}", f"{p['p95_10s_ms']:.0f}", str(p["requests"]),
                  str(p["failures"]), f"{p['fail_per_s']:.1f}")
    return t


class Progress:
    """Call :meth:`tick` from LoadRun.wait; use as a context manager around the run."""

    def __init__(self, duration_s: float, console: Console | None = None, log_every_s: float = 10.0) -> None:
        self.console = console or Console(stderr=True)
        self.duration = duration_s
        self.log_every = log_every_s
        self._t0 = time.monotonic()
        self._last_log = 0.0
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self._live = Live(_table(None, 0, self.duration), console=self.console, refresh_per_second=2)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def tick(self, run: LoadRun) -> None:
        p = run.progress()
        elapsed = time.monotonic() - self._t0
        if self._live is not None:
            self._live.update(_table(p, elapsed, self.duration))
        elif p is not None and elapsed - self._last_log >= self.log_every:
            self._last_log = elapsed
            self.console.print(f"load {elapsed:4.0f}s: {p['users']} users, {p['rps']:.1f} req/s, "
                               f"p95(10s) {p['p95_10s_ms']:.0f} ms, {p['failures']} failures")
