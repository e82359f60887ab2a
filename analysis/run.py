"""A run directory loaded once for the judge: profile, timeline, windows, requests, acks, read-back.

Reads only the run directory. Missing parts load as empty: each check then says what it
lacked (INCONCLUSIVE), never PASS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.requests import read_acks, read_requests
from analysis.windows import Window, read_timeline, windows


@dataclass(frozen=True)
class Readback:
    """What the target said, at the end, of every acknowledged mission."""

    found: dict[str, str]
    missing: list[str]
    read_at: float | None
    error: str | None = None  # the target could not be asked: nothing is known of the acks
    settle_bound_s: float | None = None  # in-flight missions were awaited this long (None: an older run directory)
    settle_error: str | None = None  # asking again failed: the statuses of the first read stand
    times: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # created_at, completed_at
    times_of: int = 0  # settled missions; ``times`` covers all of them or an evenly spaced sample
    times_error: str | None = None


@dataclass(frozen=True)
class Run:
    path: Path
    profile: dict[str, Any]
    events: list[dict[str, Any]]
    windows: list[Window]
    requests: pd.DataFrame
    acks: pd.DataFrame
    readback: Readback | None

    @property
    def checks(self) -> dict[str, Any]:
        c = self.profile.get("checks") or {}
        return c if isinstance(c, dict) else {}

    def threshold(self, key: str, default: float) -> float:
        return float(self.checks.get(key, default))


def _readback(path: Path) -> Readback | None:
    try:
        data = json.loads((path / "readback.json").read_text())
    except (OSError, ValueError):
        return None
    settle = data.get("settle") if isinstance(data.get("settle"), dict) else {}
    times = {str(m): (_num(v[0]), _num(v[1])) for m, v in (data.get("times") or {}).items()
             if isinstance(v, list) and len(v) == 2}
    return Readback(found=dict(data.get("found", {})), missing=list(data.get("missing", [])),
                    read_at=data.get("read_at"), error=data.get("error"), settle_bound_s=_num(settle.get("bound_s")),
                    settle_error=settle.get("error"), times=times, times_of=int(data.get("times_of") or 0),
                    times_error=data.get("times_error"))


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def load_run(path: Path) -> Run:
    try:
        profile = yaml.safe_load((path / "profile.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        profile = {}
    events = read_timeline(path)
    requests = read_requests(path)
    last_request = float((requests["t_start"] + requests["latency_ms"] / 1000).max()) if len(requests) else 0.0
    return Run(path=path, profile=profile if isinstance(profile, dict) else {}, events=events,
               windows=windows(events, last_request), requests=requests, acks=read_acks(path),
               readback=_readback(path))
