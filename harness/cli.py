"""The ``gameday`` command.

The sandbox is a separate program: ``gameday sandbox ...`` runs ``python -m sandbox ...`` in
a child process and passes its exit code through, so the harness drives the sandbox only as
it would drive any target, through its command line, HTTP and Prometheus.
"""

from __future__ import annotations

import subprocess
import sys

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Chaos and SLA verification harness for HyperCode V2.0.")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []})
def sandbox(ctx: typer.Context) -> None:
    """Manage the embedded sandbox: up | down | status | logs (``gameday sandbox --help``)."""
    code = subprocess.call([sys.executable, "-m", "sandbox", *ctx.args])
    raise typer.Exit(code)


@app.command()
def version() -> None:
    """Print gameday's version."""
    from importlib.metadata import version as dist_version

    typer.echo(dist_version("gameday"))


def main() -> None:
    app()
