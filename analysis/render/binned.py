"""Per-bin statistics over samples sorted by time, for the charts: each bin is a contiguous slice,
found by one pass over the times, so a chart over ten million requests costs a partition per bin
instead of a hash group-by over every row (pandas ``groupby(key).quantile``: seconds per chart at
that size). Same figures as that group-by: linear-interpolated quantiles, bins of ``bin_s``
seconds from ``origin`` labelled by their centre, empty bins absent."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def is_sorted(t: np.ndarray) -> bool:
    return bool(t.size < 2 or np.all(t[1:] >= t[:-1]))


CHUNK = 1 << 20  # rows whose bin keys exist at once: two float arrays of ten million rows are 160 MB


def segments(t: np.ndarray, origin: float, bin_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres, starts, ends) of the non-empty bins of ``t`` (sorted ascending). The keys are
    computed a chunk at a time (bounded memory), each exactly as the group-by key was."""
    if t.size == 0:
        empty = np.array([], dtype="int64")
        return np.array([], dtype="float64"), empty, empty
    starts, keys = [], []
    previous = None
    for i in range(0, t.size, CHUNK):
        k = (t[i:i + CHUNK] - origin) // bin_s  # as the group-by key was computed
        first = np.flatnonzero(k[1:] != k[:-1]) + 1
        if previous is None or k[0] != previous:
            first = np.concatenate([[0], first])
        starts.append(first + i)
        keys.append(k[first])
        previous = k[-1]
    start = np.concatenate(starts)
    ends = np.concatenate([start[1:], [t.size]])
    return np.concatenate(keys) * bin_s + bin_s / 2, start, ends


def quantiles(t: np.ndarray, v: np.ndarray, origin: float, bin_s: float,
              qs: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the bins and, per bin, the ``qs`` quantiles (0..1) of ``v``: shape (len(qs), bins)."""
    centres, starts, ends = segments(t, origin, bin_s)
    out = np.empty((len(qs), centres.size))
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        out[:, i] = np.quantile(v[a:b], qs)
    return centres, out


def means(t: np.ndarray, v: np.ndarray, origin: float, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the bins and the mean of ``v`` in each."""
    centres, starts, ends = segments(t, origin, bin_s)
    if centres.size == 0:
        return centres, np.array([], dtype="float64")
    sums = np.add.reduceat(v, starts, dtype="float64")  # booleans summed as counts, without a float copy of v
    return centres, sums / (ends - starts)


def quantiles_by_code(t: np.ndarray, v: np.ndarray, codes: np.ndarray, n_codes: int, origin: float, bin_s: float,
                      q: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per code (an operation), the centres of its non-empty bins and its ``q`` quantile of ``v`` in
    each: what :func:`quantiles` over that code's rows gives, without copying each code's rows
    (one pass over the bins of every row, each bin split by code)."""
    centres, starts, ends = segments(t, origin, bin_s)
    found: list[tuple[list[float], list[float]]] = [([], []) for _ in range(n_codes)]
    for c, a, b in zip(centres, starts, ends, strict=True):
        part, values = codes[a:b], v[a:b]
        for code in np.unique(part):
            if code < 0:  # no name (a missing value): no operation's
                continue
            found[code][0].append(c)
            found[code][1].append(float(np.quantile(values[part == code], q)))
    return [(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")) for x, y in found]
