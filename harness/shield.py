"""Signals while gameday cleans up after a run: noted, not obeyed.

The first Ctrl-C (or SIGTERM) stops a run: the running fault is rolled back and the phases end.
What follows — stopping the load, reading acknowledged missions back, the audits, the
Prometheus snapshot, the target's tear-down and the verdict — is bounded and is what makes the
partial run directory worth having, so a second signal during it only says so (SIGKILL still
abandons it). Main thread only, like every ``signal.signal``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def shielded(say: Callable[[str], None]) -> Iterator[None]:
    """SIGINT and SIGTERM are reported through ``say`` and otherwise ignored inside the block."""

    def note(signum: int, frame: FrameType | None) -> None:
        say(f"{signal.Signals(signum).name}: still cleaning up (bounded: evidence, tear-down, verdict); "
            "SIGKILL abandons it")

    with _handled_by(note):
        yield


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM stop what runs inside the block (KeyboardInterrupt in the main thread),
    whatever the process inherited. A job a non-interactive shell starts in the background (``gameday
    run ... &`` in a CI script) inherits SIGINT *ignored*, and Python then leaves it ignored: Ctrl-C
    forwarded to it, and the guard's abort (a SIGINT to itself), would do nothing while the faults
    went on. A run must always be stoppable, so the block sets both; the previous handlers return after."""
    with _handled_by(_interrupt):
        yield


@contextmanager
def _handled_by(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """``handler`` for SIGINT and SIGTERM inside the block; the previous handlers after it."""
    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
