"""gameday compare over synthetic runs: identical runs pass, +30 % latency fails, noise passes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gameday.analysis.compare import compare, exit_code
from tests.helpers import make_run


def run_with(tmp: Path, name: str, scale: float, seed: int) -> Path:
    d = tmp / name
    d.mkdir()
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(10, 130, 4000))
    lat = rng.lognormal(3.5, 0.5, t.size) * scale
    return make_run(d, [(float(a), float(b), 200, "") for a, b in zip(t, lat, strict=True)])


def test_identical_runs_pass(tmp_path: Path) -> None:
    a = run_with(tmp_path, "a", 1.0, 1)
    res = compare(a, a)
    assert [c.classification for c in res] == ["pass", "pass", "pass"] and exit_code(res) == 0


def test_two_healthy_runs_with_noise_pass(tmp_path: Path) -> None:
    res = compare(run_with(tmp_path, "a", 1.0, 1), run_with(tmp_path, "b", 1.0, 2))
    assert res[0].classification == "pass", res[0].detail


def test_thirty_percent_slower_fails(tmp_path: Path) -> None:
    res = compare(run_with(tmp_path, "a", 1.0, 1), run_with(tmp_path, "b", 1.3, 2))
    lat = res[0]
    assert lat.classification == "fail" and 0.2 < lat.change < 0.45, lat.detail
    assert exit_code(res) == 1


def test_fifteen_percent_slower_is_marginal(tmp_path: Path) -> None:
    res = compare(run_with(tmp_path, "a", 1.0, 1), run_with(tmp_path, "b", 1.17, 2))
    assert res[0].classification == "marginal", res[0].detail
    assert exit_code(res) == 0
