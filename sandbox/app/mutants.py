"""The knobs that make the app misbehave on purpose (``config.Knobs``), one draw at a time.

They exist to prove the verdict (issues 12 and 20): each gives a share of crew spawns or
missions a bad fate, and the matrix checks that exactly the right checks fail. The decisions
live here, pure, so the handlers only act on them and a test can check the shares offline.

- A crew spawn draws twice, independently: slowed by ``crew_spawn_slow_ms`` with probability
  ``crew_spawn_slow_ratio``, refused with 503 with probability ``crew_spawn_503_ratio``.
- A mission draws once, from its id, so its fate is the same on every worker that claims it
  (a re-queued mission is not given a second chance): ``failed`` with probability
  ``mission_fail_ratio``, ``stuck`` with probability ``mission_stuck_ratio``, else ``completed``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Literal

from ..config import Knobs

MissionFate = Literal["completed", "failed", "stuck"]


@dataclass(frozen=True)
class CrewSpawnFate:
    """What the knobs do to one ``POST /v1/crews``: a delay first, then maybe a 503."""

    delay_s: float
    refuse: bool


def crew_spawn(knobs: Knobs, rng: random.Random | None = None) -> CrewSpawnFate:
    draw = (rng or random).random
    slow = knobs.crew_spawn_slow_ratio > 0 and draw() < knobs.crew_spawn_slow_ratio
    refuse = knobs.crew_spawn_503_ratio > 0 and draw() < knobs.crew_spawn_503_ratio
    return CrewSpawnFate(delay_s=knobs.crew_spawn_slow_ms / 1000 if slow else 0.0, refuse=refuse)


def mission_fate(knobs: Knobs, mission_id: uuid.UUID) -> MissionFate:
    if knobs.mission_fail_ratio == 0 and knobs.mission_stuck_ratio == 0:
        return "completed"
    u = random.Random(mission_id.int).random()  # ids are uuid4: a uniform draw, fixed per mission
    if u < knobs.mission_fail_ratio:
        return "failed"
    if u < knobs.mission_fail_ratio + knobs.mission_stuck_ratio:
        return "stuck"
    return "completed"
