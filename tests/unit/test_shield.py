"""``gameday.harness.shield``: a run is stoppable whatever signal dispositions it inherited, and its clean-up
is not. Each case is a child Python process, so this process's handlers are never touched."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT

# the child: SIGINT or SIGTERM inside interruptible() must raise KeyboardInterrupt; after it, what the
# process inherited is back
CHILD = """
import signal, sys, time
from gameday.harness.shield import interruptible
before = signal.getsignal(signal.SIGINT)
try:
    with interruptible():
        print("ready", flush=True)
        time.sleep(20)
    print("not stopped", flush=True)
    sys.exit(1)
except KeyboardInterrupt:
    print("stopped", flush=True)
print("restored" if signal.getsignal(signal.SIGINT) == before else "not restored", flush=True)
"""


def inherited_ignoring_sigint(code: str) -> list[str]:
    """A Python started with SIGINT ignored, as a non-interactive shell starts a job with '&' (bash:
    "asynchronous commands ignore SIGINT and SIGQUIT"): ignored, then exec'd, so it is inherited."""
    return [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
            f"os.execv(sys.executable, [sys.executable, '-c', {code!r}])"]


def signalled_when_ready(code: str, sig: signal.Signals) -> tuple[str, int]:
    """Run ``code`` started with SIGINT ignored, send ``sig`` once it prints "ready": (the rest of its
    output, its exit code)."""
    proc = subprocess.Popen(inherited_ignoring_sigint(code), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return out, proc.returncode


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_run_inherited_with_sigint_ignored_still_stops(sig: signal.Signals) -> None:
    t0 = time.monotonic()
    out, _ = signalled_when_ready(CHILD, sig)
    assert out.split() == ["stopped", "restored"], out
    assert time.monotonic() - t0 < 5  # the signal stopped it, not the 20 s sleep


def test_without_the_block_an_ignored_sigint_is_ignored() -> None:
    """The control: the same child without ``interruptible()`` sleeps through SIGINT (so the test above
    shows the block at work, not the platform)."""
    child = "import time\nprint('ready', flush=True)\ntime.sleep(1.5)\nprint('slept', flush=True)\n"
    out, code = signalled_when_ready(child, signal.SIGINT)
    assert out.strip() == "slept" and code == 0
