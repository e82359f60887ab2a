"""Operations: every request name the load used, judged on its own as well as in the mix.

A mix of cheap polls and expensive crew spawns hides the spawns: 14 % of ``POST /v1/crews``
failing is 0.85 % of all requests when polls are 86 % of the traffic. So every request name is
an operation with its own p95 and failure ratio, k6-style: ``checks.operations`` in the profile
sets an operation's own lines, every other operation is judged at the profile's lines once it
has enough samples in a window.

What the client saw fail: a 5xx, no answer at all (status 0), or the locustfile's own failure
mark on an answer that looked fine (``ok`` = 0 on a 2xx/3xx, e.g. a 201 without a mission id).
A 4xx is the client's mistake, not the service's: counted apart, never a failure here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from gameday.analysis.recorded import percentile
from gameday.contract.checks import DEFAULT_CREW_OPERATION as DEFAULT_CREW_OPERATION  # re-exported
from gameday.contract.checks import default


def failed(df: pd.DataFrame) -> pd.Series:
    """Failed as the client saw it: 5xx, no answer, or the locustfile's failure mark (not 4xx)."""
    status = df["status"].fillna(0).astype("int64")
    marked = df["ok"].fillna(0).astype("int64") == 0
    client = (status >= 400) & (status < 500)
    return (status >= 500) | (status == 0) | (marked & ~client)


def client_errors(df: pd.DataFrame) -> pd.Series:
    """4xx: shown apart, not judged as the service failing."""
    status = df["status"].fillna(0).astype("int64")
    return (status >= 400) & (status < 500)


@dataclass(frozen=True)
class OperationSLO:
    """The lines one operation is judged against, and whether the profile named it."""

    p95_ms: float
    max_error_ratio: float
    min_samples: int  # its failures are judged from this many answers in a window
    min_p95_samples: int  # its p95 from this many: a nearest-rank p95 rests on the slowest twentieth
    named: bool


def slo_for(checks: dict[str, Any], name: str) -> OperationSLO:
    """``checks.operations[name]`` over the profile's own lines (``p95_ms``, ``max_5xx_ratio``). An
    operation's own ``min_samples`` is its minimum for both figures; unset, its failures take
    ``min_operation_samples`` and its p95 ``min_p95_samples``: a p95 needs more answers than a failure
    ratio, since a healthy service's slowest few decide it (3 of 54 crew spawns over 200 ms, a 10 s
    cool-down on a healthy sandbox whose baseline had 2 of 134 over, made a nearest-rank p95 of 205 ms)."""
    ops = checks.get("operations") or {}
    own = ops.get(name) if isinstance(ops, dict) else None
    own = own if isinstance(own, dict) else {}

    def pick(key: str, fallback_key: str) -> float:
        v = own.get(key)
        return float(v) if v is not None else float(checks.get(fallback_key, default(fallback_key)))

    return OperationSLO(
        p95_ms=pick("p95_ms", "p95_ms"),
        max_error_ratio=pick("max_error_ratio", "max_5xx_ratio"),
        min_samples=int(pick("min_samples", "min_operation_samples")),
        min_p95_samples=int(pick("min_samples", "min_p95_samples")),
        named=name in ops if isinstance(ops, dict) else False)


def named_operations(checks: dict[str, Any]) -> list[str]:
    ops = checks.get("operations") or {}
    return sorted(str(k) for k in ops) if isinstance(ops, dict) else []


@dataclass(frozen=True)
class OperationStats:
    """One operation over one window, like a row of Locust's statistics table (exact figures)."""

    name: str
    method: str
    requests: int
    failures: int
    client_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def failure_ratio(self) -> float:
        return self.failures / self.requests if self.requests else float("nan")


def stats(df: pd.DataFrame) -> list[OperationStats]:
    """Per request name over ``df``; the operations with failures first (most failing first),
    then by name."""
    out: list[OperationStats] = []
    if df.empty:
        return out
    bad = failed(df).to_numpy()
    four = client_errors(df).to_numpy()
    # not np.unique: sorting a million strings is slow; not .astype(str) first: the columnar reader's
    # names are categoricals, factorized from their codes without making a string per row
    codes, names = pd.factorize(df["name"])
    mcodes, mnames = pd.factorize(df["method"])
    lat = df["latency_ms"].to_numpy(dtype="float64")
    for code, name in enumerate(names):
        sel = codes == code
        values = lat[sel]
        used = sorted({str(mnames[m]) for m in pd.unique(mcodes[sel]) if m >= 0})
        out.append(OperationStats(
            name=str(name), method="/".join(used), requests=int(sel.sum()),
            failures=int(bad[sel].sum()), client_errors=int(four[sel].sum()),
            p50_ms=percentile(values, 50), p95_ms=percentile(values, 95), p99_ms=percentile(values, 99),
            max_ms=float(values.max())))
    return sorted(out, key=lambda s: (-s.failures / s.requests, s.name))
