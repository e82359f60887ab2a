"""Shared fixtures and the layers' markers.

The sandboxes under test live in their own state directories on their own ports (base 18000 and
18300 by default, ``GAMEDAY_TEST_PORT_BASE`` moves them), so a developer's sandbox on the default
ports is left alone. Timings are shortened (DB detection 2 s, Redis restart 3 s) to keep fault tests
quick; everything else is the default the product ships. The fixtures are session-scoped and live
here, at the root of tests/, so every layer shares one sandbox per session.

The layer is the folder (docs/testing.md): tests/unit (in process), tests/cli (child processes, no
sandbox), tests/sandbox (a sandbox, the stub cluster or whole runs). ``pytest_collection_modifyitems``
marks tests/sandbox ``sandbox`` and ``slow``, so nobody has to remember the markers, and warns about a
test file outside the three folders or a ``sandbox``/``slow`` marker outside tests/sandbox.
Every shared helper lives in tests/helpers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import BASE, MUTANT_BASE, ROOT, SCRATCH_BASE, Sandbox, http, listening, sandbox_up

# fixtures shared by two layers live in stand-in modules, registered once here
pytest_plugins = ["tests.stubs.fake_sandbox", "tests.deploy_rbac", "tests.history_runs", "tests.stubs.webhook"]

# re-exported for files written before tests/helpers.py: import from tests.helpers instead
__all__ = ["BASE", "MUTANT_BASE", "ROOT", "SCRATCH_BASE", "Sandbox", "http", "listening"]

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "cli", "sandbox")
LAYER_MARKS = {"sandbox": ("sandbox", "slow")}
# tests/sandbox files that need no real sandbox (the stub cluster, chaos validate): under pytest-xdist
# (`make test`: -n 2 --dist loadgroup) they run beside the sandbox lanes; every other tests/sandbox file
# is in one lane (below)
NO_REAL_SANDBOX = {"test_chaos_cluster.py", "test_safety_corpus.py", "test_deploy.py", "test_rollback_k8s.py",
                   "test_chaos_validate.py", "test_fis_fault.py", "test_identity_before_rollback.py"}
# Lanes: under pytest-xdist (`make test`: -n 2) the tests that run a real sandbox are split into one
# xdist group per worker, "sandbox-0", "sandbox-1", ...: each worker brings up its own sandboxes on its own
# port block (tests/helpers.py, BASE) and runs its lane in file order, two whole runs at a time on two
# workers. A file stays in one lane (its tests share a session sandbox and may rely on its order), but
# for the files in SPLIT_BY_CASE, whose every case brings up a sandbox of its own. The lanes are balanced
# on these seconds (each file's whole time, a case's for SPLIT_BY_CASE), from the two-lane dry run of
# docs/testing.md "Time budgets" (junit times); a file not listed weighs DEFAULT_SECONDS.
SPLIT_BY_CASE = {"test_verdict_matrix.py"}
SECONDS = {"test_verdict_matrix.py": 86, "test_autoscaling_spike.py": 497, "test_long_faults.py": 449,
           "test_interruption.py": 364, "test_run.py": 334, "test_sandbox_integration.py": 210,
           "test_sandbox_knobs.py": 116, "test_alerting.py": 101, "test_chaos_sandbox.py": 74,
           "test_remote_workers.py": 71, "test_secrets.py": 66, "test_notify.py": 60, "test_load_runner.py": 49,
           "test_grafana_dashboard.py": 48, "test_evidence.py": 13}
DEFAULT_SECONDS = 10


def _lanes(items: list[pytest.Item], lanes: int) -> dict[str, int]:
    """Each item's lane: the longest units first, each to the lane with the least time so far (the
    same on every worker: xdist checks that every worker collected the same groups)."""
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(item.nodeid if item.path.name in SPLIT_BY_CASE else item.path.name, []).append(item)
    load = [0.0] * lanes
    lane_of: dict[str, int] = {}
    def seconds(unit: str) -> float:
        return SECONDS.get(units[unit][0].path.name, DEFAULT_SECONDS)

    for unit in sorted(units, key=lambda u: (-seconds(u), u)):
        lane = load.index(min(load))
        load[lane] += seconds(unit)
        members = units[unit]
        lane_of.update((m.nodeid, lane) for m in members)
    return lane_of


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers from the folder: tests/sandbox gets ``sandbox`` and ``slow``. A test outside the three
    folders, or marked ``sandbox``/``slow`` outside tests/sandbox, gets a warning naming the fix
    (``make test-fast`` leaves the latter out: it selects ``not sandbox and not slow``)."""
    real = [i for i in items if _layer(i) == "sandbox" and i.path.name not in NO_REAL_SANDBOX]
    lane_of = _lanes(real, max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
    for item in items:
        layer = _layer(item)
        if layer is None:
            continue  # not under tests/ (a path given on the command line elsewhere)
        if layer not in LAYERS:
            item.warn(pytest.PytestWarning("a test file belongs in tests/unit, tests/cli or tests/sandbox "
                                           "(docs/testing.md)"))
            continue
        for mark in LAYER_MARKS.get(layer, ()):
            item.add_marker(mark)
        if layer == "sandbox" and item.path.name not in NO_REAL_SANDBOX:
            item.add_marker(pytest.mark.xdist_group(f"sandbox-{lane_of[item.nodeid]}"))
            if not any(item.iter_markers(name="flaky")):
                # once more on failure: a real sandbox on a loaded 2-core machine; each rerun is listed in
                # the summary (RERUN, "1 rerun"), and a failure twice fails (docs/testing.md, "Reruns")
                item.add_marker(pytest.mark.flaky(reruns=1))
        if layer not in LAYER_MARKS and any(any(item.iter_markers(name=m)) for m in ("sandbox", "slow")):
            item.warn(pytest.PytestWarning(f"marked sandbox/slow in tests/{layer}: move it to tests/sandbox "
                                           "(docs/testing.md)"))


def _layer(item: pytest.Item) -> str | None:
    try:
        return item.path.resolve().relative_to(TESTS).parts[0]
    except ValueError:
        return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Why each rerun test failed the first time: a pass on the second try is a flake to look into,
    never silence (the summary line says "N rerun"; this says of what). The reporter keeps each failure
    that was run again under the outcome pytest-rerunfailures gives it, "rerun"."""
    reruns = terminalreporter.stats.get("rerun", [])
    if not reruns:
        return
    terminalreporter.section("first failures of the tests run again")
    for report in reruns:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash else report.longreprtext[-1500:]
        shown = "\n    ".join(message.splitlines()[:12])[:1500]  # the assertion's table, not the run's output
        terminalreporter.line(f"{report.nodeid}:\n    {shown}")


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """The default sandbox (sync replication, auto-rollback on, warm pool on)."""
    yield from sandbox_up("sandbox", BASE, [])


@pytest.fixture(scope="session")
def mutant() -> Iterator[Sandbox]:
    """A sandbox with every knob turned to break it."""
    yield from sandbox_up("mutant", MUTANT_BASE,
                   ["knobs.replication=async", "knobs.auto_rollback=false",
                    "knobs.warm_pool_size=0", "knobs.extra_latency_ms=250"])
