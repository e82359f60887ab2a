"""The default scenario: users spawn crews and follow their missions (checklist §6.1).

A standard locustfile; it runs unchanged under plain ``locust -f loadtests/crew_spawn.py``.
Each user spawns a crew (``POST /v1/crews``; the mission id of every 201 is an
acknowledgement), then follows its missions with ``GET /v1/missions/{id}`` between think
times. With 100 users and the default think time that is about 50 requests/s.

Environment knobs (so the same file serves CI and a game day): ``CREW_THINK_MIN_S`` /
``CREW_THINK_MAX_S`` (think time, default 1.5-2.5 s), ``CREW_FOLLOW_WEIGHT`` (follow requests
per spawn, default 9), ``CREW_MAX_AGENTS`` (agents per crew, 1..N, default 3).
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

THINK_MIN = float(os.environ.get("CREW_THINK_MIN_S", "1.5"))
THINK_MAX = float(os.environ.get("CREW_THINK_MAX_S", "2.5"))
FOLLOW_WEIGHT = int(os.environ.get("CREW_FOLLOW_WEIGHT", "9"))
MAX_AGENTS = int(os.environ.get("CREW_MAX_AGENTS", "3"))
PRIORITIES = ("low", "normal", "normal", "high")


class CrewUser(HttpUser):
    """One operator spawning crews and watching their missions."""

    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self) -> None:
        self.missions: list[str] = []

    @task(1)
    def spawn_crew(self) -> None:
        body = {
            "mission": f"load-{random.randrange(1 << 30):x}",
            "agents": random.randint(1, MAX_AGENTS),
            "priority": random.choice(PRIORITIES),
        }
        with self.client.post("/v1/crews", json=body, name="/v1/crews", catch_response=True) as r:
            if r.status_code == 201:
                try:
                    self.missions.append(r.json()["mission_id"])
                except (ValueError, KeyError):
                    r.failure("201 without a mission_id")
                    return
                self.missions = self.missions[-20:]
                r.success()
            else:
                r.failure(f"HTTP {r.status_code}")

    @task(FOLLOW_WEIGHT)
    def follow_mission(self) -> None:
        if not self.missions:
            self.spawn_crew()
            return
        mission_id = random.choice(self.missions)
        self.client.get(f"/v1/missions/{mission_id}", name="/v1/missions/{id}")
