"""Exact percentiles at scale (issue 19): on a million synthetic requests recorded as Arrow stream
batches, the judged baseline p95 is numpy's nearest rank over the very same samples."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa

from gameday.analysis.checks.client import latency_p95
from gameday.analysis.run import load_run
from gameday.contract.columnar import REQUEST_SCHEMA, StreamFile, micros, strings

N = 1_000_000
T0 = 1_800_000_000.0


def test_the_judged_p95_of_a_million_requests_is_numpys_nearest_rank(tmp_path: Path) -> None:
    rng = np.random.default_rng(19)
    t = T0 + np.sort(rng.uniform(0, 300, N))
    lat = np.round(rng.lognormal(3.5, 0.7, N), 3)  # what the plugin keeps: microseconds
    f = StreamFile(str(tmp_path / "requests.local-1.arrows"), REQUEST_SCHEMA)
    for i in range(0, N, 3000):
        s = slice(i, i + 3000)
        k = len(t[s])
        f.write(pa.record_batch([
            micros(t[s], 1e6), micros(lat[s], 1e3), strings(["/v1/missions/{id}"] * k), strings(["GET"] * k),
            pa.array(np.full(k, 200, dtype="int16")), pa.array(np.ones(k, dtype="int8")), strings([""] * k),
            pa.array([""] * k, type=pa.string()), micros(np.full(k, math.nan), 1e6),
            micros(np.full(k, math.nan), 1e3)], schema=REQUEST_SCHEMA))
    f.close(sync=False)
    events = [{"t": T0, "event": "phase_started", "phase": "baseline"},
              {"t": T0 + 200, "event": "phase_ended", "phase": "baseline"}]
    (tmp_path / "timeline.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (tmp_path / "profile.yaml").write_text("name: p95\n")

    run = load_run(tmp_path)
    assert len(run.requests) == N and run.damage == ()
    (result,) = [r for r in latency_p95(run) if r.window.startswith("baseline")]

    samples = np.sort(lat[(t >= T0) & (t < T0 + 200)])
    nearest_rank = samples[math.ceil(0.95 * len(samples)) - 1]  # the ceil(0.95 n)-th smallest
    assert result.details["samples"] == len(samples) > 600_000
    assert result.value == nearest_rank
    assert result.value != np.percentile(samples, 95)  # interpolated would differ: the check is not vacuous
