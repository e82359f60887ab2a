"""Each knob really breaks the sandbox the way the verdict tests will need (issue 7).

One mutant sandbox with every knob turned: async replication, automatic rollback off, an
empty warm pool, 250 ms of extra API latency.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import Sandbox, http
from tests.load import BackgroundLoad, lookup

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_extra_latency_and_empty_pool(mutant: Sandbox) -> None:
    t0 = time.monotonic()
    code, body = http("POST", mutant.api + "/v1/crews", {"mission": "m", "agents": 2, "priority": "low"})
    took = time.monotonic() - t0
    assert code == 201
    assert body["pool"] == "cold" and body["startup_ms"] >= 2000
    assert took >= 0.25 + body["startup_ms"] / 1000 * 0.9
    t0 = time.monotonic()
    assert http("GET", f"{mutant.api}/v1/missions/{body['mission_id']}")[0] == 200
    assert time.monotonic() - t0 >= 0.25


def test_rollback_off_leaves_the_bad_release_stuck(mutant: Sandbox) -> None:
    r = mutant.post("/deployments/core-api/rollout", {"healthy": False})
    mutant.wait(lambda: mutant.status()["deployments"]["core-api"]["phase"] == "stuck", 30, "stuck")
    dep = mutant.status()["deployments"]["core-api"]
    assert dep["rollbacks"] == 0 and dep["revision"] == r["revision"]
    assert http("GET", mutant.api + "/version")[1]["revision"] == 1  # old pods still serve
    undone = mutant.post("/deployments/core-api/undo")
    assert undone["revision"] == 1
    mutant.wait(lambda: mutant.status()["deployments"]["core-api"]["phase"] == "stable", 30, "undo")


def test_async_replication_stall_loses_acknowledged_writes(mutant: Sandbox) -> None:
    with BackgroundLoad(mutant.api, clients=24, think_s=0.0, post_only=True) as load:
        time.sleep(4)
        mutant.post("/db/stall-replication", {"seconds": 60})
        time.sleep(8)
        acked_during_stall = len(load.acked)
        killed = mutant.post("/db/fail-primary")
        mutant.wait(lambda: mutant.status()["db"]["primary"] != killed["killed"], 30, "promotion")
        time.sleep(2)
    found, missing = lookup(mutant.api, load.acked)
    print(f"\n[db async] {len(load.acked)} acknowledged ({acked_during_stall} before the kill), "
          f"{len(missing)} lost after failover under a replication stall")
    assert missing, "async replication with a stall should lose acknowledged writes"
    mutant.wait(lambda: mutant.status()["db"]["standby_streaming"], 60, "standby rebuilt")
