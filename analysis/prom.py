"""The Prometheus evidence of a run directory: ``prometheus/<name>.csv`` and its sidecar.

A series whose sidecar records an error, or that has no sidecar, is missing evidence; the
checks say so instead of judging an empty series.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gameday.analysis.windows import Window


@dataclass(frozen=True)
class Series:
    name: str
    query: str
    error: str | None
    data: pd.DataFrame  # timestamp, value, labels (JSON text)
    step_s: float | None = None
    scrape_interval_s: float | None = None  # None: an older run directory (or unknown)

    def ranges_s(self) -> list[float]:
        """The ranges the query selected, in seconds (``[2m]`` -> 120.0)."""
        return [_duration_s(m.group(1)) for m in _RANGE.finditer(self.query)]

    def resolution(self) -> str:
        """What a figure from this series can resolve, in words, for the report: the scrape
        interval (nothing happens between two samples) and the range each point averages over."""
        parts = []
        if self.scrape_interval_s:
            parts.append(f"one sample every {self.scrape_interval_s:g} s")
        rs = self.ranges_s()
        if rs:
            parts.append(f"each point averages the last {max(rs):g} s")
        if self.step_s:
            parts.append(f"evaluated every {self.step_s:g} s")
        return "; ".join(parts) or "resolution unknown"

    def values(self, w: Window | None = None, **labels: str) -> np.ndarray:
        df = self.data
        if w is not None:
            df = df[(df["timestamp"] >= w.start) & (df["timestamp"] <= w.end)]
        if labels:
            keep = df["labels"].map(lambda s: all(json.loads(s).get(k) == v for k, v in labels.items()))
            df = df[keep]
        v: np.ndarray = df["value"].to_numpy(dtype="float64")
        return np.asarray(v[np.isfinite(v)], dtype="float64")

    def points(self, w: Window | None = None) -> pd.DataFrame:
        df = self.data
        if w is not None:
            df = df[(df["timestamp"] >= w.start) & (df["timestamp"] <= w.end)]
        return df


def held_at(t: np.ndarray, v: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The value each gauge-like sample series (``t`` sorted, ``v`` aligned) held at each time of ``at``:
    the last sample at or before it, NaN before the first."""
    i = np.searchsorted(t, at, side="right") - 1
    out: np.ndarray = np.where(i >= 0, v[np.clip(i, 0, None)], np.nan) if len(v) else np.full(len(at), np.nan)
    return out


def read_series(run_dir: Path, name: str) -> Series | None:
    d = run_dir / "prometheus"
    try:
        meta: dict[str, Any] = json.loads((d / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    empty = pd.DataFrame({"timestamp": [], "value": [], "labels": []})
    if not isinstance(meta, dict):  # damaged sidecar: missing evidence that names the file
        return Series(name, "", f"damaged evidence: prometheus/{name}.json is a JSON {type(meta).__name__}, "
                                "expected an object", empty)
    try:
        data = pd.read_csv(d / f"{name}.csv", dtype={"timestamp": "float64", "labels": "string"},
                           on_bad_lines="skip")
        data["value"] = pd.to_numeric(data["value"], errors="coerce")
        data = data[["timestamp", "value", "labels"]]
    except (OSError, ValueError, KeyError, pd.errors.EmptyDataError):
        data = empty
    return Series(name, str(meta.get("query", "")), meta.get("error"), data, _num(meta.get("step_s")),
                  _num(meta.get("scrape_interval_s")))


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else None


_RANGE = re.compile(r"\[\s*((?:\d+(?:ms|s|m|h|d|w|y))+)\s*(?::[^\]]*)?\]")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}


def _duration_s(text: str) -> float:
    return sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d|w|y)", text))


def missing_reason(run_dir: Path, name: str, s: Series | None) -> str | None:
    """Why a series cannot serve as evidence, or None if it can."""
    if s is None:
        return f"no Prometheus snapshot of {name!r} in {run_dir / 'prometheus'}"
    if s.error:
        return f"Prometheus query {name!r} failed: {s.error}"
    if s.data.empty:
        return f"Prometheus returned no data for {name!r} ({s.query})"
    return None
