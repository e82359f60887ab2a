"""``gameday history RUNS_DIR [--out FILE]``: an index page of past runs with trends across game days.

Reads the run directories alone (never a target) and writes ``RUNS_DIR/index.html`` (or
``--out``) with ``history.json`` beside it. Exit 0 · 64: RUNS_DIR missing, not a directory,
holding no run directory, or an --out whose directory does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gameday.harness.app import app
from gameday.harness.errors import BadInput
from gameday.harness.redact import say_safely

if TYPE_CHECKING:
    from gameday.analysis.history import Row


def _check(runs_dir: Path, out: Path) -> None:
    """Refuse, naming the path, rather than write an empty page somewhere unexpected."""
    from gameday.analysis.history import find_runs
    if not runs_dir.exists():
        raise BadInput(f"{runs_dir}: no such directory")
    if not runs_dir.is_dir():
        raise BadInput(f"{runs_dir}: not a directory")
    if not find_runs(runs_dir):
        raise BadInput(f"{runs_dir}: no run directory (a directory with timeline.jsonl) in it or one level below")
    if not out.parent.is_dir():
        raise BadInput(f"--out {out}: directory {out.parent} does not exist")
    if out.is_dir():
        raise BadInput(f"--out {out}: is a directory; name the HTML file")


def _line(r: Row) -> str:
    verdict = r.verdict or "not judged"
    if r.verdict is None and r.note:
        return f"{r.started_utc or '-':<21} not judged: {r.note}  {r.path}"
    p95 = "-" if r.p95_baseline_ms is None else f"{r.p95_baseline_ms:g}"
    return f"{r.started_utc or '-':<21} {verdict:<13} {r.status:<12} p95 {p95:>8} ms  {r.source:<12} {r.path}"


@app.command()
def history(
    runs_dir: Annotated[Path, typer.Argument(help="a directory of run directories (e.g. runs/)")],
    out: Annotated[Path | None, typer.Option(help="the HTML page (default RUNS_DIR/index.html)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print history.json's rows on stdout (docs/cli-json.md)")]
    = False,
) -> None:
    """Index page of past runs with trend charts (p95, missions/min, recovery per fault, lost acks,
    verdict), from the run directories alone; history.json beside it. Exit 0, 64 bad input."""
    target = out if out is not None else runs_dir / "index.html"
    _check(runs_dir, target)
    from gameday.analysis.history import collect  # pandas, matplotlib: only when a page is built
    from gameday.analysis.render import history as page

    rows = collect(runs_dir, target.parent)
    data = page.write(target, rows, runs_dir)
    if as_json:  # the same document as history.json, so a script needs one parser
        typer.echo(page.to_json(rows, runs_dir))
        return
    for r in rows:
        typer.echo(say_safely(_line(r)))
    typer.echo(f"{len(rows)} runs, {sum(r.in_trends for r in rows)} charted; page {target}; rows {data}")
