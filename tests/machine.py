"""The machine to itself for the runs that judge a healthy target's latency: a readers-writer lock
across the pytest-xdist workers, registered by tests/conftest.py.

Every test that runs a real sandbox (tests/sandbox, the stub-cluster files of ``NO_REAL_SANDBOX``
excepted) holds the machine *shared* while it runs: two lanes' whole runs go on side by side, as
docs/testing.md measures. A test marked ``alone`` holds it *exclusively*: it waits for the other
worker's sandbox test to end, and the other worker waits for it. Those are the runs whose every p95
line must hold on a healthy target — the smoke certification, the healthy spike, the 70 s outage and
the verdict matrix (each mutant must fail for its own reason and for no p95 besides): in a slow hour
of CI (2026-12-02, pytest 49 min) three mutants failed an extra ``operation_p95`` and the
certification and the spike failed twice each, while ``nice -n -10`` gave them the CPU first. Niceness
orders the CPU, not the disk, the memory bus or a stall of the virtual machine; a run of its own is
what a certification gets on a real game day. Unit and CLI tests take no lock: they start no sandbox
and stay on ``nice``'s side of the line.

A waiting writer holds the gate, so the other worker cannot start one sandbox test after another and
starve it (flock(2) has no writer preference). The lock files live beside pytest's temporary
directories, named by xdist's run id: another ``pytest`` at the same time has its own. Without xdist
(one process) there is nothing to share the machine with and nothing is locked. The lock is held for
the test's call and its function-scoped fixtures; a lane's module-scoped sandbox may still come up
beside an ``alone`` run (a few seconds of CPU, which ``nice`` gives way to).
"""

from __future__ import annotations

import fcntl
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import NO_REAL_SANDBOX

ALONE = "alone"


@contextmanager
def held(base: Path, exclusive: bool) -> Iterator[float]:
    """The machine held (shared, or ``exclusive``); yields the seconds waited for it."""
    t0 = time.monotonic()
    with open(f"{base}.gate", "a+") as gate, open(f"{base}.lock", "a+") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX)  # in line: a writer waits here holding it, so no reader gets past
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield time.monotonic() - t0
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def runs_a_sandbox(item: pytest.Item) -> bool:
    return any(item.iter_markers(name="sandbox")) and item.path.name not in NO_REAL_SANDBOX


@pytest.fixture(autouse=True)
def _the_machine(request: pytest.FixtureRequest) -> Iterator[None]:
    item = request.node
    uid = getattr(request.config, "workerinput", {}).get("testrunuid")
    if uid is None or not isinstance(item, pytest.Item) or not runs_a_sandbox(item):
        yield
        return
    alone = any(item.iter_markers(name=ALONE))
    with held(Path(tempfile.gettempdir()) / f"gameday-tests-{uid}", exclusive=alone) as waited:
        if alone and waited >= 1:
            item.user_properties.append(("waited_for_the_machine_s", round(waited, 1)))
        yield
