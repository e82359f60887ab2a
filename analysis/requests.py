"""The recorded requests of a run directory, as one DataFrame, and exact statistics over them.

Reads ``requests.*.csv`` (one file per Locust process; a torn last line of a killed process is
dropped) — nothing else. Percentiles are exact nearest-rank over the raw samples, unlike
Locust's own, which round response times to two significant digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = {
    "t_start": "float64", "latency_ms": "float64", "name": "string", "method": "string",
    "status": "Int64", "ok": "Int64", "error": "string", "mission_id": "string",
    "t_intended": "float64", "latency_intended_ms": "float64",
}


def read_requests(run_dir: Path) -> pd.DataFrame:
    """Every request row of the run, sorted by start time."""
    frames = []
    for f in sorted(run_dir.glob("requests.*.csv")):
        try:
            df = pd.read_csv(f, dtype=COLUMNS, keep_default_na=False, na_values={"t_intended": [""],
                             "latency_intended_ms": [""], "status": [""], "ok": [""]},
                             on_bad_lines="skip", engine="c")
        except pd.errors.EmptyDataError:
            continue
        frames.append(df.dropna(subset=["t_start", "latency_ms", "status", "ok"]))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in COLUMNS.items()})
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values("t_start", kind="stable").reset_index(drop=True)


ACK_COLUMNS = {"t_ack": "float64", "mission_id": "string", "latency_ms": "float64",
               "startup_ms": "float64", "pool": "string"}
ACK_REQUIRED = ("t_ack", "mission_id", "latency_ms")  # runs before start-up was recorded have only these


def read_acks(run_dir: Path) -> pd.DataFrame:
    """Every acknowledged crew: when, its mission, the 201's latency, and (where the 201 said so)
    the crew's start-up in ms and the pool it came from (NaN / empty when not said)."""
    frames = []
    for f in sorted(run_dir.glob("acks.*.csv")):
        try:
            df = pd.read_csv(f, dtype=ACK_COLUMNS, keep_default_na=False,
                             na_values={"startup_ms": [""], "t_ack": [""], "latency_ms": [""]}, on_bad_lines="skip")
        except pd.errors.EmptyDataError:
            continue
        if not set(ACK_REQUIRED) <= set(df.columns):
            continue
        for col, dtype in ACK_COLUMNS.items():
            if col not in df.columns:
                df[col] = pd.Series(dtype=dtype, index=df.index)
        frames.append(df[list(ACK_COLUMNS)].dropna(subset=list(ACK_REQUIRED)))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in ACK_COLUMNS.items()})
    return pd.concat(frames, ignore_index=True).sort_values("t_ack").reset_index(drop=True)


def percentile(values: np.ndarray | pd.Series, q: float) -> float:
    """Exact nearest-rank percentile (``q`` in 0..100); NaN when there are no samples."""
    arr = np.asarray(values, dtype="float64")
    if arr.size == 0:
        return float("nan")
    return float(np.percentile(arr, q, method="inverted_cdf"))


@dataclass(frozen=True)
class LatencySummary:
    requests: int
    failures: int
    fivexx: int
    duration_s: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    p95_intended_ms: float  # open model: from the intended start (coordinated omission corrected)
    acks: int


def summarize(df: pd.DataFrame, acks: int) -> LatencySummary:
    n = len(df)
    if n:
        span = float((df["t_start"] + df["latency_ms"] / 1000).max() - df["t_start"].min())
    else:
        span = 0.0
    lat = df["latency_ms"].to_numpy(dtype="float64")
    intended = df["latency_intended_ms"].dropna().to_numpy(dtype="float64")
    status = df["status"].fillna(0).astype("int64")
    return LatencySummary(
        requests=n, failures=int((df["ok"] == 0).sum()), fivexx=int(((status >= 500) & (status < 600)).sum()),
        duration_s=span, rps=n / span if span > 0 else 0.0,
        p50_ms=percentile(lat, 50), p95_ms=percentile(lat, 95), p99_ms=percentile(lat, 99),
        p95_intended_ms=percentile(intended, 95), acks=acks)
