"""The default scenario (loadtests/crew_spawn.py) with Locust's ``FastHttpUser`` (geventhttpclient):
the fastest client Locust has, so the recorder's per-request cost weighs the most. Used by
benchmarks/capture_fast.py; think time from ``CREW_THINK_MIN_S`` / ``CREW_THINK_MAX_S`` as there."""

from __future__ import annotations

import os
import random

from locust import FastHttpUser, between, task

THINK_MIN = float(os.environ.get("CREW_THINK_MIN_S", "1.5"))
THINK_MAX = float(os.environ.get("CREW_THINK_MAX_S", "2.5"))
FOLLOW_WEIGHT = int(os.environ.get("CREW_FOLLOW_WEIGHT", "9"))


class FastCrewUser(FastHttpUser):
    wait_time = between(THINK_MIN, THINK_MAX)

    def on_start(self) -> None:
        self.missions: list[str] = []

    @task(1)
    def spawn_crew(self) -> None:
        body = {"mission": f"load-{random.randrange(1 << 30):x}", "agents": random.randint(1, 3),
                "priority": "normal"}
        with self.client.post("/v1/crews", json=body, name="/v1/crews", catch_response=True) as r:
            if r.status_code == 201:
                try:
                    self.missions.append(r.json()["mission_id"])
                except (ValueError, KeyError, TypeError):
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
        self.client.get(f"/v1/missions/{random.choice(self.missions)}", name="/v1/missions/{id}")
