"""``gameday compare BASELINE_RUN RUN``: a statistical regression check for performance CI.

Exit 0: no regression (marginal differences are printed as warnings) · 1: a regression ·
64: not a run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gameday.contract.rundir import REQUESTS_GLOB, REQUESTS_STREAM_GLOB
from gameday.harness.app import app
from gameday.harness.errors import BadInput

if TYPE_CHECKING:
    from gameday.analysis.compare import Comparison


@app.command(name="compare")
def compare_cmd(
    baseline: Annotated[Path, typer.Argument(help="the baseline run directory")],
    run: Annotated[Path, typer.Argument(help="the run directory to judge against it")],
    marginal: Annotated[float, typer.Option(help="relative change that is marginal")] = 0.10,
    fail: Annotated[float, typer.Option(help="relative change that fails")] = 0.25,
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as JSON (docs/cli-json.md)")] = False,
) -> None:
    """Compare a run with a baseline run: latency (Mann-Whitney U, bootstrap p95), errors, throughput."""
    for d in (baseline, run):
        if not any(d.glob(REQUESTS_STREAM_GLOB)) and not any(d.glob(REQUESTS_GLOB)):
            raise BadInput(f"{d}: not a run directory with recorded requests")
    if not 0 <= marginal <= fail:
        raise BadInput(f"--marginal {marginal} / --fail {fail}: expected 0 <= marginal <= fail")
    from gameday.analysis.compare import Tolerance, Unusable, compare, exit_code  # scipy, pandas: only when comparing

    try:
        results = compare(baseline, run, Tolerance(marginal=marginal, fail=fail))
    except Unusable as exc:  # damaged evidence is bad input, never a regression
        raise BadInput(str(exc)) from None
    code = exit_code(results)
    if as_json:
        import json

        doc = {"baseline": str(baseline), "run": str(run), "regression": bool(code), "exit_code": code,
               "tolerance": {"marginal": marginal, "fail": fail}, "metrics": [_metric(c) for c in results]}
        typer.echo(json.dumps(doc, indent=2, allow_nan=False))
        raise typer.Exit(code)
    for c in results:
        typer.echo(f"{c.metric:<15} {c.classification.upper():<9} {c.detail}")
    typer.echo("REGRESSION" if code else "no regression")
    raise typer.Exit(code)


def _number(v: float) -> float | None:
    """NaN (no data) and infinity (a zero baseline) are not JSON: null, the detail says why."""
    import math

    return float(v) if math.isfinite(v) else None


def _metric(c: Comparison) -> dict[str, object]:
    return {"metric": c.metric, "classification": c.classification, "baseline": _number(c.baseline),
            "run": _number(c.run), "change": _number(c.change), "detail": c.detail}
