"""The sandbox lanes of ``make test`` (``-n 2 --dist loadgroup``): a pytest-xdist scheduler, registered
by tests/conftest.py.

The tests that run a real sandbox are split into one lane per worker; each worker runs its lane in
file order with its own sandboxes on its own port block (tests/helpers.py, ``BASE``), so two whole
runs go on at a time, never more. A file stays in one lane (its tests share the worker's session
sandbox and may rely on their order), except the files of ``SPLIT_BY_CASE``, whose every case brings
up a sandbox of its own. The lanes are balanced on ``SECONDS``, each file's measured time (a case's
for ``SPLIT_BY_CASE``) from the junit times of a two-lane dry run (docs/testing.md, "Time budgets");
a file not listed weighs ``DEFAULT_SECONDS``. Every other test (unit, CLI, the stub cluster's files in
``NO_REAL_SANDBOX``, tests/helpers.py) is a unit of its own: a worker takes them once its lane is done, which evens out
the lanes' ends.

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

SPLIT_BY_CASE = {"test_verdict_matrix.py"}
SECONDS = {"test_verdict_matrix.py": 86, "test_autoscaling_spike.py": 497, "test_long_faults.py": 449,
           "test_interruption.py": 364, "test_run.py": 334, "test_sandbox_integration.py": 210,
           "test_sandbox_knobs.py": 116, "test_alerting.py": 101, "test_chaos_sandbox.py": 74,
           "test_remote_workers.py": 71, "test_secrets.py": 66, "test_notify.py": 60, "test_load_runner.py": 49,
           "test_grafana_dashboard.py": 48, "test_evidence.py": 13}
DEFAULT_SECONDS = 10
SANDBOX_DIR = "tests/sandbox/"


def needs_a_sandbox(nodeid: str) -> bool:
    """A test of tests/sandbox that brings up a real sandbox (not one of the stub-cluster files)."""
    path = nodeid.split("::", 1)[0]
    return path.startswith(SANDBOX_DIR) and path.rsplit("/", 1)[-1] not in NO_REAL_SANDBOX


def lanes(nodeids: list[str], count: int) -> dict[str, int]:
    """Each real-sandbox test's lane: the longest units first, each to the lane with the least time
    so far (ties to the lower lane, units in name order: the same answer for the same collection)."""
    units: dict[str, list[str]] = {}
    for nodeid in filter(needs_a_sandbox, nodeids):
        name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
        units.setdefault(nodeid if name in SPLIT_BY_CASE else name, []).append(nodeid)

    def seconds(unit: str) -> float:
        return SECONDS.get(units[unit][0].split("::", 1)[0].rsplit("/", 1)[-1], DEFAULT_SECONDS)

    load = [0.0] * max(1, count)
    lane_of: dict[str, int] = {}
    for unit in sorted(units, key=lambda u: (-seconds(u), u)):
        lane = load.index(min(load))
        load[lane] += seconds(unit)
        lane_of.update((nodeid, lane) for nodeid in units[unit])
    return lane_of


class SandboxLanes(LoadScopeScheduling):
    """xdist's scope scheduling with a lane as the scope of every real-sandbox test: a lane is one
    work unit, sent whole to one worker (the largest units go out first, one to each worker)."""

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
