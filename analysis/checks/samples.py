"""Selections over the recorded requests that several checks share."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.windows import Window

BUCKET_S = 5.0


def in_window(df: pd.DataFrame, w: Window) -> pd.DataFrame:
    return df[(df["t_start"] >= w.start) & (df["t_start"] < w.end)]


def server_errors(df: pd.DataFrame) -> pd.Series:
    """5xx, and requests that got no answer at all (status 0): both are the service failing."""
    status = df["status"].fillna(0).astype("int64")
    return (status >= 500) | (status == 0)


def recovered_at(df: pd.DataFrame, t0: float, end: float, p95_line_ms: float,
                 err_line: float) -> tuple[float | None, int]:
    """When requests after ``t0`` are back within SLA for good, and how many buckets were seen.

    Requests from ``t0`` to ``end`` are cut into ``BUCKET_S`` buckets; a bucket is bad when its
    server-error ratio reaches ``err_line`` or its p95 reaches ``p95_line_ms``. Returns the end
    of the last bad bucket (``t0`` if none was bad), or None if the last bucket is still bad.
    """
    after = df[(df["t_start"] >= t0) & (df["t_start"] < end)]
    if after.empty:
        return None, 0
    edges = np.arange(t0, end + BUCKET_S, BUCKET_S)
    idx = np.digitize(after["t_start"].to_numpy(), edges) - 1
    bad_err = server_errors(after).to_numpy()
    lat = after["latency_ms"].to_numpy()
    last_bad_end = t0
    last_bad = False
    buckets = np.unique(idx)
    for b in buckets:
        sel = idx == b
        bad = float(bad_err[sel].mean()) >= err_line or float(
            np.percentile(lat[sel], 95, method="inverted_cdf")) >= p95_line_ms
        last_bad = bad
        if bad:
            last_bad_end = min(float(edges[b] + BUCKET_S), end)
    return (None if last_bad else last_bad_end), len(buckets)
