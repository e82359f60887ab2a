"""``gameday compare BASELINE_RUN RUN``: a statistical regression check for performance CI.

Exit 0: no regression (marginal differences are printed as warnings) · 1: a regression ·
64: not a run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contract.rundir import REQUESTS_GLOB
from harness.app import app
from harness.errors import BadInput


@app.command(name="compare")
def compare_cmd(
    baseline: Annotated[Path, typer.Argument(help="the baseline run directory")],
    run: Annotated[Path, typer.Argument(help="the run directory to judge against it")],
    marginal: Annotated[float, typer.Option(help="relative change that is marginal")] = 0.10,
    fail: Annotated[float, typer.Option(help="relative change that fails")] = 0.25,
) -> None:
    """Compare a run with a baseline run: latency (Mann-Whitney U, bootstrap p95), errors, throughput."""
    for d in (baseline, run):
        if not any(d.glob(REQUESTS_GLOB)):
            raise BadInput(f"{d}: not a run directory with recorded requests")
    if not 0 <= marginal <= fail:
        raise BadInput(f"--marginal {marginal} / --fail {fail}: expected 0 <= marginal <= fail")
    from analysis.compare import Tolerance, Unusable, compare, exit_code  # scipy, pandas: only when comparing

    try:
        results = compare(baseline, run, Tolerance(marginal=marginal, fail=fail))
    except Unusable as exc:  # damaged evidence is bad input, never a regression
        raise BadInput(str(exc)) from None
    for c in results:
        typer.echo(f"{c.metric:<15} {c.classification.upper():<9} {c.detail}")
    code = exit_code(results)
    typer.echo("REGRESSION" if code else "no regression")
    raise typer.Exit(code)
