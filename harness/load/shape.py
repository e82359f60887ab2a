"""A Locust ``LoadTestShape`` that follows the run's phases (a spike: users up for a while, then back).

Loaded by the runner as one more locustfile (``-f <locustfile>,plugin.py,shape.py``) only when the
profile has a spike phase. The orchestrator owns the phases and their timeline events; it writes
the users wanted now to ``GAMEDAY_SHAPE_FILE`` (``{"users": N, "spawn_rate": R}``, replaced
atomically) at each phase boundary, and this shape returns it on every tick (Locust ticks it
every second). So the step lands with the timeline's ``spike`` phase, whatever the warm-up, the
guard or a fault did to the clock. ``use_common_options``: ``--run-time`` stays the load's bound,
and ``-u``/``-r`` are the answer while the file cannot be read (never an early stop).

Locust imports this file itself (gevent-patched): it must not import the harness.
"""

from __future__ import annotations

import json
import os

from locust import LoadTestShape


class GamedayPhases(LoadTestShape):
    """Users and spawn rate as the orchestrator's current phase wants them."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options if self.runner else None
        users = int(getattr(options, "num_users", 0) or 0)
        rate = float(getattr(options, "spawn_rate", 1.0) or 1.0)
        path = os.environ.get("GAMEDAY_SHAPE_FILE", "")
        try:
            with open(path) as f:
                data = json.load(f)
            users, rate = int(data["users"]), float(data["spawn_rate"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # keep the command line's numbers: a missing file never stops the load
        return users, rate
