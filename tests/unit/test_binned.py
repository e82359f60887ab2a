"""The charts' per-bin statistics (gameday.analysis.render.binned) in bounded memory: bin keys computed a
chunk at a time, and per-operation quantiles from one pass over the bins, give exactly what the
whole-array forms gave."""

from __future__ import annotations

import numpy as np
import pytest

from gameday.analysis.render import binned


def _whole_segments(t: np.ndarray, origin: float, bin_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = (t - origin) // bin_s
    starts = np.concatenate([[0], np.flatnonzero(np.diff(k)) + 1])
    ends = np.concatenate([starts[1:], [t.size]])
    return k[starts] * bin_s + bin_s / 2, starts, ends


def test_chunked_bin_keys_are_the_whole_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binned, "CHUNK", 97)  # bins straddle chunk boundaries, chunks start mid-bin and on one
    rng = np.random.default_rng(3)
    for size in (1, 2, 96, 97, 98, 1000, 5003):
        t = np.sort(rng.uniform(0, 60, size))
        t[size // 2:] = np.maximum(t[size // 2:], 30.0)  # runs of equal keys across a chunk edge
        for got, want in zip(binned.segments(t, 1.7, 2.0), _whole_segments(t, 1.7, 2.0), strict=True):
            np.testing.assert_array_equal(got, want)


def test_per_operation_quantiles_are_those_of_each_operations_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binned, "CHUNK", 250)
    rng = np.random.default_rng(4)
    n = 4000
    t = np.sort(rng.uniform(0, 100, n))
    v = rng.lognormal(3, 1, n)
    codes = rng.choice(np.array([-1, 0, 1, 2], dtype="int8"), n, p=[0.05, 0.6, 0.35, 0.0])  # 2: no row at all
    got = binned.quantiles_by_code(t, v, codes, 3, 0.0, 2.0, 0.95)
    for code in (0, 1):
        sel = codes == code
        centres, values = binned.quantiles(t[sel], v[sel], 0.0, 2.0, (0.95,))
        np.testing.assert_array_equal(got[code][0], centres)
        np.testing.assert_array_equal(got[code][1], values[0])
    assert got[2][0].size == 0 and got[2][1].size == 0


def test_means_count_booleans_without_a_float_copy() -> None:
    t = np.array([0.5, 1.0, 2.5, 2.6, 2.7])
    bad = np.array([True, False, True, True, False])
    centres, share = binned.means(t, bad, 0.0, 2.0)
    np.testing.assert_array_equal(centres, [1.0, 3.0])
    np.testing.assert_array_equal(share, [0.5, 2 / 3])
