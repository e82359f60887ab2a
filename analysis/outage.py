"""A fault's outage as the clients lived it, to the second: detected, lasted, back within SLA.

From the injection ``t0`` to the end of the fault window, every request is placed at the moment
its client saw the answer (start + latency), every acknowledged crew at its acknowledgement.
Windows of ``window_s`` slide by ``step_s`` (1 s) from ``t0``; a window is *bad* when any of the
SLAs is broken in it:

- an operation's failures (5xx, no answer, the locustfile's failure mark) reach its line;
- an operation's p95 reaches its line, with confidence (below);
- the crews acknowledged in it start up with a p95 at or over the start-up line, with confidence;
- nothing at all was answered in it (every client waiting is an outage too).

A p95 over a window of a few seconds rests on few answers (a window holds about 20 crew spawns at
100 users): two slow ones out of 21 put its nearest-rank p95 over the line although a service that
meets its SLA (at most 5 % slow) shows that in more than one window in four. So a window breaks a
latency SLA only when it has at least ``min_samples`` answers, its p95 is at or over the line, *and*
the share of slow answers is over 5 % with confidence: a one-sided binomial test of "at most 5 % of
answers are slow" rejected at ``alpha`` (0.05): 4 slow of 21, 6 of 50, 34 of 500. A service that
stays slow (30 % of crew spawns slow: 6 of 21 on average) is still caught in nearly every window;
a short stall of two answers is not an outage. The test counts observations that are independent:
slow answers released within ``gameday.analysis.doubt.STALL_S`` (0.1 s) of the first of them are one stall (one pause of
the service delays every request in flight and releases them together: 5 crew spawns answered at
the same instant, 300 ms late, seen 11 s after a node drain on a healthy sandbox), so they count
as one slow observation among the window's answers (n less the others). Slow answers spread over
the window, as a service that stays slow gives, are hardly merged. Failures are not tested this
way: a healthy service has none, and one failed answer is a user who saw it.

Only whole windows are judged (the last starts ``window_s`` before the end; a horizon shorter
than one window is one window).

The service is *back* at the start of the first window after the last bad one (``t0`` when no
window was bad), provided it then stays within every SLA for ``sustain_s`` inside the fault
window; otherwise it never came back while we watched. Time to detect is the first failure a
client saw after ``t0`` (never negative: answers seen before the injection are not the fault's);
the outage runs from that failure to the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gameday.analysis.doubt import SLOW_SHARE, at_least, independent, stalls
from gameday.analysis.operations import failed, slo_for
from gameday.contract.checks import DEFAULTS, default


@dataclass(frozen=True)
class RecoveryLines:
    """Every SLA the service must be back within, and how recovery is measured."""

    checks: dict[str, Any]  # the profile's checks: per-operation lines are looked up here
    startup_p95_ms: float
    window_s: float = DEFAULTS.recovery_window_s
    step_s: float = 1.0
    sustain_s: float = DEFAULTS.recovery_sustain_s
    min_samples: int = DEFAULTS.recovery_min_samples  # a window's p95 needs this many answers
    alpha: float = DEFAULTS.recovery_alpha  # a window's p95 breach must reject "at most 5 % slow" at this level

    @classmethod
    def from_checks(cls, checks: dict[str, Any]) -> RecoveryLines:
        def line(key: str) -> float:  # the profile's, else the contract's default
            return float(checks.get(key, default(key)))

        return cls(checks=checks, startup_p95_ms=line("warm_startup_p95_s") * 1000,
                   window_s=line("recovery_window_s"), sustain_s=line("recovery_sustain_s"),
                   min_samples=int(line("recovery_min_samples")), alpha=line("recovery_alpha"))


@dataclass(frozen=True)
class Outage:
    """One fault's outage, in seconds from its injection (``None``: did not happen / not seen)."""

    fault: str
    injected: float
    window_end: float
    requests: int
    failed_requests: int
    first_failure_s: float | None  # time to detect
    last_failure_s: float | None
    back_s: float | None  # back within every SLA (and stayed); None: not back before the window ended
    bad_windows: int
    windows: int
    breaches: tuple[str, ...]  # what was outside SLA in the last bad window

    @property
    def outage_s(self) -> float | None:
        if self.first_failure_s is None or self.last_failure_s is None:
            return None
        return self.last_failure_s - self.first_failure_s

    @property
    def back_at(self) -> float | None:
        return None if self.back_s is None else self.injected + self.back_s


@dataclass(frozen=True)
class _Op:
    name: str
    seen: np.ndarray  # sorted answer times
    latency: np.ndarray
    failures: np.ndarray  # cumulative failures, one longer than seen


def _ops(df: pd.DataFrame) -> list[_Op]:
    lat = df["latency_ms"].to_numpy(dtype="float64")
    seen = df["t_start"].to_numpy(dtype="float64") + lat / 1000
    bad = failed(df).to_numpy()
    codes, names = _operations(df["name"])
    order = np.lexsort((seen, codes))  # by operation, then by answer time (stable: ties keep their order)
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1), side="left")
    seen, lat, bad = seen[order], lat[order], bad[order]
    out = []
    for code, name in enumerate(names):
        a, b = int(bounds[code]), int(bounds[code + 1])
        if b > a:
            first = int(order[a:b].min())
            out.append((first, _Op(name, seen[a:b], lat[a:b], np.concatenate([[0], np.cumsum(bad[a:b])]))))
    return [op for _, op in sorted(out, key=lambda x: x[0])]  # in order of first appearance, as always


def _operations(names: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's operation as a code into the operations' names. A categorical column (the Arrow
    streams' reader) gives its codes as they are: no string per row, no hashing of every row."""
    if isinstance(names.dtype, pd.CategoricalDtype) and not names.isna().any():
        return names.cat.codes.to_numpy(), [str(c) for c in names.cat.categories]
    codes, uniques = pd.factorize(names.astype(str))
    return codes, [str(u) for u in uniques]


def _slow_beyond_doubt(latency: np.ndarray, line: float, lines: RecoveryLines,
                       answered: np.ndarray) -> tuple[float, int, int] | None:
    """(p95, slow answers, stalls they make) when the window confidently breaks its p95 line, else
    None (module doc). ``answered``: each answer's time, sorted, aligned with ``latency``."""
    n = len(latency)
    if n < lines.min_samples:  # fewer: the p95 is the window's maximum, one slow answer
        return None
    p95 = float(np.percentile(latency, 95, method="inverted_cdf"))
    if p95 < line:
        return None
    is_slow = latency >= line
    slow = int(np.count_nonzero(is_slow))
    stalled = stalls(answered[is_slow])
    # P(at least this many slow | 5 % slow), each stall one observation among the window's answers
    if at_least(*independent(slow, stalled, n), SLOW_SHARE) >= lines.alpha:
        return None
    return p95, slow, stalled


def _slow_text(slow: int, n: int, stalls: int) -> str:
    return f"{slow} of {n} slow" + ("" if stalls == slow else f", in {stalls} stall{'s' * (stalls != 1)}")


def _window_breaches(ops: list[_Op], startup_t: np.ndarray, startup_ms: np.ndarray, lines: RecoveryLines,
                     a: float, b: float) -> list[str]:
    out = []
    answered = 0
    for op in ops:
        lo, hi = np.searchsorted(op.seen, [a, b], side="left")
        n = int(hi - lo)
        if n == 0:
            continue
        answered += n
        slo = slo_for(lines.checks, op.name)
        bad = int(op.failures[hi] - op.failures[lo])
        if bad and bad / n >= slo.max_error_ratio:
            out.append(f"{op.name}: {bad} of {n} failed")
        over = _slow_beyond_doubt(op.latency[lo:hi], slo.p95_ms, lines, op.seen[lo:hi])
        if over is not None:
            out.append(f"{op.name}: p95 {over[0]:.0f} ms >= {slo.p95_ms:g} ms ({_slow_text(over[1], n, over[2])})")
    if answered == 0:
        out.append("no request answered")
    lo, hi = np.searchsorted(startup_t, [a, b], side="left")
    over = _slow_beyond_doubt(startup_ms[lo:hi], lines.startup_p95_ms, lines, startup_t[lo:hi])
    if over is not None:
        out.append(f"crew start-up p95 {over[0] / 1000:.2f} s >= {lines.startup_p95_ms / 1000:g} s "
                   f"({_slow_text(over[1], int(hi - lo), over[2])})")
    return out


def _answered_between(requests: pd.DataFrame, t0: float, end: float) -> pd.DataFrame:
    """The requests answered in ``[t0, end)``. The recorded requests are sorted by start time
    (gameday.analysis.recorded): only those started between ``t0`` minus the longest latency and ``end`` can
    be, so a slice is masked, not every row (at ten million rows, a copy per fault otherwise)."""
    t = requests["t_start"].to_numpy()
    if len(t) > 1 and requests["t_start"].is_monotonic_increasing:
        longest = float(requests["latency_ms"].max()) / 1000
        if np.isfinite(longest):
            lo, hi = np.searchsorted(t, [t0 - max(longest, 0.0), end], side="left")
            requests = requests.iloc[int(lo):int(hi)]
    seen = requests["t_start"].to_numpy(dtype="float64") + requests["latency_ms"].to_numpy(dtype="float64") / 1000
    # only the columns an outage reads: not a copy of the mission ids and the open-model columns too
    return requests.loc[(seen >= t0) & (seen < end), _COLUMNS]


_COLUMNS = ["t_start", "latency_ms", "name", "status", "ok"]


def outage(fault: str, requests: pd.DataFrame, acks: pd.DataFrame, t0: float, end: float,
           lines: RecoveryLines) -> Outage:
    """The outage of the fault injected at ``t0`` whose window ends at ``end`` (see module doc)."""
    df = _answered_between(requests, t0, end)
    ops = _ops(df)
    fails = failed(df).to_numpy()
    seen = (df["t_start"] + df["latency_ms"] / 1000).to_numpy(dtype="float64")[fails]
    first = float(seen.min()) - t0 if seen.size else None
    last = float(seen.max()) - t0 if seen.size else None
    startup = acks[(acks["t_ack"] >= t0) & (acks["t_ack"] < end)].dropna(subset=["startup_ms"])
    st_t = startup["t_ack"].to_numpy(dtype="float64")
    st_ms = startup["startup_ms"].to_numpy(dtype="float64")
    # whole windows only: a sliver at the end (the next fault injected 0.03 s into a window) holds
    # no answer by chance, not because the service stopped answering
    # (offsets from t0: at epoch seconds a 1e-9 margin is below float precision, and the range was empty)
    last_start = max(end - t0 - lines.window_s, 0.0)
    offsets = np.arange(0.0, last_start + 1e-9, lines.step_s)
    if last_start > offsets[-1] + 1e-6:  # and the last whole window, off the 1 s grid
        offsets = np.append(offsets, last_start)
    starts = t0 + offsets
    last_bad: int | None = None
    bad_windows = 0
    breaches: list[str] = []
    for k, a in enumerate(starts):
        got = _window_breaches(ops, st_t, st_ms, lines, float(a), min(float(a) + lines.window_s, end))
        if got:
            last_bad, breaches = k, got
            bad_windows += 1
    back: float | None = 0.0
    if last_bad is not None:  # back when the first window after the last bad one starts
        back = float(starts[last_bad + 1] - t0) if last_bad + 1 < len(starts) else None  # None: still outside
    if back is not None and (end - t0) - back < lines.sustain_s:
        back = None  # not seen to stay within SLA before the window ended
    return Outage(fault=fault, injected=t0, window_end=end, requests=len(df), failed_requests=int(fails.sum()),
                  first_failure_s=first, last_failure_s=last, back_s=back, bad_windows=bad_windows,
                  windows=len(starts), breaches=tuple(breaches))
