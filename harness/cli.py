"""The ``gameday`` command: imports every command module, maps gameday's errors to exit codes.

Every module imported here, command modules included, stays light (typer, pydantic at most):
pandas, scipy, matplotlib, Chaos Toolkit, Locust, boto3 and kubernetes are imported inside the
commands that use them, so ``gameday --help`` and ``gameday validate`` answer within half a
second (``benchmarks/cli_startup.py``; tests/cli/test_cli_imports.py keeps it so).

The sandbox is a separate program: ``gameday sandbox ...`` runs ``python -m gameday.sandbox ...`` in
a child process and passes its exit code through, so the harness drives the sandbox only as
it would drive any target, through its command line, HTTP and Prometheus.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from typing import Annotated, TextIO

import typer

from gameday.analysis.errors import NotARun
from gameday.contract.atomic import UnsafePath
from gameday.contract.exitcodes import ExitCode
from gameday.harness.app import app
from gameday.harness.errors import GamedayError, GamedayWarning
from gameday.harness.redact import say_safely


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                               "help_option_names": []})
def sandbox(ctx: typer.Context) -> None:
    """Manage the embedded sandbox: up | down | status | logs (``gameday sandbox --help``)."""
    code = subprocess.call([sys.executable, "-m", "gameday.sandbox", *ctx.args])
    raise typer.Exit(code)


def _version_text() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return f"gameday {dist_version('gameday')}"
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "gameday (not installed)"


@app.command()
def version() -> None:
    """Print gameday's version."""
    typer.echo(_version_text().removeprefix("gameday "))


def _show_version(value: bool) -> None:
    if value:
        typer.echo(_version_text())
        raise typer.Exit(0)


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                                help="print gameday's version and exit")] = False) -> None:
    """Chaos and SLA verification harness for HyperCode V2.0."""


def _register() -> None:
    """Import the command modules (each adds its commands to ``app``)."""
    import importlib
    import pkgutil

    import gameday.harness.commands as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"gameday.harness.commands.{mod.name}")


_python_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: TextIO | None = None, line: str | None = None) -> None:
    """gameday's own warnings as one line; anything else as Python shows it."""
    if issubclass(category, GamedayWarning):
        typer.echo(say_safely(f"gameday: warning: {message}"), err=True)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


def main() -> None:
    warnings.showwarning = _show_warning
    _register()
    try:
        # with standalone_mode off, click returns a command's typer.Exit code instead of exiting
        code = app(standalone_mode=False, prog_name="gameday")
        sys.exit(code if isinstance(code, int) else 0)
    except GamedayError as exc:
        typer.echo(say_safely(f"gameday: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except (NotARun, UnsafePath) as exc:  # not a run directory; a write that would leave it
        typer.echo(say_safely(f"gameday: {exc}"), err=True)
        sys.exit(ExitCode.BAD_INPUT)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("gameday: aborted", err=True)
        sys.exit(ExitCode.ABORTED)
    except Exception as exc:
        # click's own errors (typer vendors click, so match by shape, not by class)
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        usage = any(c.__name__ in ("UsageError", "BadParameter") for c in type(exc).__mro__)
        sys.exit(ExitCode.BAD_INPUT if usage else int(getattr(exc, "exit_code", ExitCode.NO_GO)))


if __name__ == "__main__":
    main()
