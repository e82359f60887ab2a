#!/usr/bin/env python3
"""Which columnar engine aggregates per window: the judge's per-window figures (requests, 5xx,
exact nearest-rank p95 of the latency) over N synthetic requests sorted by start time, computed
by numpy on binary-searched slices (what the judge does), pyarrow.compute and polars (if
installed). Each engine's figures must equal numpy's; times are the best of ``--repeat``.

    .venv/bin/python benchmarks/window_engines.py [--n 10000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import numpy as np

WINDOWS = ((0, 60), (60, 240), (240, 330), (330, 420), (420, 600))
Figures = list[tuple[int, int, float]]


def numpy_engine(t: np.ndarray, lat: np.ndarray, status: np.ndarray) -> Figures:
    out = []
    for a, b in WINDOWS:
        lo, hi = np.searchsorted(t, [a, b], side="left")
        v = lat[lo:hi]
        out.append((int(hi - lo), int((status[lo:hi] >= 500).sum()),
                    float(np.percentile(v, 95, method="inverted_cdf"))))
    return out


def arrow_engine(t: np.ndarray, lat: np.ndarray, status: np.ndarray) -> Figures:
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.table({"t": t, "lat": lat, "status": status})
    out = []
    for a, b in WINDOWS:
        part = table.filter(pc.and_(pc.greater_equal(table["t"], a), pc.less(table["t"], b)))
        n = part.num_rows
        rank = math.ceil(0.95 * n)  # nearest rank; pc.quantile interpolates or rounds differently
        top = pc.select_k_unstable(part["lat"], k=n - rank + 1, sort_keys=[("dummy", "descending")])
        p95 = float(pc.min(pc.take(part["lat"], top)).as_py())
        out.append((n, int(pc.sum(pc.greater_equal(part["status"], 500)).as_py() or 0), p95))
    return out


def polars_engine(t: np.ndarray, lat: np.ndarray, status: np.ndarray) -> Figures:
    import polars as pl

    df = pl.DataFrame({"t": t, "lat": lat, "status": status})
    out = []
    for a, b in WINDOWS:
        part = df.filter((pl.col("t") >= a) & (pl.col("t") < b))
        n = part.height
        rank = math.ceil(0.95 * n)
        row = part.select(pl.col("lat").sort().gather(rank - 1).alias("p95"),
                          (pl.col("status") >= 500).sum().alias("bad"))
        out.append((n, int(row["bad"][0]), float(row["p95"][0])))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not (1_000 <= args.n <= 50_000_000 and 1 <= args.repeat <= 10):
        print("bounds: --n 1,000..50,000,000, --repeat 1..10", file=sys.stderr)
        return 64
    rng = np.random.default_rng(5)
    t = np.sort(rng.uniform(0, 600, args.n))
    lat = np.round(rng.lognormal(3.5, 0.6, args.n), 3)
    status = np.where(rng.random(args.n) < 0.01, 503, 200).astype("int16")
    engines: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], Figures]] = {
        "numpy (sorted slices)": numpy_engine, "pyarrow.compute": arrow_engine}
    try:
        import polars  # noqa: F401

        engines["polars"] = polars_engine
    except ImportError:
        print("polars: not installed, not measured")
    expected = numpy_engine(t, lat, status)
    for name, fn in engines.items():
        best = math.inf
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            got = fn(t, lat, status)
            best = min(best, time.perf_counter() - t0)
        same = "same figures" if got == expected else f"DIFFERENT: {got} vs {expected}"
        print(f"{name:<22} {args.n:>11,} requests, {len(WINDOWS)} windows: {best:7.3f} s  ({same})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
