"""``gameday init DIR``: a starter project (profiles, experiments, the locustfile) that runs as it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gameday.harness.app import app


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="where to write the project (created if missing)")] = Path("."),
    force: Annotated[bool, typer.Option(help="replace files that exist")] = False,
) -> None:
    """Write a starter project: sandbox, smoke, custom-fault and cluster profiles, the experiments, the
    locustfile. Exit 64 (writing nothing) if a file exists, unless --force."""
    from gameday.harness.starter import init as write_starter

    written = write_starter(directory, force)
    for w in written:
        typer.echo(f"{'replaced' if w.replaced else 'wrote'} {w.path}")
    typer.echo(f"{len(written)} files; next: cd {directory} && gameday run profiles/smoke.yaml")
