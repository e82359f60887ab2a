"""Per-operation checks: each request name's p95 and failures per window, and crew-spawn success.

The mix checks (latency_p95, error_rate_5xx) stay; these stand beside them so that cheap polls
cannot hide an expensive operation that fails or crawls (gameday.analysis.operations). Windows are the
mix checks' own: p95 outside the fault windows and warm-up; failures in every window but the
warm-up, a fault's outage left to recovery_time. A p95 needs more samples (``min_p95_samples``,
100: the slowest twentieth decides it) than a failure ratio (``min_operation_samples``, 50). An
operation below its sample minimum in a window fails there only when its few samples prove the
breach beyond doubt (gameday.analysis.doubt: 9 of
30 crew spawns over the line is slow however few they are); otherwise it is not judged there,
unless the profile names it: then that window is INCONCLUSIVE. A small sample never passes.
"""

from __future__ import annotations

import pandas as pd

from gameday.analysis.checks.samples import in_window, outside_outage
from gameday.analysis.doubt import SLOW_SHARE, at_least, beyond_doubt, independent, stalls
from gameday.analysis.operations import DEFAULT_CREW_OPERATION, OperationStats, failed, named_operations, slo_for, stats
from gameday.analysis.recorded import percentile
from gameday.analysis.run import Run
from gameday.analysis.verdict import CheckResult, Status, inconclusive

# a spike's windows (phases.spike) are judged as the baseline is: the SLA holds under the spike (§6.2)
P95_WINDOWS = ("baseline", "spike", "after-spike", "cooldown")
CREW_WINDOWS = ("baseline", "spike", "after-spike", "cooldown")


def _slow_and_stalls(df: pd.DataFrame, name: str, line: float) -> tuple[int, int]:
    """An operation's answers at or over ``line`` in ``df``, and the stalls they make (gameday.analysis.doubt:
    answers a pause released together are one observation)."""
    rows = df[df["name"] == name]
    lat = rows["latency_ms"].to_numpy(dtype="float64")
    slow = lat >= line
    answered = rows["t_start"].to_numpy(dtype="float64")[slow] + lat[slow] / 1000
    return int(slow.sum()), stalls(answered)


def _few(name: str, n: int, need: int) -> str:
    return f"{n} samples of {name}, fewer than the {need} a window's figure needs"


def _per_operation(run: Run, df: pd.DataFrame) -> list[tuple[OperationStats | None, str]]:
    """Every operation seen in ``df`` and every one the profile names (None: named, not seen)."""
    seen = {s.name: s for s in stats(df)}
    names = list(seen) + [n for n in named_operations(run.checks) if n not in seen]
    return [(seen.get(n), n) for n in names]


def operation_p95(run: Run) -> list[CheckResult]:
    out: list[CheckResult] = []
    for w in [x for x in run.windows if x.name in P95_WINDOWS]:
        df = in_window(run.requests, w)
        mix = percentile(df["latency_ms"], 95) if len(df) else float("nan")
        judged = 0
        for st, name in _per_operation(run, df):
            slo = slo_for(run.checks, name)
            label = f"{w.label()} {name}"
            n = st.requests if st else 0
            if n < slo.min_p95_samples:
                slow, stalled = _slow_and_stalls(df, name, slo.p95_ms) if st is not None else (0, 0)
                if st is not None and beyond_doubt(*independent(slow, stalled, n), SLOW_SHARE,
                                                   run.threshold("recovery_alpha")):
                    judged += 1
                    out.append(CheckResult(
                        "operation_p95", Status.FAIL, round(st.p95_ms, 3), slo.p95_ms, label,
                        f"{_few(name, n, slo.min_p95_samples)}: judged only beyond doubt",
                        f"{name}: {slow} of {n} answers at or over {slo.p95_ms:g} ms"
                        f"{'' if stalled == slow else f' (in {stalled} stalls)'}, more than 5 % beyond doubt "
                        f"(P = {at_least(*independent(slow, stalled, n), SLOW_SHARE):.1g} if at most 5 % were; "
                        f"p95 {st.p95_ms:.1f} ms) "
                        f"(the mix: p95 {mix:.1f} ms over {len(df)} requests)",
                        {"operation": name, "samples": n, "slow": slow, "stalls": stalled,
                         "p50_ms": st.p50_ms, "p99_ms": st.p99_ms,
                         "mix_p95_ms": None if pd.isna(mix) else round(mix, 3), "small_sample": True}))
                elif slo.named:
                    out.append(inconclusive("operation_p95", label, f"{name}: {n} samples, fewer than the "
                                            f"{slo.min_p95_samples} its line needs", slo.p95_ms))
                continue
            assert st is not None
            judged += 1
            ok = st.p95_ms < slo.p95_ms
            out.append(CheckResult(
                "operation_p95", Status.PASS if ok else Status.FAIL, round(st.p95_ms, 3), slo.p95_ms, label,
                f"{n} client samples of {name} (exact)",
                f"{name} p95 {st.p95_ms:.1f} ms {'<' if ok else '>='} {slo.p95_ms:g} ms "
                f"(the mix: p95 {mix:.1f} ms over {len(df)} requests)",
                {"operation": name, "samples": n, "p50_ms": st.p50_ms, "p99_ms": st.p99_ms,
                 "mix_p95_ms": None if pd.isna(mix) else round(mix, 3)}))
        if not judged and not any(r.window.startswith(w.label()) for r in out):
            out.append(inconclusive("operation_p95", w.label(), "no operation had enough samples in this window"))
    if not out:
        out.append(inconclusive("operation_p95", "baseline/cooldown", "the run has no baseline or cool-down window"))
    return out


def operation_errors(run: Run) -> list[CheckResult]:
    out: list[CheckResult] = []
    for w in [x for x in run.windows if x.name != "warmup"]:
        df, excluded = outside_outage(run, w, in_window(run.requests, w))
        mix_bad = int(failed(df).sum()) if len(df) else 0
        mix = f"the mix: {mix_bad} of {len(df)} failed ({mix_bad / len(df):.2%})" if len(df) else "no request"
        judged = 0
        for st, name in _per_operation(run, df):
            slo = slo_for(run.checks, name)
            label = f"{w.label()} {name}"
            n = st.requests if st else 0
            if n < slo.min_samples:
                alpha = run.threshold("recovery_alpha")
                if st is not None and beyond_doubt(st.failures, n, slo.max_error_ratio, alpha):
                    judged += 1
                    out.append(CheckResult(
                        "operation_errors", Status.FAIL, round(st.failure_ratio, 5), slo.max_error_ratio, label,
                        f"{_few(name, n, slo.min_samples)}: judged only beyond doubt",
                        f"{name}: {st.failures} of {n} failed ({st.failure_ratio:.2%}), more than "
                        f"{slo.max_error_ratio:.2%} beyond doubt "
                        f"(P = {at_least(st.failures, n, slo.max_error_ratio):.1g} if at most that failed) "
                        f"({mix}){excluded}",
                        {"operation": name, "requests": n, "failures": st.failures, "client_errors": st.client_errors,
                         "mix_failures": mix_bad, "mix_requests": len(df), "small_sample": True}))
                elif slo.named and not w.is_fault:  # a fault window's outage is recovery_time's
                    out.append(inconclusive("operation_errors", label, f"{name}: {n} samples, fewer than the "
                                            f"{slo.min_samples} its line needs{excluded}", slo.max_error_ratio))
                continue
            assert st is not None
            judged += 1
            ratio = st.failure_ratio
            ok = st.failures == 0 or ratio < slo.max_error_ratio
            four = f", {st.client_errors} 4xx apart" if st.client_errors else ""
            out.append(CheckResult(
                "operation_errors", Status.PASS if ok else Status.FAIL, round(ratio, 5), slo.max_error_ratio, label,
                f"{n} client samples of {name}",
                f"{name}: {st.failures} of {n} failed ({ratio:.2%}){four} ({mix}){excluded}",
                {"operation": name, "requests": n, "failures": st.failures, "client_errors": st.client_errors,
                 "mix_failures": mix_bad, "mix_requests": len(df)}))
        if not judged and not w.is_fault and not any(r.window.startswith(w.label()) for r in out):
            out.append(inconclusive("operation_errors", w.label(),
                                    f"no operation had enough samples in this window{excluded}"))
    if not out:
        out.append(inconclusive("operation_errors", "run", "the run has no judged window"))
    return out


def crew_spawn_success(run: Run) -> list[CheckResult]:
    """Acknowledged crews / crew-spawn attempts outside the fault windows: an attempt is a request
    of the crew operation; it is acknowledged when its 201 carried a mission id."""
    need = run.threshold("min_crew_success")
    name = str(run.checks.get("crew_operation") or DEFAULT_CREW_OPERATION)
    out: list[CheckResult] = []
    for w in [x for x in run.windows if x.name in CREW_WINDOWS]:
        df = in_window(run.requests, w)
        attempts = df[df["name"] == name]
        if attempts.empty:
            out.append(inconclusive("crew_spawn_success", w.label(), f"no {name} request in this window", need))
            continue
        acked = int((attempts["mission_id"].fillna("").astype(str) != "").sum())
        ratio = acked / len(attempts)
        ok = ratio >= need
        out.append(CheckResult(
            "crew_spawn_success", Status.PASS if ok else Status.FAIL, round(ratio, 5), need, w.label(),
            f"{len(attempts)} {name} attempts (client)",
            f"{acked} of {len(attempts)} crew spawns acknowledged ({ratio:.2%} {'>=' if ok else '<'} {need:.0%})",
            {"attempts": len(attempts), "acknowledged": acked, "operation": name}))
    if not out:
        out.append(inconclusive("crew_spawn_success", "baseline/cooldown", "the run has no baseline or cool-down "
                                "window", need))
    return out
