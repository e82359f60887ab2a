"""How much a Prometheus counter grew inside a window, from its raw samples.

Why not the ``rate(...[1m])`` series: each of its points averages the minute before it, so in a
baseline shorter than the range (a 25 s baseline after a 12 s warm-up) every point reaches back to
before the load began and reads a fraction of the real rate: the healthy spike profile read 41
missions/min where 129 completed. The counter's own samples say exactly how much it grew between
two scrapes inside the window.

The window's growth is taken between its first and last *change points* (the first sample that
shows a new scrape): the span between those two scrapes is known to within one snapshot step,
not one scrape interval, however coarse the scrape. Each series (one per worker pod: pods come
and go under a drain or an autoscaler) is reset-corrected as Prometheus' ``increase()`` is and
keeps its growth after it ends; their sum is one non-decreasing curve.

Pure: reads a loaded :class:`gameday.analysis.prom.Series` only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gameday.analysis.prom import Series, held_at
from gameday.analysis.windows import Window


@dataclass(frozen=True)
class Growth:
    """A counter's growth between two change points inside a window."""

    increase: float
    span_s: float  # between the two change points (the scrapes they show), to within a step
    first_at: float
    last_at: float

    @property
    def per_min(self) -> float:
        return self.increase / self.span_s * 60


def _labels(text: object) -> dict[str, str]:
    """A row's labels; a damaged cell (not a JSON object) selects nothing rather than failing the check."""
    try:
        got = json.loads(str(text))
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


def growth(s: Series, w: Window, keep: Callable[[dict[str, str]], bool], min_span_s: float) -> Growth | None:
    """The summed growth of the series ``keep`` selects inside ``w``; None when fewer than two change
    points inside it are at least ``min_span_s`` apart (too little evidence for a rate)."""
    df = s.data[["timestamp", "value", "labels"]].dropna()
    if df.empty:
        return None
    kept = df[df["labels"].map(lambda text: keep(_labels(text)))]
    if kept.empty:
        return None
    grid = np.unique(kept["timestamp"].to_numpy(dtype="float64"))
    total = np.zeros(len(grid))
    for _, one in kept.groupby("labels"):
        one = one.sort_values("timestamp")
        t = one["timestamp"].to_numpy(dtype="float64")
        v = one["value"].to_numpy(dtype="float64")
        steps = np.diff(v)
        grown = np.concatenate([[0.0], np.where(steps >= 0, steps, v[1:])]).cumsum()  # a drop is a reset
        total += np.nan_to_num(held_at(t, grown, grid), nan=0.0)  # nothing grown before its first sample
    inside = np.flatnonzero((grid >= w.start) & (grid <= w.end))
    changes = [int(i) for i in inside if i > 0 and total[i] > total[i - 1]]
    if not changes and len(inside) >= 2 and grid[inside[-1]] - grid[inside[0]] >= min_span_s:
        return Growth(0.0, float(grid[inside[-1]] - grid[inside[0]]), float(grid[inside[0]]),
                      float(grid[inside[-1]]))  # sampled throughout and never grew: nothing completed
    if len(changes) < 2:
        return None
    a, b = changes[0], changes[-1]
    span = float(grid[b] - grid[a])
    if span < min_span_s or span <= 0:
        return None
    return Growth(float(total[b] - total[a]), span, float(grid[a]), float(grid[b]))
