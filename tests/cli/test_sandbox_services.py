"""Rendered configs carry the checklist's settings (§2.1 PgBouncer, §2.2 Redis)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gameday.sandbox import procs
from gameday.sandbox.layout import Layout

# A stand-in for a Postgres backend (issue 24): the "postmaster" forks a child that leaves the
# process group (setsid, as every backend does), moves into the data directory and SIGSTOPs
# itself, as a replication stall leaves a WAL sender. Named "postgres" through a symlink, so
# its process name is the one the sweep looks for.
_BACKEND = """
import os, signal, sys, time
data = sys.argv[1]
pid = os.fork()
if pid == 0:
    os.setsid()
    os.chdir(data)
    with open(os.path.join(data, "backend.pid"), "w") as f:
        f.write(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def _postmaster_with_stopped_backend(tmp_path: Path) -> tuple[Layout, int, int]:
    import time

    import psutil

    layout = Layout(tmp_path / "state")
    layout.ensure()
    data = layout.pg_data("db-a")
    data.mkdir(parents=True)
    fake = tmp_path / "postgres"
    fake.symlink_to(sys.executable)
    proc = procs.spawn(layout, "db-a", [str(fake), "-c", _BACKEND, str(data)])
    pidfile = data / "backend.pid"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if pidfile.exists() and pidfile.read_text():
            child = int(pidfile.read_text())
            if psutil.Process(child).status() == psutil.STATUS_STOPPED:
                return layout, proc.pid, child
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the stand-in backend did not stop itself")


def test_kill_tree_takes_a_stopped_backend_outside_the_group(tmp_path: Path) -> None:
    """kill -9 of an instance kills its backends too, stopped or not: none outlives it."""
    layout, leader, child = _postmaster_with_stopped_backend(tmp_path)
    assert os.getpgid(child) != os.getpgid(leader)  # killpg alone would miss it
    procs.kill_tree(leader)
    os.waitpid(leader, 0)
    _gone_within(child, 5)
    assert procs.members(layout) == []


def test_sweep_ends_a_stopped_orphan_of_a_killed_postmaster(tmp_path: Path) -> None:
    """The leftover of issue 24: a stopped backend re-parented to init, no pidfile names it."""
    import signal

    layout, leader, child = _postmaster_with_stopped_backend(tmp_path)
    procs.signal_group(leader, signal.SIGKILL)  # the group only: the backend lives on, stopped
    os.waitpid(leader, 0)
    assert procs.alive(child)
    assert [p.pid for p in procs.members(layout)] == [child]
    killed = procs.sweep(layout)
    assert any(f"pid {child} postgres (stopped)" == k for k in killed), killed
    _gone_within(child, 5)
    assert procs.members(layout) == []


def test_stop_pid_ends_the_tree_stopped_members_included(tmp_path: Path) -> None:
    """A clean stop (SIGTERM to the group) also continues and ends the descendants that left it."""
    layout, leader, child = _postmaster_with_stopped_backend(tmp_path)
    assert procs.stop_pid(leader, str(layout.root), grace=2.0)
    _gone_within(child, 5)
    assert procs.members(layout) == []


def _gone_within(pid: int, seconds: float) -> None:
    import time

    deadline = time.monotonic() + seconds
    while procs.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not procs.alive(pid), f"pid {pid} is still alive"


def test_owned_refuses_a_foreign_process(tmp_path: Path) -> None:
    """A pidfile pointing at a process that does not name the state dir is never signalled."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert procs.alive(p.pid)
        assert not procs.owned(p.pid, str(tmp_path))
        assert procs.stop_pid(p.pid, str(tmp_path), grace=0.1) is False
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()
    assert not procs.alive(p.pid)


