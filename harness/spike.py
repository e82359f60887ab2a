"""The spike phase (§6.2): users step up for ``hold_s``, then back, with the timeline in step.

The orchestrator owns the clock; Locust follows it through a LoadTestShape
(harness/load/shape.py) that reads the users wanted now from ``load/shape.json``. Each step is
written there first and then put on the timeline (``spike_step``), so the ``spike`` window
starts when Locust is told, not when a schedule computed in advance guessed it would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gameday.contract.atomic import write_atomic
from gameday.contract.events import Event
from gameday.harness.profile import Profile, Spike
from gameday.harness.timeline import Timeline

Phase = Callable[[str, float], None]  # (name, seconds): one timed phase under load


def shape_file(run_dir: Path) -> Path:
    return run_dir / "load" / "shape.json"


def set_users(path: Path, users: int, spawn_rate: float) -> None:
    """What the shape returns from its next tick (atomically replaced: it never reads half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps({"users": users, "spawn_rate": spawn_rate}))


def budget_s(spike: Spike | None) -> float:
    return 0.0 if spike is None else spike.hold_s + spike.settle_s


def run(profile: Profile, spike: Spike, path: Path, tl: Timeline, phase: Phase) -> None:
    """``spike`` at ``spike.users`` for ``hold_s``, then ``after-spike`` back at ``load.users``."""
    base, rate = profile.load.users, spike.spawn_rate or profile.load.spawn_rate
    set_users(path, spike.users, rate)
    tl.append(Event.SPIKE_STEP, users=spike.users, spawn_rate=rate, from_users=base)
    phase("spike", spike.hold_s)
    set_users(path, base, rate)
    tl.append(Event.SPIKE_STEP, users=base, spawn_rate=rate, from_users=spike.users)
    phase("after-spike", spike.settle_s)
