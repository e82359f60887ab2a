"""The Prometheus evidence of a run directory: ``prometheus/<name>.csv`` and its sidecar.

A series whose sidecar records an error, or that has no sidecar, is missing evidence; the
checks say so instead of judging an empty series.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.windows import Window


@dataclass(frozen=True)
class Series:
    name: str
    query: str
    error: str | None
    data: pd.DataFrame  # timestamp, value, labels (JSON text)

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


def read_series(run_dir: Path, name: str) -> Series | None:
    d = run_dir / "prometheus"
    try:
        meta: dict[str, Any] = json.loads((d / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    try:
        data = pd.read_csv(d / f"{name}.csv", dtype={"timestamp": "float64", "labels": "string"},
                           on_bad_lines="skip")
        data["value"] = pd.to_numeric(data["value"], errors="coerce")
    except (OSError, ValueError, pd.errors.EmptyDataError):
        data = pd.DataFrame({"timestamp": [], "value": [], "labels": []})
    return Series(name, str(meta.get("query", "")), meta.get("error"), data)


def missing_reason(run_dir: Path, name: str, s: Series | None) -> str | None:
    """Why a series cannot serve as evidence, or None if it can."""
    if s is None:
        return f"no Prometheus snapshot of {name!r} in {run_dir / 'prometheus'}"
    if s.error:
        return f"Prometheus query {name!r} failed: {s.error}"
    if s.data.empty:
        return f"Prometheus returned no data for {name!r} ({s.query})"
    return None
