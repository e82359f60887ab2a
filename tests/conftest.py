"""Shared fixtures and the layers' markers.

The sandboxes under test live in their own state directories on their own ports (base 18000 and
18300 by default, ``GAMEDAY_TEST_PORT_BASE`` moves them), so a developer's sandbox on the default
ports is left alone. Timings are shortened (DB detection 2 s, Redis restart 3 s) to keep fault tests
quick; everything else is the default the product ships. The fixtures are session-scoped and live
here, at the root of tests/, so every layer shares one sandbox per session.

The layer is the folder (docs/testing.md): tests/unit (in process), tests/cli (child processes, no
sandbox), tests/sandbox (a sandbox, the stub cluster or whole runs). ``pytest_collection_modifyitems``
marks tests/sandbox ``sandbox`` and ``slow``, so nobody has to remember the markers, and warns about a
test file outside the three folders or a ``sandbox``/``slow`` marker outside tests/sandbox. Under
pytest-xdist the real-sandbox tests run in lanes, one per worker (tests/sandbox_lanes.py).
Every shared helper lives in tests/helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import BASE, MUTANT_BASE, NO_REAL_SANDBOX, ROOT, SCRATCH_BASE, Sandbox, http, listening, sandbox_up

# fixtures shared by two layers live in stand-in modules, registered once here
pytest_plugins = ["tests.stubs.fake_sandbox", "tests.deploy_rbac", "tests.history_runs", "tests.stubs.webhook",
                  "tests.sandbox_lanes", "tests.machine"]

# re-exported for files written before tests/helpers.py: import from tests.helpers instead
__all__ = ["BASE", "MUTANT_BASE", "ROOT", "SCRATCH_BASE", "Sandbox", "http", "listening"]

TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "cli", "sandbox")
LAYER_MARKS = {"sandbox": ("sandbox", "slow")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Markers from the folder: tests/sandbox gets ``sandbox`` and ``slow``. A test outside the three
    folders, or marked ``sandbox``/``slow`` outside tests/sandbox, gets a warning naming the fix
    (``make test-fast`` leaves the latter out: it selects ``not sandbox and not slow``)."""
    for item in items:
        try:
            layer = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue  # not under tests/ (a path given on the command line elsewhere)
        if layer not in LAYERS:
            item.warn(pytest.PytestWarning("a test file belongs in tests/unit, tests/cli or tests/sandbox "
                                           "(docs/testing.md)"))
            continue
        for mark in LAYER_MARKS.get(layer, ()):
            item.add_marker(mark)
        if layer == "sandbox" and item.path.name not in NO_REAL_SANDBOX:
            if not any(item.iter_markers(name="flaky")):
                # once more on failure: a real sandbox on a loaded 2-core machine; each rerun is listed in
                # the summary (RERUN, "1 rerun"), and a failure twice fails (docs/testing.md, "Reruns")
                item.add_marker(pytest.mark.flaky(reruns=1))
        if layer not in LAYER_MARKS and any(any(item.iter_markers(name=m)) for m in ("sandbox", "slow")):
            item.warn(pytest.PytestWarning(f"marked sandbox/slow in tests/{layer}: move it to tests/sandbox "
                                           "(docs/testing.md)"))


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
