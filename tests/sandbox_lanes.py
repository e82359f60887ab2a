"""The sandbox lanes of ``make test`` (``-n 2 --dist loadgroup``): a pytest-xdist scheduler, registered
by tests/conftest.py.

The tests that run a real sandbox and share one are split into one lane per worker; each worker runs its
lane in file order with its own sandboxes on its own port block (tests/helpers.py, ``BASE``), so as many
whole runs go on at a time as there are workers, never more. A file stays in one lane (its tests share
the worker's session sandbox and may rely on their order). The files of ``FLOATING`` are in no lane:
every case brings up a sandbox of its own, so each is a unit of its own that whichever worker is free
takes, as are the unit, CLI and stub-cluster tests (``NO_REAL_SANDBOX``, tests/helpers.py): that evens
out the lanes' ends, a rerun in one lane included. The lanes are balanced on ``SECONDS``, each file's
measured time from the junit times of a dry run (docs/testing.md, "Time budgets"); a file not listed
weighs ``DEFAULT_SECONDS``.

Why a scheduler and not ``xdist_group`` markers: with pytest 9.2, pytest-xdist 3.8's loadgroup no
longer sees the markers (it appends "@group" to a node id pytest no longer reads: pytest-xdist issue
#1386), and every test was scheduled alone, a file's tests split between the workers. The scheduler
reads the node ids themselves, which both sides agree on.
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

from tests.helpers import NO_REAL_SANDBOX

FLOATING = {"test_verdict_matrix.py"}
SECONDS = {"test_autoscaling_spike.py": 511, "test_long_faults.py": 444, "test_interruption.py": 352,
           "test_run.py": 298, "test_sandbox_integration.py": 203, "test_alerting.py": 105, "test_sandbox_knobs.py": 88,
           "test_chaos_sandbox.py": 81, "test_remote_workers.py": 71, "test_load_runner.py": 69, "test_notify.py": 67,
           "test_secrets.py": 66, "test_grafana_dashboard.py": 40, "test_evidence.py": 15}
DEFAULT_SECONDS = 10
SANDBOX_DIR = "tests/sandbox/"


def _file(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1]


def in_a_lane(nodeid: str) -> bool:
    """A test of tests/sandbox that brings up a real sandbox and is not one of the FLOATING files."""
    return nodeid.startswith(SANDBOX_DIR) and _file(nodeid) not in NO_REAL_SANDBOX | FLOATING


def lanes(nodeids: list[str], count: int) -> dict[str, int]:
    """Each laned test's lane: the longest files first, each to the lane with the least time so far
    (ties to the lower lane, files in name order: the same answer for the same collection)."""
    units: dict[str, list[str]] = {}
    for nodeid in filter(in_a_lane, nodeids):
        units.setdefault(_file(nodeid), []).append(nodeid)

    def seconds(unit: str) -> float:
        return SECONDS.get(unit, DEFAULT_SECONDS)

    load = [0.0] * max(1, count)
    lane_of: dict[str, int] = {}
    for unit in sorted(units, key=lambda u: (-seconds(u), u)):
        lane = load.index(min(load))
        load[lane] += seconds(unit)
        lane_of.update((nodeid, lane) for nodeid in units[unit])
    return lane_of


class SandboxLanes(LoadScopeScheduling):
    """xdist's scope scheduling with a lane as the scope of every laned test: a lane is one work unit,
    sent whole to one worker (the largest units go out first, one to each worker); every other test is
    a unit of its own."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self.lane_of: dict[str, int] = {}

    def schedule(self) -> None:
        if self.collection is None and self.collection_is_completed and self.registered_collections:
            collected = list(next(iter(self.registered_collections.values())))
            self.lane_of = lanes(collected, len(self.nodes))
        super().schedule()

    def _split_scope(self, nodeid: str) -> str:
        lane = self.lane_of.get(nodeid)
        return nodeid if lane is None else f"sandbox-lane-{lane}"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> LoadScopeScheduling | None:
    """``--dist loadgroup`` means the sandbox lanes; any other mode is xdist's own."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return SandboxLanes(config, log)
