"""The Prometheus snapshot: real range data from the sandbox's Prometheus, and an honest
record of failure (never empty data passed off as evidence) when Prometheus is gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gameday.harness.evidence import snapshot
from gameday.harness.profile import DEFAULT_PROMQL
from tests.helpers import Sandbox, http


def test_snapshot_of_the_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    for _ in range(5):
        http("POST", sandbox.api + "/v1/crews", {"mission": "evidence", "agents": 1})
    time.sleep(3)
    end = time.time()
    snaps = snapshot(sandbox.prometheus, DEFAULT_PROMQL, end - 60, end, 1.0, tmp_path)
    by_name = {s.name: s for s in snaps}
    assert set(by_name) == set(DEFAULT_PROMQL)
    assert all(s.error is None for s in snaps), [s.error for s in snaps if s.error]
    for name in ("warm_pool_size", "deployment_revision", "requests_by_status"):
        assert by_name[name].points >= 3, name  # one point a second since the target was found
    meta = json.loads((tmp_path / "warm_pool_size.json").read_text())
    assert meta["query"] == DEFAULT_PROMQL["warm_pool_size"] and meta["step_s"] == 1.0
    header = (tmp_path / "warm_pool_size.csv").read_text().splitlines()[0]
    assert header == "timestamp,value,labels"


