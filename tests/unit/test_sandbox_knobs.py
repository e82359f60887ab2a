"""Each knob really breaks the sandbox the way the verdict tests will need (issues 7, 12, 20).

One mutant sandbox with the infrastructure knobs turned: async replication, automatic
rollback off, an empty warm pool, 250 ms of extra API latency. A second one, on the scratch
ports for this module only, with the share knobs (crew spawns refused or slowed, missions
failed or stuck) all at once: they draw independently and touch different things, so each
share is measured on its own count. The draws themselves are checked offline first.
"""

from __future__ import annotations

import math
import random
import uuid

import pytest

from gameday.sandbox.app import mutants
from gameday.sandbox.config import Knobs


def _within(measured: int, n: int, p: float, sigmas: float = 4.0) -> bool:
    """``measured`` of ``n`` is a plausible binomial draw at ``p`` (and exactly 0 when p is 0)."""
    return abs(measured / n - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def test_share_knobs_are_off_by_default() -> None:
    k = Knobs()
    assert (k.crew_spawn_503_ratio, k.crew_spawn_slow_ratio, k.crew_spawn_slow_ms,
            k.mission_fail_ratio, k.mission_stuck_ratio) == (0, 0, 0, 0, 0)
    rng = random.Random(1)
    assert all(mutants.crew_spawn(k, rng) == mutants.CrewSpawnFate(0.0, False) for _ in range(2000))
    assert {mutants.mission_fate(k, uuid.uuid4()) for _ in range(2000)} == {"completed"}


def test_share_knobs_draw_their_shares_offline() -> None:
    n = 20_000
    k = Knobs(crew_spawn_503_ratio=0.2, crew_spawn_slow_ratio=0.3, crew_spawn_slow_ms=400,
              mission_fail_ratio=0.15, mission_stuck_ratio=0.05)
    rng = random.Random(7)
    fates = [mutants.crew_spawn(k, rng) for _ in range(n)]
    assert _within(sum(f.refuse for f in fates), n, 0.2)
    assert _within(sum(f.delay_s == 0.4 for f in fates), n, 0.3)
    assert {f.delay_s for f in fates} == {0.0, 0.4}
    ids = [uuid.uuid4() for _ in range(n)]
    missions = [mutants.mission_fate(k, i) for i in ids]
    assert _within(missions.count("failed"), n, 0.15) and _within(missions.count("stuck"), n, 0.05)
    assert [mutants.mission_fate(k, i) for i in ids[:500]] == missions[:500]  # fixed per mission


@pytest.mark.parametrize("knobs", [{"crew_spawn_503_ratio": 1.01}, {"crew_spawn_slow_ms": -1},
                                   {"mission_fail_ratio": 0.6, "mission_stuck_ratio": 0.5}])
def test_share_knobs_are_bounded(knobs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Knobs(**knobs)


