"""Starting gameday as a Locust master in a child process, for the CLI and sandbox layers of
test_remote_workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests import stubs
from tests.helpers import BASE, ROOT


def free_port() -> int:
    """A port for the Locust master, apart from the sandboxes' ports."""
    return stubs.free_port(range(BASE + 950, BASE + 1000))


def start_gameday(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "gameday", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(p: subprocess.Popen[str], timeout: float) -> tuple[int, str, str]:
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate(timeout=10)
        raise AssertionError(f"gameday load still running after {timeout} s: {err}") from None
    return p.returncode, out, err
