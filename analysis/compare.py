"""``gameday compare``: is this run a regression of the baseline run? (performance CI)

Per metric, from the two run directories alone:

* latency — the exact client samples of the judged windows (baseline and cool-down; the whole
  run when it has no phases): Mann-Whitney U (one-sided, "slower") with its effect size
  (common-language: the probability that a request of the run is slower than one of the
  baseline), and a bootstrap interval of the p95 difference;
* server errors — the share of 5xx / unanswered requests;
* acknowledgements per minute.

Each metric is classified as Kayenta classifies a canary: **pass** within the tolerance,
**marginal** past it but under the failure line, **fail** past the failure line — and, for
latency, only when the difference is also statistically significant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gameday.analysis.checks.samples import server_errors
from gameday.analysis.damage import Evidence, describe
from gameday.analysis.run import NotARun, Run, load_run, require_run
from gameday.contract.exitcodes import ExitCode

JUDGED = ("baseline", "cooldown")


@dataclass(frozen=True)
class Tolerance:
    marginal: float = 0.10  # relative change that starts to matter
    fail: float = 0.25  # relative change that fails
    alpha: float = 0.01
    error_points: float = 0.01  # absolute change of the server-error share that fails


@dataclass(frozen=True)
class Comparison:
    metric: str
    baseline: float
    run: float
    change: float  # relative (or absolute for error share)
    classification: str  # pass | marginal | fail
    detail: str


def _samples(run: Run) -> pd.DataFrame:
    df = run.requests
    windows = [w for w in run.windows if w.name in JUDGED]
    if not windows:
        return df
    mask = np.zeros(len(df), dtype=bool)
    t = df["t_start"].to_numpy()
    for w in windows:
        mask |= (t >= w.start) & (t < w.end)
    return df[mask]


def _classify(change: float, tol: Tolerance, significant: bool = True) -> str:
    if change <= tol.marginal or not significant:
        return "pass"
    return "fail" if change > tol.fail else "marginal"


def _p95_interval(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n: int = 400) -> tuple[float, float]:
    """Bootstrap 95 % interval of p95(b) - p95(a) (subsampled to keep it fast on big runs)."""
    a = a if a.size <= 20_000 else rng.choice(a, 20_000, replace=False)
    b = b if b.size <= 20_000 else rng.choice(b, 20_000, replace=False)
    diffs = np.empty(n)
    for i in range(n):
        diffs[i] = np.percentile(rng.choice(b, b.size), 95) - np.percentile(rng.choice(a, a.size), 95)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def latency(base: pd.DataFrame, run: pd.DataFrame, tol: Tolerance, seed: int = 1) -> Comparison:
    a = base["latency_ms"].to_numpy(dtype="float64")
    b = run["latency_ms"].to_numpy(dtype="float64")
    if a.size < 20 or b.size < 20:
        return Comparison("latency_p95", float("nan"), float("nan"), float("nan"), "fail",
                          f"too few samples to compare ({a.size} vs {b.size}): no evidence is not a pass")
    p_a, p_b = float(np.percentile(a, 95)), float(np.percentile(b, 95))
    from scipy.stats import mannwhitneyu  # here, not at the top: scipy.stats costs ~0.9 s to import

    u = mannwhitneyu(b, a, alternative="greater")
    effect = float(u.statistic) / (a.size * b.size)  # P(run request slower than baseline request)
    lo, hi = _p95_interval(a, b, np.random.default_rng(seed))
    change = (p_b - p_a) / p_a if p_a > 0 else float("inf")
    significant = u.pvalue < tol.alpha and lo > 0
    return Comparison("latency_p95", p_a, p_b, change, _classify(change, tol, significant),
                      f"p95 {p_a:.1f} -> {p_b:.1f} ms ({change:+.1%}); Mann-Whitney U p={u.pvalue:.2g}, "
                      f"P(slower)={effect:.2f}; p95 difference 95% CI [{lo:+.1f}, {hi:+.1f}] ms")


def errors(base: pd.DataFrame, run: pd.DataFrame, tol: Tolerance) -> Comparison:
    ea = float(server_errors(base).mean()) if len(base) else float("nan")
    eb = float(server_errors(run).mean()) if len(run) else float("nan")
    change = eb - ea
    cls = "fail" if change > tol.error_points else ("marginal" if change > tol.error_points / 2 else "pass")
    return Comparison("server_errors", ea, eb, change, cls, f"{ea:.2%} -> {eb:.2%} of requests")


def acks_per_min(base: Run, run: Run, tol: Tolerance) -> Comparison:
    def rate(r: Run) -> float:
        if r.acks.empty:
            return float("nan")
        span = float(r.acks["t_ack"].max() - r.acks["t_ack"].min())
        return len(r.acks) / (span / 60) if span > 0 else float("nan")

    a, b = rate(base), rate(run)
    drop = (a - b) / a if a and not np.isnan(a) and not np.isnan(b) else float("nan")
    cls = "pass" if np.isnan(drop) or drop <= tol.marginal else ("fail" if drop > tol.fail else "marginal")
    return Comparison("acks_per_min", a, b, -drop if not np.isnan(drop) else float("nan"), cls,
                      f"{a:.1f} -> {b:.1f} acknowledged missions/min")


class Unusable(ValueError):
    """A run directory compare cannot use (damaged or without samples): bad input, never a regression."""


def usable(run_dir: Path) -> Run:
    """The run loaded, or :class:`Unusable` saying why (file and line of the first damage)."""
    try:
        require_run(run_dir)
    except NotARun as exc:
        raise Unusable(str(exc)) from None
    run = load_run(run_dir)
    damaged = run.damaged(Evidence.TIMELINE, Evidence.REQUESTS, Evidence.ACKS)
    if damaged:
        raise Unusable(f"{run_dir}: {describe(damaged)}")
    if run.requests.empty:
        raise Unusable(f"{run_dir}: no recorded request")
    return run


def compare(baseline_dir: Path, run_dir: Path, tol: Tolerance | None = None) -> list[Comparison]:
    tol = tol or Tolerance()
    base, run = usable(baseline_dir), usable(run_dir)
    a, b = _samples(base), _samples(run)
    return [latency(a, b, tol), errors(a, b, tol), acks_per_min(base, run, tol)]


def exit_code(results: list[Comparison]) -> int:
    """0 pass (marginal warns), 1 a regression (gameday.contract.exitcodes)."""
    regressed = any(c.classification == "fail" for c in results)
    return int(ExitCode.REGRESSION if regressed else ExitCode.NO_REGRESSION)
