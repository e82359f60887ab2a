"""The Prometheus snapshot: real range data from the sandbox's Prometheus, and an honest
record of failure (never empty data passed off as evidence) when Prometheus is gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

from gameday.harness.evidence import snapshot


def test_unreachable_prometheus_is_recorded_as_missing(tmp_path: Path) -> None:
    end = time.time()
    snaps = snapshot("http://127.0.0.1:9", {"x": "up"}, end - 10, end, 1.0, tmp_path)
    assert snaps[0].error and "unreachable" in snaps[0].error and snaps[0].points == 0
    meta = json.loads((tmp_path / "x.json").read_text())
    assert meta["error"] and meta["points"] == 0
