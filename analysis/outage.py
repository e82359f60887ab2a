"""A fault's outage as the clients lived it, to the second: detected, lasted, back within SLA.

From the injection ``t0`` to the end of the fault window, every request is placed at the moment
its client saw the answer (start + latency), every acknowledged crew at its acknowledgement.
Windows of ``window_s`` slide by ``step_s`` (1 s) from ``t0``; a window is *bad* when any of the
SLAs is broken in it:

- an operation's failures (5xx, no answer, the locustfile's failure mark) reach its line;
- an operation's p95 reaches its line (once it has ``min_samples`` answers in the window);
- the crews acknowledged in it start up with a p95 at or over the start-up line (same minimum);
- nothing at all was answered in it (every client waiting is an outage too).

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

from analysis.operations import failed, slo_for


@dataclass(frozen=True)
class RecoveryLines:
    """Every SLA the service must be back within, and how recovery is measured."""

    checks: dict[str, Any]  # the profile's checks: per-operation lines are looked up here
    startup_p95_ms: float
    window_s: float = 5.0
    step_s: float = 1.0
    sustain_s: float = 5.0
    min_samples: int = 20  # a p95 in a window needs this many answers (nearest rank: 2 over the line)

    @classmethod
    def from_checks(cls, checks: dict[str, Any]) -> RecoveryLines:
        return cls(checks=checks, startup_p95_ms=float(checks.get("warm_startup_p95_s", 2.0)) * 1000,
                   window_s=float(checks.get("recovery_window_s", 5.0)),
                   sustain_s=float(checks.get("recovery_sustain_s", 5.0)),
                   min_samples=int(checks.get("recovery_min_samples", 20)))


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
    seen = (df["t_start"] + df["latency_ms"] / 1000).to_numpy(dtype="float64")
    lat = df["latency_ms"].to_numpy(dtype="float64")
    bad = failed(df).to_numpy()
    codes, names = pd.factorize(df["name"].astype(str))
    out = []
    for code, name in enumerate(names):
        sel = codes == code
        order = np.argsort(seen[sel], kind="stable")
        out.append(_Op(str(name), seen[sel][order], lat[sel][order],
                       np.concatenate([[0], np.cumsum(bad[sel][order])])))
    return out


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
        if n >= lines.min_samples:  # fewer: the p95 is the window's maximum, one slow answer
            p95 = float(np.percentile(op.latency[lo:hi], 95, method="inverted_cdf"))
            if p95 >= slo.p95_ms:
                out.append(f"{op.name}: p95 {p95:.0f} ms >= {slo.p95_ms:g} ms")
    if answered == 0:
        out.append("no request answered")
    lo, hi = np.searchsorted(startup_t, [a, b], side="left")
    if hi - lo >= lines.min_samples:
        p95 = float(np.percentile(startup_ms[lo:hi], 95, method="inverted_cdf"))
        if p95 >= lines.startup_p95_ms:
            out.append(f"crew start-up p95 {p95 / 1000:.2f} s >= {lines.startup_p95_ms / 1000:g} s")
    return out


def outage(fault: str, requests: pd.DataFrame, acks: pd.DataFrame, t0: float, end: float,
           lines: RecoveryLines) -> Outage:
    """The outage of the fault injected at ``t0`` whose window ends at ``end`` (see module doc)."""
    seen_all = requests["t_start"] + requests["latency_ms"] / 1000
    df = requests[(seen_all >= t0) & (seen_all < end)]
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
    starts = np.arange(t0, max(end - lines.window_s, t0) + 1e-9, lines.step_s)
    last_bad: int | None = None
    bad_windows = 0
    breaches: list[str] = []
    for k, a in enumerate(starts):
        got = _window_breaches(ops, st_t, st_ms, lines, float(a), min(float(a) + lines.window_s, end))
        if got:
            last_bad, breaches = k, got
            bad_windows += 1
    back: float | None = 0.0 if last_bad is None else (last_bad + 1) * lines.step_s
    if last_bad is not None and last_bad == len(starts) - 1:
        back = None  # still outside SLA when the window ended
    elif back is not None and (end - t0) - back < lines.sustain_s:
        back = None  # not seen to stay within SLA before the window ended
    return Outage(fault=fault, injected=t0, window_end=end, requests=len(df), failed_requests=int(fails.sum()),
                  first_failure_s=first, last_failure_s=last, back_s=back, bad_windows=bad_windows,
                  windows=len(starts), breaches=tuple(breaches))
