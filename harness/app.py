"""The Typer application every command module registers on (one app, many small modules)."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Chaos and SLA verification harness for HyperCode V2.0.")
