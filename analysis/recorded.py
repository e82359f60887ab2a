"""The recorded requests of a run directory, as one DataFrame, and exact statistics over them.

Reads ``requests.*.arrows`` (Arrow IPC streams, one per Locust process: ``gameday.analysis.streams``, in
bounded memory) and ``requests.*.csv`` (older runs, and ``gameday export``; a torn last line of
a killed process is dropped) — nothing else. Percentiles are exact nearest-rank over the raw
samples, unlike Locust's own, which round response times to two significant digits.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gameday.analysis.damage import Damage, Evidence
from gameday.contract.rundir import ACK_COLUMNS as ACK_NAMES
from gameday.contract.rundir import (
    ACK_REQUIRED,
    ACKS_GLOB,
    ACKS_STREAM_GLOB,
    REQUEST_COLUMNS,
    REQUEST_REQUIRED,
    REQUESTS_GLOB,
    REQUESTS_STREAM_GLOB,
)

_DTYPES = {"t_start": "float64", "latency_ms": "float64", "name": "string", "method": "string",
           "status": "Int64", "ok": "Int64", "error": "string", "mission_id": "string",
           "t_intended": "float64", "latency_intended_ms": "float64",
           "t_ack": "float64", "startup_ms": "float64", "pool": "string"}
COLUMNS = {c: _DTYPES[c] for c in REQUEST_COLUMNS}
ACK_COLUMNS = {c: _DTYPES[c] for c in ACK_NAMES}
_REQUEST_ROW = ("t_start", "latency_ms", "status", "ok")  # a row without these (a torn one) is not a request
_ACK_ROW = ("t_ack", "mission_id", "latency_ms")


def read_requests(run_dir: Path) -> pd.DataFrame:
    """Every request row of the run, sorted by start time (damaged rows left out)."""
    return read_requests_checked(run_dir)[0]


def read_requests_checked(run_dir: Path) -> tuple[pd.DataFrame, list[Damage]]:
    """Every valid request row of the run, sorted by start time, and every damage (file and line)."""
    return _read_all(run_dir, REQUESTS_GLOB, Evidence.REQUESTS, COLUMNS, REQUEST_REQUIRED, _REQUEST_ROW, "t_start",
                     REQUESTS_STREAM_GLOB)


def read_acks(run_dir: Path) -> pd.DataFrame:
    """Every acknowledged crew: when, its mission, the 201's latency, and (where the 201 said so)
    the crew's start-up in ms and the pool it came from (NaN / empty when not said)."""
    return read_acks_checked(run_dir)[0]


def read_acks_checked(run_dir: Path) -> tuple[pd.DataFrame, list[Damage]]:
    return _read_all(run_dir, ACKS_GLOB, Evidence.ACKS, ACK_COLUMNS, ACK_REQUIRED, _ACK_ROW, "t_ack", ACKS_STREAM_GLOB)


def _read_all(run_dir: Path, glob: str, evidence: Evidence, columns: dict[str, str], required: tuple[str, ...],
              row: tuple[str, ...], sort_by: str, stream_glob: str) -> tuple[pd.DataFrame, list[Damage]]:
    """Every per-process file of one kind, valid rows concatenated and sorted, with their damage:
    the Arrow streams (columnar, bounded memory) and the CSV files (older runs, exports)."""
    frames, damage = [], []
    streams = sorted(run_dir.glob(stream_glob))
    if streams:
        from gameday.analysis.streams import read_streams  # pyarrow: only for a run that has streams
        from gameday.contract.columnar import ACK_SCHEMA, REQUEST_SCHEMA

        schema = ACK_SCHEMA if evidence is Evidence.ACKS else REQUEST_SCHEMA
        df, dmg = read_streams(run_dir, streams, evidence, columns, row, schema, sort_by)
        damage += dmg
        if df is not None:
            frames.append(df)
    for f in sorted(run_dir.glob(glob)):
        df, dmg = _read_rows(f, run_dir, evidence, columns, required, row)
        damage += dmg
        if df is not None:
            frames.append(df)
    if not frames:
        return _empty(columns), damage
    if len(frames) == 1 and streams:
        return frames[0], damage  # already sorted, its dictionaries kept as categoricals
    frames = [f.astype({c: "string" for c in f.columns if isinstance(f[c].dtype, pd.CategoricalDtype)})
              for f in frames]
    return pd.concat(frames, ignore_index=True).sort_values(sort_by, kind="stable").reset_index(drop=True), damage


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def _read_rows(path: Path, run_dir: Path, evidence: Evidence, columns: dict[str, str], required: tuple[str, ...],
               row: tuple[str, ...]) -> tuple[pd.DataFrame | None, list[Damage]]:
    """One rows file, validated: the header has every required column, numbers are numbers.
    Optional columns missing from an older file are added empty. A torn last line is dropped
    silently (a killed writer); a row that does not parse anywhere else is damage."""
    name = path.relative_to(run_dir).as_posix()
    damage: list[Damage] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Damage(evidence, name, None, f"unreadable ({type(exc).__name__}: {exc})")]
    if not raw.strip():
        return None, [Damage(evidence, name, None, "empty file: not even the header row")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        damage.append(Damage(evidence, name, raw[:exc.start].count(b"\n") + 1, "not UTF-8"))
        text = raw.decode("utf-8", errors="replace")
    torn = not raw.endswith(b"\n")
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, on_bad_lines="skip", engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        return None, [*damage, Damage(evidence, name, None, f"not CSV ({type(exc).__name__}: {exc})")]
    missing = [c for c in required if c not in df.columns]
    if missing:
        return None, [*damage, Damage(evidence, name, 1, f"header lacks {', '.join(missing)} "
                                                         f"(has: {', '.join(map(str, df.columns))})")]
    for col in columns:
        if col not in df.columns:
            df[col] = ""
    df = df[list(columns)]
    bad = pd.Series(False, index=df.index)
    for col, dtype in columns.items():
        if dtype == "string":
            continue
        given = df[col].str.strip()
        num = pd.to_numeric(given, errors="coerce")
        wrong = (num.isna() & (given != "")) | np.isinf(num.fillna(0))
        if dtype == "Int64":
            wrong |= num.notna() & (num % 1 != 0)
        if torn and len(df):
            wrong.iloc[-1] = False  # a torn last line is not damage; dropped below if incomplete
        for i in df.index[wrong][:3]:
            damage.append(Damage(evidence, name, int(i) + 2, f"{col}={df.at[i, col]!r} is not a number"))
        if wrong.sum() > 3:
            damage.append(Damage(evidence, name, None, f"{int(wrong.sum()) - 3} more rows with a bad {col}"))
        bad |= wrong
        df[col] = num.where(~wrong)
    if torn and len(df):
        bad.iloc[-1] = True  # a torn last line (a killed writer) is never a row
    df = df[~bad]
    out = df.astype(columns).dropna(subset=list(row))
    return out, damage


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
