"""Python activities for tests of the chaos runner (a Chaos Toolkit provider module)."""

import os
import signal
import time

__all__ = ["append", "signal_self_then_sleep"]


def append(log: str, text: str) -> str:
    with open(log, "a") as f:
        f.write(text + "\n")
    return text


def signal_self_then_sleep(log: str, signum: int = int(signal.SIGTERM), seconds: float = 5.0) -> str:
    """Send ``signum`` to this process, then keep working: an activity that blocks (a drain, a
    rollout) when the signal lands."""
    append(log, "signalled")
    os.kill(os.getpid(), signum)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return "slept"
