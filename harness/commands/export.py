"""``gameday export RUN_DIR [--out DIR]``: the run's columnar evidence (``requests.*.arrows``,
``acks.*.arrows``) as CSV, one file per stream, in ``RUN_DIR/export`` (or ``--out``).

Exit 0: exported (a torn last batch is said, its whole batches exported) · 64: not a run
directory, no stream in it, or an --out inside the run directory's top level (the reader would
count every request twice).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gameday.contract.rundir import ACKS_STREAM_GLOB, REQUESTS_STREAM_GLOB, TIMELINE
from gameday.harness.app import app
from gameday.harness.errors import BadInput


@app.command(name="export")
def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="the run directory")],
    out: Annotated[Path | None, typer.Option(help="where the CSV files go (default RUN_DIR/export)")] = None,
) -> None:
    """Export a run's recorded requests and acks (Arrow streams) as CSV."""
    if not run_dir.is_dir() or not (run_dir / TIMELINE).is_file():
        raise BadInput(f"{run_dir}: not a run directory (no {TIMELINE})")
    if not any(run_dir.glob(REQUESTS_STREAM_GLOB)) and not any(run_dir.glob(ACKS_STREAM_GLOB)):
        raise BadInput(f"{run_dir}: no {REQUESTS_STREAM_GLOB} or {ACKS_STREAM_GLOB} to export "
                       "(an older run holds CSV already)")
    target = out if out is not None else run_dir / "export"
    if target.resolve() == run_dir.resolve():
        raise BadInput(f"--out {target}: the run directory itself; the reader would count every request twice")
    from gameday.analysis.export import export  # pyarrow: only when exporting

    try:
        done = export(run_dir, target)
    except OSError as exc:
        raise BadInput(f"--out {target}: cannot write ({type(exc).__name__}: {exc})") from None
    for e in done:
        note = f"  ({e.problem}; its whole batches exported)" if e.problem else ""
        typer.echo(f"{e.source} -> {e.target}: {e.rows} rows{note}")
